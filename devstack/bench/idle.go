package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/eventid"
)

// IdleHops is where the time of one event on an idle stack goes, as the median of each
// hop over every delivery: sent → accepted (consent-ingest's recorded_at) → on Kafka
// (the 202, which consent-ingest sends only once Kafka acknowledged with acks=all) →
// planned (vendor-fanout's delivery row) → called (the vendor's answer at the
// simulator). Planning may overtake the 202 on its way back to the client, so the third
// hop can be slightly negative.
type IdleHops struct {
	AcceptedMS float64 `json:"idle_hops_accepted_ms"`
	KafkaMS    float64 `json:"idle_hops_kafka_ms"`
	PlannedMS  float64 `json:"idle_hops_planned_ms"`
	CalledMS   float64 `json:"idle_hops_called_ms"`
}

// idlePhase sends n events one at a time, each only once every delivery of the one
// before was answered, and measures from the POST to each vendor's answer.
func idlePhase(ctx context.Context, s *stack.Stack, n int) (p50, p99 time.Duration, hops IdleHops, err error) {
	s.Simulator.Reset()
	c := newClient(s, true)
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return 0, 0, hops, err
	}
	defer conn.Close(ctx)
	var total, accepted, onKafka, planned, called []time.Duration
	scanned := 0
	const warmUp = 3 // first connections and plans are not what this is about
	for i := range n + warmUp {
		sentAt := time.Now()
		ids, err := c.post(ctx, []map[string]any{consent(100_000+i, sentAt)})
		if err != nil {
			return 0, 0, hops, err
		}
		ackAt := time.Now()
		if len(ids) != 1 {
			return 0, 0, hops, fmt.Errorf("idle: %d event ids for one consent", len(ids))
		}
		want := map[string]string{} // idempotency key → instance
		for _, v := range benchVendors {
			k, _ := eventid.Derive(ids[0], "delivery/"+v+"/"+actionOf(v))
			want[k] = v
		}
		answered := map[string]time.Time{}
		deadline := time.Now().Add(time.Minute)
		for len(answered) < len(want) {
			got, next := s.Simulator.CallsFrom(scanned)
			scanned = next
			for _, call := range got {
				if v, ok := want[call.IdempotencyKey]; ok && call.Status >= 200 && call.Status < 300 {
					if at, seen := answered[v]; !seen || call.At.Before(at) {
						answered[v] = call.At
					}
				}
			}
			if time.Now().After(deadline) {
				return 0, 0, hops, fmt.Errorf("idle: event %d: %d of %d deliveries answered within a minute on an idle stack", i, len(answered), len(want))
			}
			if len(answered) < len(want) && !pause(ctx, 2*time.Millisecond) {
				return 0, 0, hops, ctx.Err()
			}
		}
		if i < warmUp {
			continue
		}
		rows, err := conn.Query(ctx, `SELECT instance, coalesce(recorded_at, created_at), created_at FROM fanout.deliveries WHERE event_id = $1::uuid`, ids[0])
		if err != nil {
			return 0, 0, hops, err
		}
		for rows.Next() {
			var instance string
			var rec, plan time.Time
			if err := rows.Scan(&instance, &rec, &plan); err != nil {
				rows.Close()
				return 0, 0, hops, err
			}
			at, ok := answered[instance]
			if !ok {
				continue
			}
			total = append(total, at.Sub(sentAt))
			accepted = append(accepted, rec.Sub(sentAt))
			onKafka = append(onKafka, ackAt.Sub(rec))
			planned = append(planned, plan.Sub(ackAt))
			called = append(called, at.Sub(plan))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, hops, err
		}
	}
	p50, p99 = percentiles(total)
	med := func(d []time.Duration) float64 { m, _ := percentiles(d); return ms(m) }
	hops = IdleHops{AcceptedMS: med(accepted), KafkaMS: med(onKafka), PlannedMS: med(planned), CalledMS: med(called)}
	return p50, p99, hops, nil
}
