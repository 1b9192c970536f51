package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/platform/kafka"
	platformpg "github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// deadlines bound how long a delivery is retried before it is dead-lettered (and an
// alert fires): bulk senders must honour an unsubscribe within 48 hours; an erasure must
// be done within a month (GDPR Art. 12(3)), which leaves five days to act on a dead letter.
var deadlines = map[vendor.Action]time.Duration{
	vendor.OptOut:        48 * time.Hour,
	vendor.SuppressEmail: 48 * time.Hour,
	vendor.DeleteUser:    25 * 24 * time.Hour,
}

const defaultDeadline = 72 * time.Hour

// actsOn is the request status on which vendors are told to act: the request is verified
// (and approved by the controller where one must approve). Its repeats — a deadline
// extension, a redelivery — are recorded under the same id and plan nothing new.
const actsOn = "in_progress"

// planner turns consumed events into deliveries in the lanes.
type planner struct {
	serde  *serde.Serde
	routes *routing.Table
	store  *postgres.Store
	topics kafka.Topics
	wake   func(instances map[string]bool)
	now    func() time.Time
}

// decode reads an event and checks it is the record its topic carries: anything else on
// these topics is poison.
func (p *planner) decode(ctx context.Context, m kafka.Message) (schemas.Event, error) {
	e, _, err := p.serde.Decode(ctx, m.Value)
	if err != nil {
		return nil, err
	}
	want := serde.RecordsByTopic(p.topics)[m.Topic]
	if e.SchemaName() != want {
		return nil, fmt.Errorf("topic %s carries %s, not %s", m.Topic, e.SchemaName(), want)
	}
	return e, nil
}

// handle records every decision of the batch and inserts the deliveries they require,
// in one transaction. Once it returns the offsets may be committed: the work now lives in
// the lanes.
func (p *planner) handle(ctx context.Context, batch []kafka.Record[schemas.Event]) error {
	var (
		decisions []postgres.Decision
		planned   []postgres.Delivery
	)
	touched := map[string]bool{}
	for _, r := range batch {
		d, ok := decisionOf(r.Value)
		if !ok {
			continue
		}
		decisions = append(decisions, d)
		// The vendor calls of this event join the trace it was produced in.
		tp := kafka.Traceparent(r.Msg)
		for _, del := range p.deliveries(d, p.routes.Plan(d)) {
			del.Traceparent = tp
			planned = append(planned, del)
			touched[del.Instance] = true
		}
	}
	if err := p.store.Plan(ctx, decisions, planned); err != nil {
		if platformpg.IsDataError(err) || errors.Is(err, postgres.ErrUnannounced) {
			return kafka.Permanent(fmt.Errorf("planning deliveries: %w", err))
		}
		return fmt.Errorf("planning deliveries: %w", err)
	}
	p.wake(touched)
	return nil
}

// decisionOf returns what fan-out keeps of an event: consent changes, and privacy
// requests once they reach the status vendors act on.
func decisionOf(e schemas.Event) (postgres.Decision, bool) {
	h := e.EventHeader()
	d := postgres.Decision{EventID: h.EventID, Tenant: h.Tenant, SubjectKey: h.SubjectKey, OccurredAt: h.OccurredAt,
		RecordedAt: h.RecordedAt, PolicyVersion: h.PolicyVersion, Sealed: h.Identifiers}
	switch e := e.(type) {
	case *schemas.ConsentChanged:
		d.Kind, d.Purposes = "consent", e.Purposes
	case *schemas.PrivacyRequest:
		if e.Status != actsOn {
			return d, false
		}
		// Keyed by the request, not the event: what vendors are told, and their
		// idempotency keys, belong to the request, whichever of its events arrived.
		d.EventID, d.Kind, d.RequestType, d.RequestID = e.RequestID, "request", e.Type, e.RequestID
		d.Reason, d.Jurisdiction, d.Scope, d.DeadlineAt = e.Reason, e.Jurisdiction, e.Scope, e.DeadlineAt
	default:
		return d, false
	}
	return d, true
}

// deliveries turns a decision's routed actions into lane rows, each with the deadline of
// its action counted from now (a back-filled action's clock starts when it is planned).
func (p *planner) deliveries(d postgres.Decision, plan []routing.Delivery) []postgres.Delivery {
	out := make([]postgres.Delivery, 0, len(plan))
	for _, r := range plan {
		deadline, ok := deadlines[r.Action]
		if !ok {
			deadline = defaultDeadline
		}
		start := d.RecordedAt
		if now := p.now(); now.After(start) {
			start = now
		}
		out = append(out, postgres.Delivery{
			EventID: d.EventID, Instance: r.Instance, Action: string(r.Action), Tenant: d.Tenant, SubjectKey: d.SubjectKey,
			RequestID: d.RequestID, OccurredAt: d.OccurredAt, PolicyVersion: d.PolicyVersion, Sealed: d.Sealed,
			Purposes: d.Purposes, Deadline: start.Add(deadline), RecordedAt: d.RecordedAt,
		})
	}
	return out
}
