package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/schemas"
)

// The phases of issue 15: what one action costs, how far the stack goes, how it holds
// over time, and how a back-fill uses a vendor's limits.

// p99Bound is the end-to-end p99 a load must stay within to count as carried.
const p99Bound = 250 * time.Millisecond

// routingInstance is one instance of a generated routing file.
type routingInstance struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Tenants       []string `json:"tenants"`
	RatePerSecond float64  `json:"rate_per_second"`
	Burst         int      `json:"burst"`
	Concurrency   int      `json:"concurrency"`
	// MaxBatch lets the lane coalesce deliveries into one call of a batching adapter.
	MaxBatch int `json:"max_batch,omitempty"`
}

// typeOf is the vendor type of a bench instance: the type its name begins with
// ("hubspot-eu", "amplitude-x3", "sendgrid-backfill").
func typeOf(instance string) string {
	for t := range vendorKeys {
		if instance == t || strings.HasPrefix(instance, t+"-") {
			return t
		}
	}
	return instance
}

// scaledVendors are the 50 instances of the scaling phase: benchVendors and four copies
// of each, as a large company with many accounts of each tool would have.
func scaledVendors() []string {
	out := slices.Clone(benchVendors)
	for k := 2; k <= 5; k++ {
		for _, v := range benchVendors {
			out = append(out, fmt.Sprintf("%s-x%d", v, k))
		}
	}
	return out
}

// routingFor writes the routing of vendors, all serving tenant only (so that the other
// bench tenants' decisions plan nothing until instances are enabled for them), plus
// extra instances. Each benchmark event denies analytics, advertising and marketing
// email, so it goes to every vendor. Limits are high: the load, not the vendors' quotas,
// is measured.
func routingFor(tenant string, vendors []string, extra ...routingInstance) string {
	var ins []routingInstance
	for _, v := range vendors {
		ins = append(ins, routingInstance{Name: v, Type: typeOf(v), Tenants: []string{tenant}, RatePerSecond: 5000, Burst: 5000, Concurrency: 8})
	}
	ins = append(ins, extra...)
	b, _ := json.MarshalIndent(map[string]any{
		"instances": ins,
		"denied": map[string]map[string]string{
			schemas.PurposeAnalytics:      {"amplitude": schemas.ActionDeleteUser, "posthog": schemas.ActionDeleteUser, "fullstory": schemas.ActionDeleteUser},
			schemas.PurposeAdvertising:    {"linkedin": schemas.ActionOptOut},
			schemas.PurposeMarketingEmail: {"hubspot": schemas.ActionOptOut, "salesforce": schemas.ActionOptOut, "sendgrid": schemas.ActionSuppressEmail, "webhook": schemas.ActionOptOut},
		},
		"requests": map[string]any{},
	}, "", "  ")
	return string(b)
}

const (
	benchTenant    = "consumer"
	backfillTenant = "bench-backfill"
	// scalingTenant is the tenant the 50 vendors of the scaling phase serve: enabling a
	// vendor back-fills it with its tenants' past decisions, and this tenant has none, so
	// the phase measures the load rather than forty back-fills.
	scalingTenant = "bench-scaling"
	// backfillInstance is the vendor the back-fill phase enables.
	backfillInstance = "sendgrid-backfill"
)

// vendorKeys are the settings each vendor type takes from the environment on the
// embedded stack (stack.env sets them for the instance named after the type).
var vendorKeys = map[string]map[string]string{
	"hubspot":    {"BASE_URL": "/hubspot", "TOKEN": "bench-hubspot"},
	"amplitude":  {"BASE_URL": "/amplitude", "API_KEY": "bench-amplitude", "SECRET_KEY": "bench-amplitude-secret"},
	"posthog":    {"BASE_URL": "/posthog", "API_KEY": "phx_bench", "PROJECT_ID": "1"},
	"fullstory":  {"BASE_URL": "/fullstory", "API_KEY": "bench-fullstory"},
	"linkedin":   {"BASE_URL": "/linkedin", "ACCESS_TOKEN": "bench-linkedin", "SEGMENT_ID": "4242"},
	"salesforce": {"BASE_URL": "/salesforce", "ACCESS_TOKEN": "bench-salesforce"},
	"sendgrid":   {"BASE_URL": "/sendgrid", "API_KEY": "bench-sendgrid"},
	"webhook":    {"URL": "/webhook/consentry"},
}

