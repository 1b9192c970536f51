package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/consentry/consentry/platform/kafka"
	platformpg "github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

// planner turns consumed events into deliveries in the lanes.
type planner struct {
	serde  *serde.Serde
	routes *routing.Table
	store  *postgres.Store
	topics kafka.Topics
	wake   func(instances map[string]bool)
	// lease, when positive, plans deliveries already leased to this process, and hand
	// gives them to their lanes, returning those no lane took.
	lease time.Duration
	hand  func(ds []fanout.Delivery, leasedUntil time.Time) (rejected []int64)
	now   func() time.Time
	log   *slog.Logger
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
		decisions []fanout.Decision
		planned   []fanout.Delivery
	)
	// Deliveries planned per instance: a lane whose every new row was handed to it
	// needs no wake to look in the database.
	unhanded := map[string]int{}
	var shred []string
	for _, r := range batch {
		if key, ok := fanout.ClosedErasure(r.Value); ok {
			shred = append(shred, key)
		}
		d, ok := fanout.DecisionOf(r.Value)
		if !ok {
			continue
		}
		decisions = append(decisions, d)
		// The vendor calls of this event join the trace it was produced in.
		tp := kafka.Traceparent(r.Msg)
		for _, del := range fanout.Deliveries(d, p.routes.Plan(d), p.now()) {
			del.Traceparent = tp
			planned = append(planned, del)
			unhanded[del.Instance]++
		}
	}
	lease := p.lease
	if p.hand == nil {
		lease = 0
	}
	// The lease is counted from before the transaction: its end by this clock is never
	// later than by the database's.
	leasedUntil := time.Now().Add(lease)
	leased, err := p.store.PlanLeased(ctx, decisions, planned, lease)
	if err != nil {
		if platformpg.IsDataError(err) || errors.Is(err, postgres.ErrUnannounced) {
			return kafka.Permanent(fmt.Errorf("planning deliveries: %w", err))
		}
		return fmt.Errorf("planning deliveries: %w", err)
	}
	if len(leased) > 0 {
		rejected := p.hand(leased, leasedUntil)
		refused := make(map[int64]bool, len(rejected))
		for _, id := range rejected {
			refused[id] = true
		}
		for _, d := range leased {
			if !refused[d.ID] {
				unhanded[d.Instance]--
			}
		}
		if len(rejected) > 0 {
			// Not worth failing the batch for: unreleased, they come back when the lease ends.
			if err := p.store.Release(ctx, rejected); err != nil {
				p.log.Warn("releasing deliveries no lane had room for failed; they come back when their leases end", "error", err)
			}
		}
	}
	// Rows not handed (a subject with an earlier delivery pending, a redelivered event,
	// a lane without room) are in the database only: their lanes look now.
	wake := map[string]bool{}
	for instance, n := range unhanded {
		if n > 0 {
			wake[instance] = true
		}
	}
	p.wake(wake)
	if n, err := p.store.Shred(ctx, shred); err != nil {
		return fmt.Errorf("re-applying erasures' key destruction: %w", err)
	} else if n > 0 {
		p.log.Warn("keys of erased subjects were live again (a database restored from an older backup?) and are destroyed", "keys", n)
	}
	return nil
}
