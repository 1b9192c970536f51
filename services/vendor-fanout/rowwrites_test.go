package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
)

// rowWriteRoutes is one synchronous vendor (HubSpot's opt-out: planned, called,
// recorded) and one asynchronous one (FullStory's deletion: accepted, then polled until
// done), both with limits that let a burst through at once.
const rowWriteRoutes = `{
  "instances": [
    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 8},
    {"name": "fullstory", "type": "fullstory", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 8}
  ],
  "denied": {"analytics": {"fullstory": "delete_user"}, "marketing_email": {"hubspot": "opt_out"}}
}`

// rowWrites is the number of rows vendor-fanout's tables took (inserted, updated or
// deleted) since the database was created, read from pg_stat_user_tables once every
// connection that wrote has gone (a backend reports its counts at the latest when it
// exits).
func rowWrites(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	var n int64
	err := pool.QueryRow(context.Background(), `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)
		FROM pg_stat_user_tables WHERE schemaname = 'fanout'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// deliveriesDone counts deliveries that reached done, the outbox relayed.
func deliveriesDone(t *testing.T, pool *pgxpool.Pool) (done, open, outbox int) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state = 'done'),
		count(*) FILTER (WHERE state <> 'done'), (SELECT count(*) FROM fanout.outbox) FROM fanout.deliveries`).Scan(&done, &open, &outbox)
	if err != nil {
		t.Fatal(err)
	}
	return done, open, outbox
}

// TestRowWritesPerDelivery measures the rows written per delivery (docs/benchmarks.md),
// one event at a time and then in a burst, each on a fresh stack, and logs how long a
// lone event took from Kafka to the vendor. It asserts no timing; it fails if deliveries
// cost more row writes than the planned-and-leased path allows.
func TestRowWritesPerDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement: starts two stacks")
	}
	t.Parallel()
	for _, tc := range []struct {
		name   string
		events int
		burst  bool
	}{{"idle", 15, false}, {"burst", 40, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testkit.NewStack(t))
			routes := filepath.Join(t.TempDir(), "routing.json")
			if err := os.WriteFile(routes, []byte(rowWriteRoutes), 0o644); err != nil {
				t.Fatal(err)
			}
			f.run(map[string]string{"CONSENTRY_ROUTING_FILE": routes})
			pool := f.db()
			settled := func(want int) func() bool {
				return func() bool {
					done, open, outbox := deliveriesDone(t, pool)
					return done == want && open == 0 && outbox == 0
				}
			}
			var latencies []time.Duration
			for i := range tc.events {
				f.publish(fmt.Sprintf("rw-%d", i), fmt.Sprintf("rw-%d@example.com", i), f.deny("analytics", "marketing_email"))
				acked := time.Now()
				if !tc.burst {
					f.waitFor("the event's deliveries to be done and relayed", 60*time.Second, settled(2*(i+1)))
					for _, c := range f.sim.Calls() {
						if c.Vendor == "hubspot" && strings.Contains(c.Path, fmt.Sprintf("rw-%d@", i)) {
							latencies = append(latencies, c.At.Sub(acked))
							break
						}
					}
				}
			}
			f.waitFor("every delivery done and relayed", 120*time.Second, settled(2*tc.events))
			if err := f.svc.Stop(); err != nil {
				t.Fatal(err)
			}
			deliveries := int64(2 * tc.events)
			// The service's connections are closed; their counts reach the view shortly.
			var writes int64
			f.waitFor("the row counts to be reported", 30*time.Second, func() bool {
				w := rowWrites(t, pool)
				stable := w == writes && w > 0
				writes = w
				if !stable {
					time.Sleep(500 * time.Millisecond)
				}
				return stable
			})
			perDelivery := float64(writes) / float64(deliveries)
			polls := 0
			for _, c := range f.sim.Calls() {
				if c.Vendor == "fullstory" && c.Method == http.MethodGet {
					polls++
				}
			}
			// Per event: its decision (1); HubSpot's delivery planned leased (1), its result
			// (1), its receipt into and out of the outbox (2); FullStory's the same (4);
			// each poll of its job a claim and a result (2), the last one's receipt (2).
			// A claim for each delivery's first call would add 2 per event. At start, each
			// of the two vendors is recorded as back-filled (2).
			if most := int64(2 + 11*tc.events + 2*polls); writes > most {
				t.Errorf("%d row writes for %d events and %d polls, want at most %d: deliveries planned are claimed again", writes, tc.events, polls, most)
			}
			if len(latencies) > 0 {
				slices.Sort(latencies)
				t.Logf("%s: Kafka ack of the event to HubSpot's call, p50 %v (min %v, max %v)", tc.name,
					latencies[len(latencies)/2], latencies[0], latencies[len(latencies)-1])
			}
			t.Logf("%s: %d row writes for %d deliveries of %d events: %.2f per delivery", tc.name, writes, deliveries, tc.events, perDelivery)
		})
	}
}
