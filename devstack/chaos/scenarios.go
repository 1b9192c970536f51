package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
)

// routingJSON is the routing the chaos runs use: the default policy (docs/architecture.md,
// "Vendors and routing") for the four API vendors, with limits high enough that the load, not the vendors' documented
// quotas, decides how fast lanes drain.
const routingJSON = `{
  "instances": [
    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 4},
    {"name": "amplitude", "type": "amplitude", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 4},
    {"name": "posthog", "type": "posthog", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 4},
    {"name": "fullstory", "type": "fullstory", "tenants": ["*"], "rate_per_second": 500, "burst": 500, "concurrency": 4}
  ],
  "denied": {
    "analytics": {"amplitude": "delete_user", "posthog": "delete_user", "fullstory": "delete_user"},
    "marketing_email": {"hubspot": "opt_out"}
  },
  "requests": {"erasure": {"hubspot": "delete_user", "amplitude": "delete_user", "posthog": "delete_user", "fullstory": "delete_user"}}
}`

// vendors of the chaos routing.
var vendors = []string{"hubspot", "amplitude", "posthog", "fullstory"}

// delivery is one vendor action an accepted event requires.
type delivery struct{ vendor, action string }

// expected is the oracle: what the chaos routing makes of an accepted event.
func expected(a Accepted) []delivery {
	if a.Kind == "erasure" {
		return []delivery{{"hubspot", "delete_user"}, {"amplitude", "delete_user"}, {"posthog", "delete_user"}, {"fullstory", "delete_user"}}
	}
	var out []delivery
	if a.Purposes[schemas.PurposeAnalytics] == schemas.Denied {
		out = append(out, delivery{"amplitude", "delete_user"}, delivery{"posthog", "delete_user"}, delivery{"fullstory", "delete_user"})
	}
	if a.Purposes[schemas.PurposeMarketingEmail] == schemas.Denied {
		out = append(out, delivery{"hubspot", "opt_out"})
	}
	return out
}

// Scenario is one kind of fault, injected while the workload runs.
type Scenario struct {
	Name        string
	Description string
	// failpoints, when set, arm the services' crash points for the fault window.
	failpoints string
	inject     func(ctx context.Context, r *run)
}

// Scenarios are C1–C7 of docs/kafka-postgres.md §10; C7 is the rollout every deployment
// goes through.
var Scenarios = []Scenario{
	{Name: "C1", Description: "kill -9 of each service at random moments and at crash points (after the database commit before the offset commit, after a vendor call before its record, after publishing before answering)",
		failpoints: fmt.Sprintf("%s=0.04,%s=0.04,%s=0.05,%s=0.03", failpoint.ConsumerBeforeCommit, failpoint.FanoutAfterVendorCall,
			failpoint.RelayAfterPublish, failpoint.IngestAfterPublish),
		inject: killRandomly},
	{Name: "C2", Description: "broker restart on the same port with its data directory", inject: restartBroker},
	{Name: "C3", Description: "PostgreSQL stopped with -m immediate and restarted", inject: crashDatabase},
	{Name: "C4", Description: "vendor faults: down, slow past the timeout, 429 with Retry-After, 5xx, permanent 4xx", inject: vendorFaults},
	{Name: "C5", Description: "consumer rebalance churn: replicas of each consumer added and removed", inject: churn},
	{Name: "C6", Description: "poison records (undecodable bytes, unknown schema id) on every input topic", inject: poison},
	{Name: "C7", Description: "rolling restart: SIGTERM to each service in turn under load, as a Kubernetes rollout does, each back and ready before the next", inject: rollingRestart},
}

// run is one chaos run in progress.
type run struct {
	stack *stack.Stack
	rng   *rand.Rand
	log   *slog.Logger
	// window is how long faults are injected.
	window time.Duration
	// outage is filled by C4: when vendor A was down alone, for the isolation check.
	outage struct {
		vendor     string
		start, end time.Time
	}
	// poisoned counts the poison records injected per topic (C6).
	poisoned map[string]int
	faults   []string
}

func (r *run) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.faults = append(r.faults, time.Now().Format("15:04:05.000")+" "+msg)
	r.log.Info("fault", "what", msg)
}

