package fanout

import (
	"time"

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
	// AtDeadline is true when the request was closed by its legal deadline (see
	// ClosesAtDeadline), whatever its vendors still had open.
	AtDeadline bool
}

// Unfinished is a delivery that ended without carrying its action out: dead-lettered
// (given up, or cut short by the request's deadline) or unverifiable. It holds no
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

// Shreds reports whether closing c destroys the subject's data key: an erasure, as soon
// as Consentry's own part is done — completed, or partially completed. The vendors that
// did not carry it out stay named in the completion (without identifiers), and the key
// goes all the same: keeping it for a replay that may never come would leave every sealed
// copy of the person's identifiers readable past the legal deadline. A replay after that
// cannot open the identifiers and ends unverifiable (docs/privacy-requests.md).
func Shreds(c Completion) bool {
	return c.Request.Kind == KindRequest && c.Request.RequestType == schemas.RequestErasure
}

// ClosesAtDeadline reports whether d is to be closed at now whatever its vendors still
// have open: an erasure past its legal deadline. Deliveries still open are recorded as
// not carried out, the request is announced partially completed, and the key is
// destroyed. Other request types wait for their vendors: nothing of theirs is shredded.
func ClosesAtDeadline(d Decision, now time.Time) bool {
	return d.Kind == KindRequest && d.RequestType == schemas.RequestErasure && d.DeadlineAt != nil && now.After(*d.DeadlineAt)
}

// ClosedErasure returns the subject whose key an event says is destroyed: the
// announcement, by Consentry, that an erasure completed or partially completed. Reading
// it again destroys the key again — nothing, normally; after a database restored from a
// backup taken before the erasure, the key the backup brought back (deploy/README.md).
func ClosedErasure(e schemas.Event) (subjectKey string, ok bool) {
	pr, ok := e.(*schemas.PrivacyRequest)
	if !ok || pr.Type != schemas.RequestErasure || pr.Source != schemas.SourceConsentry ||
		(pr.Status != schemas.StatusCompleted && pr.Status != schemas.StatusPartiallyCompleted) {
		return "", false
	}
	return pr.SubjectKey, true
}

// CarriedOut returns the outcomes of a delivery that did what its action asked, or that
// had nothing to act on — skipped, the vendor knowing the person by no identifier the
// request carries, is the routine case of a vendor that holds nothing of theirs. Any
// other outcome, or a dead letter, leaves the delivery Unfinished.
func CarriedOut() []string {
	return []string{string(vendor.Delivered), string(vendor.Accepted), string(vendor.Completed), string(vendor.AlreadyDone),
		string(vendor.Skipped)}
}