// instancesEnv points the named instances at the simulator.
func instancesEnv(simURL string, instances []string) map[string]string {
	env := map[string]string{}
	for _, in := range instances {
		if in == typeOf(in) {
			continue // the stack configures the instance named after its type
		}
		name := strings.ToUpper(strings.ReplaceAll(in, "-", "_"))
		for k, v := range vendorKeys[typeOf(in)] {
			switch {
			case strings.HasPrefix(v, "/"):
				v = simURL + v
			case !strings.HasSuffix(k, "_ID"):
				v += "-" + in // a credential of its own: Amplitude tells projects apart by key
			}
			env["CONSENTRY_VENDOR_"+name+"_"+k] = v
		}
	}
	return env
}

// switchRouting writes routing and restarts vendor-fanout on it (SIGTERM; the stack's
// supervisor starts it again), waiting until it is ready.
func switchRouting(ctx context.Context, s *stack.Stack, path, routing string) error {
	if err := os.WriteFile(path, []byte(routing), 0o644); err != nil {
		return err
	}
	return restartFanout(ctx, s)
}

// restartFanout stops vendor-fanout as a rollout does (SIGTERM; the stack's supervisor
// starts it again, with whatever environment it now has) and waits until it is ready.
func restartFanout(ctx context.Context, s *stack.Stack) error {
	pid := s.PID("vendor-fanout")
	if err := s.Terminate("vendor-fanout"); err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if p := s.PID("vendor-fanout"); p != 0 && p != pid && s.Ready(ctx, "vendor-fanout") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vendor-fanout not ready after its restart within 3 minutes (see %s)", s.LogPath("vendor-fanout"))
		}
		if !pause(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// usage is the CPU time of the stack's service processes and the rows written to the
// database, at one moment.
type usage struct {
	cpu    map[int]time.Duration // by pid: a restarted service is a new process
	writes map[string]int64      // by table: n_tup_ins + n_tup_upd + n_tup_del
	names  map[int]string
}

// measureUsage reads the CPU of every service process (and replica) and the database's
// row writes. The writes are read until they stop moving: PostgreSQL's backends report
// their counts up to a second after a transaction, and an idle one later still.
func measureUsage(ctx context.Context, s *stack.Stack, procs []string) (usage, error) {
	u := usage{cpu: map[int]time.Duration{}, names: map[int]string{}}
	for _, name := range procs {
		pid := s.PID(name)
		if pid == 0 {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return u, fmt.Errorf("%s: %w", name, err)
		}
		d, err := procCPU(string(b))
		if err != nil {
			return u, fmt.Errorf("%s: %w", name, err)
		}
		u.cpu[pid], u.names[pid] = d, name
	}
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return u, err
	}
	defer conn.Close(ctx)
	var last int64 = -1
	for range 20 {
		w := map[string]int64{}
		rows, err := conn.Query(ctx, `SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del
			FROM pg_stat_user_tables WHERE schemaname <> 'bench'`)
		if err != nil {
			return u, err
		}
		var total int64
		for rows.Next() {
			var t string
			var n int64
			if err := rows.Scan(&t, &n); err != nil {
				return u, err
			}
			w[t], total = n, total+n
		}
		if err := rows.Err(); err != nil {
			return u, err
		}
		u.writes = w
		if total == last {
			break
		}
		last = total
		if !pause(ctx, time.Second) {
			return u, ctx.Err()
		}
	}
	return u, nil
}

// since is the CPU time each service used from u0 to u, by service name, and the total.
// A process that restarted in between counts from its start.
func (u usage) since(u0 usage) (map[string]time.Duration, time.Duration) {
	by := map[string]time.Duration{}
	var total time.Duration
	for pid, d := range u.cpu {
		d -= u0.cpu[pid]
		by[u.names[pid]] += d
		total += d
	}
	return by, total
}