func (r *run) pause(ctx context.Context, min, max time.Duration) bool {
	d := min + time.Duration(r.rng.Int64N(int64(max-min)+1))
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func killRandomly(ctx context.Context, r *run) {
	for r.pause(ctx, 700*time.Millisecond, 2500*time.Millisecond) {
		name := stack.Services[r.rng.IntN(len(stack.Services))]
		if err := r.stack.Kill(name); err == nil {
			r.note("kill -9 %s", name)
		}
	}
}

func restartBroker(ctx context.Context, r *run) {
	for r.pause(ctx, 2*time.Second, 5*time.Second) {
		down := time.Duration(500+r.rng.IntN(2500)) * time.Millisecond
		r.note("broker down for %v", down)
		if err := r.stack.RestartKafka(down); err != nil {
			r.note("broker restart failed: %v", err)
		}
	}
}

func crashDatabase(ctx context.Context, r *run) {
	for r.pause(ctx, 2*time.Second, 5*time.Second) {
		down := time.Duration(500+r.rng.IntN(2500)) * time.Millisecond
		r.note("postgres crashed (immediate) for %v", down)
		if err := r.stack.CrashPostgres(context.WithoutCancel(ctx), down); err != nil {
			r.note("postgres restart failed: %v", err)
		}
	}
}

func vendorFaults(ctx context.Context, r *run) {
	sim := r.stack.Simulator
	set := func(f vendorsim.Fault) {
		if err := sim.SetFault(f); err == nil {
			r.note("vendor %s: %s (rate %.1f, retry-after %ds, delay %dms)", f.Vendor, f.Mode, f.Rate, f.RetryAfterS, f.DelayMS)
		}
	}
	order := r.rng.Perm(len(vendors))
	a, b, c, d := vendors[order[0]], vendors[order[1]], vendors[order[2]], vendors[order[3]]
	// Phase 1: one vendor down alone, for the isolation invariant.
	set(vendorsim.Fault{Vendor: a, Mode: vendorsim.ModeDown})
	r.outage.vendor, r.outage.start = a, time.Now()
	if !r.pause(ctx, r.window/2, r.window/2) {
		r.outage.end = time.Now()
		return
	}
	r.outage.end = time.Now()
	// Phase 2: everything at once.
	set(vendorsim.Fault{Vendor: b, Mode: vendorsim.ModeSlow, DelayMS: 3000})
	set(vendorsim.Fault{Vendor: c, Mode: vendorsim.Mode429, RetryAfterS: 2})
	set(vendorsim.Fault{Vendor: d, Mode: vendorsim.Mode5xx, Rate: 0.5})
	if !r.pause(ctx, r.window/4, r.window/4) {
		return
	}
	set(vendorsim.Fault{Vendor: d, Mode: vendorsim.Mode4xx, Rate: 0.2}) // permanent rejections: dead letters
	r.pause(ctx, r.window/4, r.window/4)
}

func churn(ctx context.Context, r *run) {
	consumers := []string{"unsubscribe-handler", "vendor-fanout", "audit-sink"}
	var added []string
	for r.pause(ctx, 700*time.Millisecond, 2*time.Second) {
		if len(added) < 4 && (len(added) == 0 || r.rng.IntN(2) == 0) {
			name := consumers[r.rng.IntN(len(consumers))]
			id, err := r.stack.AddReplica(ctx, name)
			if err == nil {
				added = append(added, id)
				r.note("replica %s added", id)
			}
			continue
		}
		i := r.rng.IntN(len(added))
		kill := r.rng.IntN(2) == 0
		r.stack.RemoveReplica(added[i], kill)
		r.note("replica %s removed (kill=%v)", added[i], kill)
		added = append(added[:i], added[i+1:]...)
	}
	for _, id := range added {
		r.stack.RemoveReplica(id, false)
	}
}

func poison(ctx context.Context, r *run) {
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: r.stack.Brokers()})
	if err != nil {
		r.note("poison producer: %v", err)
		return
	}
	defer p.Close()
	t := r.stack.Topics()
	topics := []string{t.Consents, t.Requests, t.Receipts, t.Suppressions}
	for r.pause(ctx, 300*time.Millisecond, time.Second) {
		topic := topics[r.rng.IntN(len(topics))]
		var value []byte
		if r.rng.IntN(2) == 0 {
			value = []byte(fmt.Sprintf("not avro %d", r.rng.Int()))
		} else {
			value = []byte{0, 0, 0, 0x30, byte(r.rng.IntN(200) + 50), 2, 4, 6} // a schema id no registry knows
		}
		key := []byte(fmt.Sprintf("subject-%03d", r.rng.IntN(40)))
		if err := p.Publish(ctx, kafka.Message{Topic: topic, Key: key, Value: value}); err == nil {
			r.poisoned[topic]++
			r.note("poison record on %s", topic)
		}
	}
}

func faultOK(vendor string) vendorsim.Fault {
	return vendorsim.Fault{Vendor: vendor, Mode: vendorsim.ModeOK}
}

// rollingRestart terminates each service in turn and waits for its successor to be
// ready before the next, round after round, while the workload keeps sending.
func rollingRestart(ctx context.Context, r *run) {
	for r.pause(ctx, 300*time.Millisecond, 800*time.Millisecond) {
		for _, name := range stack.Services {
			pid := r.stack.PID(name)
			if err := r.stack.Terminate(name); err != nil {
				continue
			}
			r.note("SIGTERM %s", name)
			deadline := time.Now().Add(45 * time.Second)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if p := r.stack.PID(name); p != 0 && p != pid && r.stack.Ready(ctx, name) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !r.pause(ctx, 200*time.Millisecond, 600*time.Millisecond) {
				return
			}
		}
	}
}
