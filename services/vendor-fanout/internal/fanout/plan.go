package fanout

import (
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// ActsOn is the request status on which vendors are told to act: the request is verified
// (and approved by the controller where one must approve). Its repeats — a deadline
// extension, a redelivery — are recorded under the same id and plan nothing new.
const ActsOn = schemas.StatusInProgress

// DefaultDeadline bounds the retries of an action without a deadline of its own, and of
// a replayed dead letter.
const DefaultDeadline = 72 * time.Hour

// Deadline is how long a delivery of action is retried before it is dead-lettered (and
// an alert fires): bulk senders must honour an unsubscribe within 48 hours; an erasure
// must be done within a month (GDPR Art. 12(3)), which leaves five days to act on a dead
// letter.
func Deadline(action vendor.Action) time.Duration {
	switch action {
	case vendor.OptOut, vendor.SuppressEmail:
		return 48 * time.Hour
	case vendor.DeleteUser:
		return 25 * 24 * time.Hour
	}
	return DefaultDeadline
}

// DecisionOf returns what fan-out keeps of an event: consent changes, and privacy
// requests once they reach the status vendors act on.
func DecisionOf(e schemas.Event) (Decision, bool) {
	h := e.EventHeader()
	d := Decision{EventID: h.EventID, Tenant: h.Tenant, SubjectKey: h.SubjectKey, OccurredAt: h.OccurredAt,
		RecordedAt: h.RecordedAt, PolicyVersion: h.PolicyVersion, Sealed: h.Identifiers}
	switch e := e.(type) {
	case *schemas.ConsentChanged:
		d.Kind, d.Purposes = KindConsent, e.Purposes
	case *schemas.PrivacyRequest:
		if e.Status != ActsOn {
			return d, false
		}
		// Keyed by the request, not the event: what vendors are told, and their
		// idempotency keys, belong to the request, whichever of its events arrived.
		d.EventID, d.Kind, d.RequestType, d.RequestID = e.RequestID, KindRequest, e.Type, e.RequestID
		d.Reason, d.Jurisdiction, d.Scope, d.DeadlineAt = e.Reason, e.Jurisdiction, e.Scope, e.DeadlineAt
	default:
		return d, false
	}
	return d, true
}

// Deliveries turns a decision's routed actions into lane rows, each with the deadline of
// its action counted from now (a back-filled action's clock starts when it is planned),
// or from when the decision was recorded if that is later.
func Deliveries(d Decision, plan []routing.Delivery, now time.Time) []Delivery {
	out := make([]Delivery, 0, len(plan))
	for _, r := range plan {
		start := d.RecordedAt
		if now.After(start) {
			start = now
		}
		out = append(out, Delivery{
			EventID: d.EventID, Instance: r.Instance, Action: string(r.Action), Tenant: d.Tenant, SubjectKey: d.SubjectKey,
			RequestID: d.RequestID, OccurredAt: d.OccurredAt, PolicyVersion: d.PolicyVersion, Sealed: d.Sealed,
			Purposes: d.Purposes, Deadline: start.Add(Deadline(r.Action)), RecordedAt: d.RecordedAt,
		})
	}
	return out
}