// CostDetail is what the cost phase measured.
type CostDetail struct {
	RateEPS    float64 `json:"rate_eps"`
	Deliveries int     `json:"deliveries"`
	// CPUUsPerAction is by service; RowWritesPerDelivery by table.
	CPUUsPerAction       map[string]float64 `json:"cpu_us_per_action"`
	RowWritesPerDelivery map[string]float64 `json:"row_writes_per_delivery"`
	// OutsideCPUUsPerAction is the CPU per action of what shares the machine with the
	// services on the embedded stack and not in a deployment: PostgreSQL (the postmaster,
	// its live backends and the ones it reaped), and the bench process (the kfake broker,
	// the vendor simulator and the load generator in one).
	OutsideCPUUsPerAction map[string]float64 `json:"outside_cpu_us_per_action,omitempty"`
}

// outsideCPU is the CPU time so far of PostgreSQL's processes and of this process.
func outsideCPU() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, err
	}
	if out["bench (broker, simulator, load)"], err = procCPU(string(self)); err != nil {
		return nil, err
	}
	// The postmaster is this process's child (devkit/pgserver starts it); its backends
	// are the postmaster's.
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	parentOf, statOf := map[int]int{}, map[int]string{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone since the glob
		}
		st := string(b)
		end := strings.LastIndexByte(st, ')')
		start := strings.IndexByte(st, '(')
		if end < 0 || start < 0 || st[start+1:end] != "postgres" {
			continue
		}
		after := strings.Fields(st[end+1:]) // state, ppid, …
		if len(after) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(strings.TrimSpace(st[:start]))
		ppid, err2 := strconv.Atoi(after[1])
		if err1 != nil || err2 != nil {
			continue
		}
		parentOf[pid], statOf[pid] = ppid, st
	}
	me := os.Getpid()
	for pid, ppid := range parentOf {
		var d time.Duration
		switch {
		case ppid == me:
			d, err = procTreeCPU(statOf[pid])
		case parentOf[ppid] == me:
			d, err = procCPU(statOf[pid])
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		out["postgres"] += d
	}
	return out, nil
}

// costPhase measures, at a load the stack keeps up with, the CPU time of the four
// services and the rows written per vendor action delivered, from before the load until
// the stack has settled after it (so receipts and audit rows are counted).
func costPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, vendors []string, tenant string, rate float64, d time.Duration, label string) (*CostDetail, float64, float64, error) {
	u0, err := measureUsage(ctx, s, serviceProcs(s))
	if err != nil {
		return nil, 0, 0, err
	}
	o0, err := outsideCPU()
	if err != nil {
		return nil, 0, 0, err
	}
	lat, err := latencyPhaseFor(ctx, s, vendors, tenant, rate, d, "")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s at %.0f/s: %w", label, rate, err)
	}
	if err := res.settle(ctx, s, label, 10*time.Minute, log); err != nil {
		return nil, 0, 0, err
	}
	u1, err := measureUsage(ctx, s, serviceProcs(s))
	if err != nil {
		return nil, 0, 0, err
	}
	o1, err := outsideCPU()
	if err != nil {
		return nil, 0, 0, err
	}
	c := &CostDetail{RateEPS: rate, Deliveries: lat.deliveries, CPUUsPerAction: map[string]float64{}, RowWritesPerDelivery: map[string]float64{},
		OutsideCPUUsPerAction: map[string]float64{}}
	for name, t := range o1 {
		c.OutsideCPUUsPerAction[name] = perAction(float64((t - o0[name]).Microseconds()), lat.deliveries)
	}
	by, total := u1.since(u0)
	for name, t := range by {
		c.CPUUsPerAction[name] = perAction(float64(t.Microseconds()), lat.deliveries)
	}
	var writes int64
	for t, n := range u1.writes {
		if dn := n - u0.writes[t]; dn > 0 {
			c.RowWritesPerDelivery[t] = perAction(float64(dn), lat.deliveries)
			writes += dn
		}
	}
	return c, perAction(float64(total.Microseconds()), lat.deliveries), perAction(float64(writes), lat.deliveries), nil
}

