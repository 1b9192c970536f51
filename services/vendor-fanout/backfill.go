package main

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/backfill"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

// backfill plans, for instance in, every action it owes for the past decisions of the
// given tenants (all when empty). Deliveries are keyed by (event, vendor, action), so a
// second back-fill inserts nothing new.
func (p *planner) backfill(ctx context.Context, in routing.Instance, tenants []string) (planned, inserted int64, err error) {
	var pending []fanout.Delivery
	flush := func() error {
		n, err := p.store.Insert(ctx, pending)
		inserted += n
		pending = pending[:0]
		return err
	}
	err = p.store.EachSubject(ctx, tenants, func(ds []fanout.Decision) error {
		for _, it := range backfill.Plan(p.routes, in, ds) {
			for _, d := range fanout.Deliveries(it.Decision, []routing.Delivery{{Instance: in.Name, Action: it.Action}}, p.now()) {
				// Not the pipeline's latency: the vendor did not exist when the event did.
				d.RecordedAt = time.Time{}
				pending = append(pending, d)
			}
			planned++
		}
		if len(pending) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil && len(pending) > 0 {
		err = flush()
	}
	if inserted > 0 {
		p.wake(map[string]bool{in.Name: true})
	}
	return planned, inserted, err
}

// tenantScope is how an instance's tenant list is remembered: enabling it for one more
// tenant is a new scope, and back-fills again (idempotently).
func tenantScope(in routing.Instance) string {
	t := append([]string(nil), in.Tenants...)
	sort.Strings(t)
	return strings.Join(t, ",")
}

// backfillNewInstances back-fills, once, every instance whose tenant scope was never
// back-filled: enabling a vendor replays the opt-outs and erasures that came before it.
// It retries until it succeeds: a database blip at start-up must not skip a back-fill.
func backfillNewInstances(ctx context.Context, p *planner, log *slog.Logger) error {
	wait := time.Second
	for {
		err := backfillOnce(ctx, p, log)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		log.Warn("back-fill failed; retrying", "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func backfillOnce(ctx context.Context, p *planner, log *slog.Logger) error {
	for _, in := range p.routes.Instances {
		scope := tenantScope(in)
		done, err := p.store.Backfilled(ctx, in.Name, scope)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		var tenants []string
		if !strings.Contains(scope, "*") {
			tenants = in.Tenants
		}
		planned, inserted, err := p.backfill(ctx, in, tenants)
		if err != nil {
			return err
		}
		if err := p.store.RecordBackfill(ctx, in.Name, scope, int(planned)); err != nil {
			return err
		}
		log.Info("vendor back-filled", "vendor", in.Name, "planned", planned, "new_deliveries", inserted)
	}
	return nil
}
