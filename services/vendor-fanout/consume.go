package main

import (
	"context"
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

// actsOn is the request status on which vendors are told to act.
const actsOn = "received"

// planner turns consumed events into deliveries in the lanes.
type planner struct {
	serde  *serde.Serde
	routes *routing.Table
	store  *postgres.Store
	topics kafka.Topics
	wake   func(instances map[string]bool)
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

// handle inserts every delivery the batch requires in one transaction. Once it returns
// the offsets may be committed: the work now lives in the lanes.
func (p *planner) handle(ctx context.Context, batch []kafka.Record[schemas.Event]) error {
	var ds []postgres.Delivery
	touched := map[string]bool{}
	for _, r := range batch {
		var (
			plan      []routing.Delivery
			requestID string
			purposes  map[string]string
		)
		switch e := r.Value.(type) {
		case *schemas.ConsentChanged:
			plan, purposes = p.routes.ForConsent(e.Tenant, e.Purposes), e.Purposes
		case *schemas.PrivacyRequest:
			if e.Status != actsOn {
				continue
			}
			plan, requestID = p.routes.ForRequest(e.Tenant, e.Type), e.RequestID
		}
		h := r.Value.EventHeader()
		for _, d := range plan {
			deadline, ok := deadlines[d.Action]
			if !ok {
				deadline = defaultDeadline
			}
			ds = append(ds, postgres.Delivery{
				EventID: h.EventID, Instance: d.Instance, Action: string(d.Action), Tenant: h.Tenant,
				SubjectKey: h.SubjectKey, RequestID: requestID, OccurredAt: h.OccurredAt, PolicyVersion: h.PolicyVersion,
				Sealed: h.Identifiers, Purposes: purposes, Deadline: h.RecordedAt.Add(deadline),
			})
			touched[d.Instance] = true
		}
	}
	if err := p.store.Insert(ctx, ds); err != nil {
		if platformpg.IsDataError(err) {
			return kafka.Permanent(fmt.Errorf("planning deliveries: %w", err))
		}
		return fmt.Errorf("planning deliveries: %w", err)
	}
	p.wake(touched)
	return nil
}