// serviceProcs names the service processes the cost is taken of: the phases that
// measure it run without replicas.
func serviceProcs(*stack.Stack) []string { return stack.Services }

// capacityPhase searches the highest load at which every delivery is made with p99
// within p99Bound. A probe that fails outright (the load generator gave up on a batch)
// is a failed probe, not a failed run.
func capacityPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, p searchPolicy, probeFor time.Duration) error {
	best, tried, err := searchCapacity(p, func(rate float64) (Probe, error) {
		log.Info("capacity probe", "rate", rate, "seconds", probeFor.Seconds())
		lat, err := latencyPhase(ctx, s, rate, probeFor, "")
		if ctx.Err() != nil {
			return Probe{}, ctx.Err()
		}
		pr := Probe{ActionsPerS: lat.sentEPS * float64(len(benchVendors)), P99MS: ms(lat.p99), Undelivered: lat.undelivered}
		if err != nil {
			log.Warn("capacity probe failed", "rate", rate, "error", err)
			pr.Undelivered = max(pr.Undelivered, 1)
		}
		pr.OK = err == nil && lat.undelivered == 0 && lat.deliveries > 0 && lat.p99 <= p99Bound
		return pr, res.settle(ctx, s, fmt.Sprintf("capacity probe at %.0f/s", rate), 10*time.Minute, log)
	})
	res.CapacityProbes = tried
	if err != nil {
		return err
	}
	res.CapacityActionsPerS = best.ActionsPerS
	res.CapacityRatio = ratio(best.ActionsPerS, res.RawCopyRPS)
	return nil
}

// ScalingDetail compares the work per CPU second with 10 and with 50 vendors enabled.
type ScalingDetail struct {
	ActionsPerCPUSecond10 float64 `json:"actions_per_cpu_second_10"`
	ActionsPerCPUSecond50 float64 `json:"actions_per_cpu_second_50"`
	RateEPS10             float64 `json:"rate_eps_10"`
	RateEPS50             float64 `json:"rate_eps_50"`
}

// scalingPhase offers the same vendor actions a second with 10 and with 50 vendors
// (the events a second divided by five) and compares the actions delivered per CPU
// second of the services, which is actions a second per core.
func scalingPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, routes string, rate float64, d time.Duration) error {
	eff := func(c *CostDetail, usPerAction float64) float64 {
		if usPerAction == 0 {
			return 0
		}
		return 1e6 / usPerAction
	}
	c10, us10, _, err := costPhase(ctx, s, res, log, benchVendors, benchTenant, rate, d, "scaling, 10 vendors")
	if err != nil {
		return err
	}
	many := scaledVendors()
	log.Info("scaling: enabling 50 vendors")
	if err := switchRouting(ctx, s, routes, routingFor(scalingTenant, many)); err != nil {
		return err
	}
	defer func() {
		if err := switchRouting(ctx, s, routes, routingFor(benchTenant, benchVendors)); err != nil {
			log.Error("scaling: could not restore the 10-vendor routing", "error", err)
		}
	}()
	c50, us50, _, err := costPhase(ctx, s, res, log, many, scalingTenant, rate*float64(len(benchVendors))/float64(len(many)), d, "scaling, 50 vendors")
	if err != nil {
		return err
	}
	res.Scaling = &ScalingDetail{ActionsPerCPUSecond10: eff(c10, us10), ActionsPerCPUSecond50: eff(c50, us50), RateEPS10: c10.RateEPS, RateEPS50: c50.RateEPS}
	res.VendorsScalingRatio = ratio(res.Scaling.ActionsPerCPUSecond50, res.Scaling.ActionsPerCPUSecond10)
	return nil
}

// ReplicasDetail is the drain rate of one backlog with one and with two processes of
// each consumer.
type ReplicasDetail struct {
	Events           int     `json:"events"`
	ActionsPerS1     float64 `json:"actions_per_s_1"`
	ActionsPerS2     float64 `json:"actions_per_s_2"`
	Ratio            float64 `json:"ratio"`
	ReplicasStarted  int     `json:"replicas_started"`
	UnsettledAtDrain bool    `json:"unsettled_at_drain,omitempty"`
}

