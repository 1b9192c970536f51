package fanout

import (
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Completion is a privacy request every delivery of which has ended and every manual
// task of which is closed.
type Completion struct {
	Request Decision
	// Planned is how many deliveries the request required.
	Planned int
	// Unfinished are the deliveries that did not carry the request out.
	Unfinished []Unfinished
	// Previous is the status announced before: partially_completed, when the vendors
	// left out have since carried it out (a replayed dead letter), or "".
	Previous string
}

// Unfinished is a delivery that ended without carrying its action out: dead-lettered,
// skipped (no identifier the vendor knows the person by) or unverifiable. It holds no
// personal identifier.
type Unfinished struct {
	Instance   string `json:"instance"`
	Action     string `json:"action"`
	Outcome    string `json:"outcome"`
	HTTPStatus int    `json:"http_status"`
}

// Status is completed, or partially_completed when any vendor did not carry the request
// out.
func (c Completion) Status() string {
	if len(c.Unfinished) > 0 {
		return schemas.StatusPartiallyCompleted
	}
	return schemas.StatusCompleted
}

// Announces reports whether c is to be announced: a request not announced before, or one
// announced partially completed that is now complete. A partial completion is never
// announced twice.
func (c Completion) Announces() bool {
	return c.Previous == "" || c.Status() == schemas.StatusCompleted
}

// Shreds reports whether completing c destroys the subject's data key: an erasure every
// vendor carried out. One a vendor did not carry out keeps the key, for the delivery
// that an operator replays needs the identifiers; it shreds when that completes it.
func Shreds(c Completion) bool {
	return c.Request.RequestType == schemas.RequestErasure && c.Status() == schemas.StatusCompleted
}

// CarriedOut returns the outcomes of a delivery that did what its action asked; any
// other outcome, or a dead letter, leaves the delivery Unfinished.
func CarriedOut() []string {
	return []string{string(vendor.Delivered), string(vendor.Accepted), string(vendor.Completed), string(vendor.AlreadyDone)}
}