// replicasPhase builds a backlog with the consumers paused, resumes them and times the
// drain; then again with a second process of each consumer in the same group.
func replicasPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, events int) error {
	consumers := []string{"unsubscribe-handler", "vendor-fanout", "audit-sink"}
	drain := func(label string, procs []string) (float64, error) {
		for _, p := range procs {
			if err := s.Pause(p); err != nil {
				return 0, err
			}
		}
		_, err := ingestBurst(ctx, s, events, benchTenant, fmt.Sprintf("replicas-%s-", label), allDenied)
		for _, p := range procs {
			s.Resume(p)
		}
		if err != nil {
			return 0, err
		}
		start := time.Now()
		before := len(res.UnsettledPhases)
		if err := res.settle(ctx, s, "replicas "+label, 10*time.Minute, log); err != nil {
			return 0, err
		}
		if len(res.UnsettledPhases) > before {
			res.Replicas.UnsettledAtDrain = true
		}
		return float64(events*len(benchVendors)) / time.Since(start).Seconds(), nil
	}
	res.Replicas = &ReplicasDetail{Events: events}
	one, err := drain("1", consumers)
	if err != nil {
		return err
	}
	var added []string
	defer func() {
		for _, id := range added {
			s.RemoveReplica(id, false)
		}
	}()
	for _, c := range consumers {
		id, err := s.AddReplica(ctx, c)
		if err != nil {
			return err
		}
		added = append(added, id)
	}
	// A replica joining its group moves partitions; the drain starts once it serves.
	if err := res.settle(ctx, s, "replicas joining", time.Minute, log); err != nil {
		return err
	}
	two, err := drain("2", append(slices.Clone(consumers), added...))
	if err != nil {
		return err
	}
	res.Replicas.ActionsPerS1, res.Replicas.ActionsPerS2, res.Replicas.Ratio = one, two, ratio(two, one)
	res.Replicas.ReplicasStarted = len(added)
	return nil
}

// allDenied denies what benchVendors act on; optOut only marketing email.
var (
	allDenied = map[string]string{schemas.PurposeAnalytics: schemas.Denied, schemas.PurposeAdvertising: schemas.Denied, schemas.PurposeMarketingEmail: schemas.Denied}
	optOut    = map[string]string{schemas.PurposeMarketingEmail: schemas.Denied}
)

// ingestBurst sends n consents of distinct subjects of tenant, in batches of 100 from 8
// clients, as fast as consent-ingest takes them (shed batches are retried).
func ingestBurst(ctx context.Context, s *stack.Stack, n int, tenant, prefix string, purposes map[string]string) (time.Duration, error) {
	c := newClient(s, true)
	const batch, workers = 100, 8
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				first := next
				next += batch
				mu.Unlock()
				if first >= n {
					return
				}
				b := make([]map[string]any, 0, batch)
				for i := first; i < min(n, first+batch); i++ {
					e := consent(0, time.Now())
					id := fmt.Sprintf("%s%07d", prefix, i)
					e["tenant"], e["subject_id"], e["purposes"] = tenant, id, purposes
					e["identifiers"] = map[string]any{"email": id + "@bench.example"}
					b = append(b, e)
				}
				if _, err := c.post(ctx, b); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return 0, fmt.Errorf("%d senders failed, the first with: %w", len(errs), errs[0])
	}
	return time.Since(start), nil
}

// soakPolicy is the soak phase's load, length and sampling interval, and the retention
// vendor-fanout runs with meanwhile.
type soakPolicy struct {
	Rate      float64
	For       time.Duration
	Every     time.Duration
	Retention time.Duration
}

const retentionEnv = "CONSENTRY_DELIVERY_RETENTION"

// soakPhase holds a load the stack keeps up with and samples the delivery table's size
// and the claim's candidate query as they go. A run of minutes cannot wait out the
// production retention (days), so vendor-fanout runs the phase with p.Retention: the
// table then reaches the size a deployment keeps in steady state (the backlog and the
// rows of one retention window), and the samples, taken once the earlier phases' rows
// are pruned and the load has run two windows, show whether it stays there.
func soakPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, p soakPolicy) error {
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	restoreEnv, err := s.SetEnv("vendor-fanout", retentionEnv, p.Retention.String())
	if err != nil {
		return err
	}
	defer func() {
		restoreEnv()
		if err := restartFanout(ctx, s); err != nil {
			log.Error("soak: could not restore vendor-fanout's retention", "error", err)
		}
	}()
	if err := restartFanout(ctx, s); err != nil {
		return err
	}
	res.SoakRateEPS, res.SoakRetentionS = p.Rate, p.Retention.Seconds()

	// The earlier phases' rows go first, with no load: what the samples then see is
	// this load's rows and the pruning that keeps pace with them.
	prunedBy := time.Now().Add(10 * time.Minute)
	for {
		var oldestS float64
		if err := conn.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(updated_at)), 0)::float8
			FROM fanout.deliveries WHERE state = 'done'`).Scan(&oldestS); err != nil {
			return err
		}
		if time.Duration(oldestS*float64(time.Second)) <= p.Retention+30*time.Second {
			break
		}
		if time.Now().After(prunedBy) {
			log.Warn("soak: the earlier phases' rows are not pruned after 10 minutes; going on", "oldest_done_s", int(oldestS))
			break
		}
		if !pause(ctx, time.Second) {
			return ctx.Err()
		}
	}
	// One load throughout, so that the table is never left to shrink between parts of
	// it: two retention windows to reach its steady size, then the samples.
	warm := 2 * p.Retention
	res.SoakWarmupS = warm.Seconds()
	done := make(chan error, 1)
	go func() {
		_, err := latencyPhase(ctx, s, p.Rate, warm+p.For, "")
		done <- err
	}()
	if !pause(ctx, warm) {
		return ctx.Err()
	}
	start := time.Now()
	t := time.NewTicker(p.Every)
	defer t.Stop()
	for time.Since(start) < p.For {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sm, err := soakSample(ctx, conn)
		if err != nil {
			return err
		}
		sm.AtS = time.Since(start).Seconds()
		res.SoakSamples = append(res.SoakSamples, sm)
		log.Info("soak", "at_s", int(sm.AtS), "rows", sm.Rows, "claim_ms", sm.ClaimMS)
	}
	if err := <-done; err != nil {
		return fmt.Errorf("soak load: %w", err)
	}
	res.SoakDeliveryRowsGrowthRatio, res.SoakClaimMeanMSFirst, res.SoakClaimMeanMSLast = soakTrend(res.SoakSamples)
	return res.settle(ctx, s, "soak", 10*time.Minute, log)
}

// claimProbe is the candidate query of vendor-fanout's claim (internal/postgres Claim)
// without its UPDATE and row locks, so that timing it takes nothing from the lanes: what
// grows with the table, if anything, is this search.
const claimProbe = `SELECT c.id FROM fanout.deliveries c
	WHERE c.instance = $1 AND c.state IN ('pending', 'polling') AND c.next_attempt_at <= now()
	  AND (c.leased_until IS NULL OR c.leased_until <= now())
	  AND (c.state = 'polling' OR NOT EXISTS (
		SELECT 1 FROM fanout.deliveries e
		WHERE e.instance = c.instance AND e.subject_key = c.subject_key AND e.state = 'pending' AND e.id < c.id))
	ORDER BY c.next_attempt_at, c.id LIMIT 32`

func soakSample(ctx context.Context, conn *pgx.Conn) (SoakSample, error) {
	var sm SoakSample
	if err := conn.QueryRow(ctx, `SELECT coalesce(n_live_tup, 0), pg_total_relation_size('fanout.deliveries')
		FROM pg_stat_user_tables WHERE schemaname = 'fanout' AND relname = 'deliveries'`).Scan(&sm.Rows, &sm.Bytes); err != nil {
		return sm, err
	}
	// The least of five runs: what the query costs, apart from the wait for a core on
	// a machine the load keeps busy (single runs ranged 1–13 ms at the same table size).
	const looks = 5
	var least time.Duration
	for range looks {
		t0 := time.Now()
		rows, err := conn.Query(ctx, claimProbe, pgx.QueryExecModeExec, "hubspot")
		if err != nil {
			return sm, err
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return sm, err
		}
		if took := time.Since(t0); least == 0 || took < least {
			least = took
		}
	}
	sm.ClaimMS = ms(least)
	return sm, nil
}

// BackfillDetail is what the back-fill phase measured.
type BackfillDetail struct {
	Vendor string `json:"vendor"`
	// PerSecond and MaxBatch are the limits the simulator enforced.
	PerSecond float64 `json:"per_second"`
	MaxBatch  int     `json:"max_batch"`
	Actions   int     `json:"actions"`
	Delivered int     `json:"delivered"`
	Seconds   float64 `json:"seconds"`
	MinimumS  float64 `json:"minimum_s"`
	// Extrapolated is true when the back-fill had not finished in the time given and
	// the ratio is the pace it kept carried to the end.
	Extrapolated bool `json:"extrapolated"`
	// Batched says whether the instance was configured with max_batch.
	Batched bool `json:"batched"`
}

// SendGrid publishes no number for its suppression endpoint (docs/vendors/sendgrid.md,
// "Rate limits"): the back-fill enforces 10 requests a second of at most 100 addresses,
// a limit of the kind SendGrid's rate-limit page describes. The ratio is to whatever
// limit is enforced, so the figure does not depend on the number chosen.
const (
	backfillPerSecond = 10
	backfillMaxBatch  = 100
)

// backfillPhase records n past opt-outs of a tenant no vendor serves yet, then enables a
// SendGrid instance for it (restarting vendor-fanout on the new routing, which back-fills
// a newly enabled vendor at start) while the simulator enforces the limits, and times
// the drain against the least those limits allow. It gives the drain three times that
// least plus a minute and extrapolates past it.
func backfillPhase(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, routes string, n int) error {
	log.Info("back-fill: recording past opt-outs", "subjects", n)
	if _, err := ingestBurst(ctx, s, n, backfillTenant, "backfill-", optOut); err != nil {
		return fmt.Errorf("back-fill: recording the opt-outs: %w", err)
	}
	if err := res.settle(ctx, s, "back-fill recording", 10*time.Minute, log); err != nil {
		return err
	}
	s.Simulator.Reset()
	if err := s.Simulator.SetLimit(vendorsim.Limit{Vendor: "sendgrid", PerSecond: backfillPerSecond, MaxBatch: backfillMaxBatch}); err != nil {
		return err
	}
	defer s.Simulator.SetLimit(vendorsim.Limit{Vendor: "sendgrid"})
	in := routingInstance{Name: backfillInstance, Type: "sendgrid", Tenants: []string{backfillTenant},
		RatePerSecond: backfillPerSecond, Burst: backfillPerSecond, Concurrency: 4, MaxBatch: backfillMaxBatch}
	d := &BackfillDetail{Vendor: "sendgrid", PerSecond: backfillPerSecond, MaxBatch: backfillMaxBatch, Actions: n, Batched: in.MaxBatch > 0}
	res.Backfill = d
	least := time.Duration(float64(n) / (backfillPerSecond * backfillMaxBatch) * float64(time.Second))
	d.MinimumS = least.Seconds()
	start := time.Now()
	log.Info("back-fill: enabling the vendor", "vendor", backfillInstance, "least_s", d.MinimumS)
	if err := switchRouting(ctx, s, routes, routingFor(benchTenant, benchVendors, in)); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	giveUp := start.Add(3*least + time.Minute)
	for {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries WHERE instance = $1 AND state = 'done'`,
			backfillInstance).Scan(&d.Delivered); err != nil {
			return err
		}
		if d.Delivered >= n || time.Now().After(giveUp) {
			break
		}
		if !pause(ctx, time.Second) {
			return ctx.Err()
		}
	}
	took := time.Since(start)
	d.Seconds = took.Seconds()
	res.BackfillDrainRatio, d.Extrapolated = drainRatio(n, d.Delivered, took, backfillPerSecond, backfillMaxBatch)
	log.Info("back-fill", "delivered", d.Delivered, "of", n, "seconds", int(d.Seconds), "ratio", res.BackfillDrainRatio, "extrapolated", d.Extrapolated)
	return nil
}
