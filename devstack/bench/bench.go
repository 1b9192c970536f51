// Package bench measures Consentry on the embedded stack, in one run, against raw
// baselines measured in the same run on the same broker and database: what kafka-go alone
// produces, what pgx.CopyFrom alone writes. Figures are ratios to those baselines and
// latencies at a fixed load; nothing here asserts a timing — it reports.
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/devstack/stack"
)

// Config configures a run.
type Config struct {
	BinDir  string
	DataDir string
	// Rate is the fixed load of the latency phases, in events per second. Default 1000.
	Rate float64
	// SustainedRate is the load of the below-saturation latency phases. Default 200.
	SustainedRate float64
	// Phase is how long each latency phase sends. Default 20 s.
	Phase time.Duration
	// IngestEvents is how many events the throughput phase sends. Default 20,000.
	IngestEvents int
	// AuditEvents is how many receipts the audit phase produces. Default 100,000.
	AuditEvents int
	// RawRecords sizes the raw baselines. Default 50,000.
	RawRecords int
	// Only, when not empty, runs just these phases (see Phases): for profiling one of
	// them, or a quick look. A full run is what docs/benchmarks.md records.
	Only []string
	// IdleEvents is how many events the idle phase sends one at a time. Default 100.
	IdleEvents int
	// CapacityProbe is how long each load of the capacity search is held, and
	// CapacityProbes how many loads it tries. Defaults 10 s and 7.
	CapacityProbe  time.Duration
	CapacityProbes int
	// Soak is how long the soak phase holds SustainedRate. Default 3 minutes.
	Soak time.Duration
	// BackfillActions is how many past opt-outs the back-fill phase replays. Default
	// 100,000.
	BackfillActions int
	// ReplicaEvents is the backlog, in events, each replica count drains. Default 2,000.
	ReplicaEvents int
	// DebugPortBase gives every service a profiler (see stack.Config.DebugPortBase).
	DebugPortBase int
	// PostgresSettings are extra PostgreSQL settings, e.g. to load pg_stat_statements.
	PostgresSettings []string
	// StackLog receives the stack's own logs (simulator, supervisor). Default: discarded.
	StackLog *slog.Logger
	Log      *slog.Logger
}

// Result holds the figures, under the keys `make bench` promises.
type Result struct {
	Machine       string  `json:"machine"`
	StartedAt     string  `json:"started_at"`
	RawProduceEPS float64 `json:"raw_produce_eps"`
	IngestEPS     float64 `json:"ingest_eps"`
	IngestRatio   float64 `json:"ingest_ratio"`
	// IngestIdempotentEPS is the same with an Idempotency-Key on every request, which
	// costs a database write per request.
	IngestIdempotentEPS float64 `json:"ingest_idempotent_eps"`
	RawCopyRPS          float64 `json:"raw_copy_rps"`
	AuditRPS            float64 `json:"audit_rps"`
	AuditRatio          float64 `json:"audit_ratio"`
	E2EP50MS            float64 `json:"e2e_p50_ms"`
	E2EP99MS            float64 `json:"e2e_p99_ms"`
	E2ESentEPS          float64 `json:"e2e_sent_eps"`
	E2EDeliveries       int     `json:"e2e_deliveries"`
	E2EUndelivered      int     `json:"e2e_undelivered"`
	Vendors             int     `json:"vendors"`
	IsolationP99MS      float64 `json:"isolation_p99_ms"`
	IsolationP99Ratio   float64 `json:"isolation_p99_ratio"`
	BlackholedVendor    string  `json:"blackholed_vendor"`
	// E2E repeats the latency figures at Rate with where the time went.
	E2E *LatencyAt `json:"e2e_detail,omitempty"`
	// Sustained is the latency at a load this machine keeps up with, where the figures
	// show the pipeline's own delay rather than a queue growing for the whole phase.
	Sustained *LatencyAt         `json:"sustained,omitempty"`
	RSSMiBMax float64            `json:"rss_mib_max"`
	RSSMiB    map[string]float64 `json:"rss_mib"`
	// Settled is false when a phase's backlog had not drained before the next phase
	// began (UnsettledPhases says which and how much): that phase's figures include it.
	Settled         bool        `json:"settled"`
	UnsettledPhases []Unsettled `json:"unsettled_phases,omitempty"`
	// PhaseErrors are the phases that failed, by name, and why: the figures of the
	// others stand.
	PhaseErrors map[string]string `json:"phase_errors,omitempty"`

	// CapacityActionsPerS is the highest vendor-action rate at which every delivery was
	// made with p99 ≤ 250 ms; CapacityRatio that ÷ RawCopyRPS.
	CapacityActionsPerS float64 `json:"capacity_actions_per_s"`
	CapacityRatio       float64 `json:"capacity_ratio"`
	CapacityProbes      []Probe `json:"capacity_probes,omitempty"`
	// CPUUsPerAction is the CPU time of the four services per action delivered, and
	// RowWritesPerDelivery the rows inserted, updated or deleted per delivery, at
	// SustainedRate.
	CPUUsPerAction       float64     `json:"cpu_us_per_action"`
	RowWritesPerDelivery float64     `json:"row_writes_per_delivery"`
	Cost                 *CostDetail `json:"cost_detail,omitempty"`
	// IdleP50MS and IdleP99MS are one event at a time on an otherwise idle stack.
	IdleP50MS float64 `json:"idle_p50_ms"`
	IdleP99MS float64 `json:"idle_p99_ms"`
	IdleHops
	BackfillDrainRatio float64         `json:"backfill_drain_ratio"`
	Backfill           *BackfillDetail `json:"backfill_detail,omitempty"`
	// VendorsScalingRatio is actions a second per core with 50 vendors ÷ with 10.
	VendorsScalingRatio float64         `json:"vendors_scaling_ratio"`
	Scaling             *ScalingDetail  `json:"scaling_detail,omitempty"`
	Replicas            *ReplicasDetail `json:"replicas_detail,omitempty"`
	// The soak phase's samples of the delivery table and the claim, and its trend: the
	// last quarter's rows ÷ the first's, and the claim's mean time in each.
	SoakSamples                 []SoakSample `json:"soak_samples,omitempty"`
	SoakDeliveryRowsGrowthRatio float64      `json:"soak_delivery_rows_growth_ratio"`
	SoakClaimMeanMSFirst        float64      `json:"soak_claim_mean_ms_first"`
	SoakClaimMeanMSLast         float64      `json:"soak_claim_mean_ms_last"`
	// SoakRateEPS is the soak's load (the capacity found, when the capacity phase ran,
	// as a load the stack keeps up with); SoakRetentionS the retention vendor-fanout
	// ran it with, and SoakWarmupS how long the load ran before the samples began.
	SoakRateEPS    float64 `json:"soak_rate_eps,omitempty"`
	SoakRetentionS float64 `json:"soak_retention_s,omitempty"`
	SoakWarmupS    float64 `json:"soak_warmup_s,omitempty"`
}

// Run performs every phase and returns the figures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Rate <= 0 {
		cfg.Rate = 1000
	}
	if cfg.SustainedRate <= 0 {
		cfg.SustainedRate = 200
	}
	if cfg.Phase <= 0 {
		cfg.Phase = 20 * time.Second
	}
	if cfg.IngestEvents <= 0 {
		cfg.IngestEvents = 20_000
	}
	if cfg.AuditEvents <= 0 {
		cfg.AuditEvents = 100_000
	}
	if cfg.RawRecords <= 0 {
		cfg.RawRecords = 50_000
	}
	if cfg.IdleEvents <= 0 {
		cfg.IdleEvents = 100
	}
	if cfg.CapacityProbe <= 0 {
		cfg.CapacityProbe = 10 * time.Second
	}
	if cfg.CapacityProbes <= 0 {
		cfg.CapacityProbes = 7
	}
	if cfg.Soak <= 0 {
		cfg.Soak = 3 * time.Minute
	}
	if cfg.BackfillActions <= 0 {
		cfg.BackfillActions = 100_000
	}
	if cfg.ReplicaEvents <= 0 {
		cfg.ReplicaEvents = 2000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	log := cfg.Log
	runs := func(phase string) bool { return len(cfg.Only) == 0 || slices.Contains(cfg.Only, phase) }
	res := &Result{Machine: machine(), StartedAt: time.Now().UTC().Format(time.RFC3339), RSSMiB: map[string]float64{}, Settled: true}

	routes := filepath.Join(cfg.DataDir, "routing.json")
	if err := os.WriteFile(routes, []byte(routingFor(benchTenant, benchVendors)), 0o644); err != nil {
		return nil, err
	}
	res.Vendors = len(benchVendors)
	ports, err := stack.FreePorts()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"CONSENTRY_ROUTING_FILE": routes,
		"CONSENTRY_LOG_LEVEL":    "warn",
		// A black-holed vendor must not hold a lane's slots for long.
		"CONSENTRY_VENDOR_TIMEOUT":         "2s",
		"CONSENTRY_FANOUT_BREAKER_TIMEOUT": "5s",
		"CONSENTRY_FANOUT_POLL_INTERVAL":   "2s",
		"CONSENTRY_FANOUT_POLL_MAX":        "10s",
	}
	// Every instance a phase may enable, beyond those the stack configures by type.
	for k, v := range instancesEnv(fmt.Sprintf("http://127.0.0.1:%d", ports.Simulator), append(scaledVendors(), backfillInstance)) {
		env[k] = v
	}
	s, err := stack.Start(ctx, stack.Config{DataDir: cfg.DataDir, BinDir: cfg.BinDir, Ports: ports, Partitions: 6,
		SimulatorJobDelay: time.Second, SimulatorNoRateLimits: true, ServiceEnv: env, DebugPortBase: cfg.DebugPortBase, Log: cfg.StackLog,
		PostgresSettings: cfg.PostgresSettings})
	if err != nil {
		return nil, err
	}
	defer s.Stop()

	if runs("raw") {
		log.Info("baseline: raw kafka-go produce")
		if res.RawProduceEPS, err = rawProduce(ctx, s, cfg.RawRecords); err != nil {
			return nil, fmt.Errorf("raw produce: %w", err)
		}
		log.Info("baseline: raw pgx.CopyFrom")
		if res.RawCopyRPS, err = rawCopy(ctx, s, cfg.RawRecords); err != nil {
			return nil, fmt.Errorf("raw copy: %w", err)
		}
	}
	// Audit runs right after the baselines, on the same fresh database as the raw copy:
	// after the latency phases PostgreSQL is still vacuuming and checkpointing their
	// hundreds of thousands of delivery updates, which would be measured instead.
	if runs("audit") {
		log.Info("audit-sink throughput", "receipts", cfg.AuditEvents)
		if res.AuditRPS, err = auditThroughput(ctx, s, cfg.AuditEvents); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		res.AuditRatio = ratio(res.AuditRPS, res.RawCopyRPS)
	}

	if runs("ingest") {
		log.Info("ingest throughput", "events", cfg.IngestEvents)
		if res.IngestEPS, err = ingestAlone(ctx, s, cfg.IngestEvents, false); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if res.IngestIdempotentEPS, err = ingestAlone(ctx, s, cfg.IngestEvents, true); err != nil {
			return nil, fmt.Errorf("ingest with idempotency keys: %w", err)
		}
		res.IngestRatio = ratio(res.IngestEPS, res.RawProduceEPS)
		if err := res.settle(ctx, s, "ingest", 5*time.Minute, log); err != nil {
			return nil, err
		}
	}
	if runs("idle") {
		log.Info("idle latency, one event at a time", "events", cfg.IdleEvents)
		p50, p99, hops, err := idlePhase(ctx, s, cfg.IdleEvents)
		if err := res.failed(ctx, "idle", err, log); err != nil {
			return nil, err
		}
		res.IdleP50MS, res.IdleP99MS, res.IdleHops = ms(p50), ms(p99), hops
		if err := res.settle(ctx, s, "idle", time.Minute, log); err != nil {
			return nil, err
		}
	}
	if runs("e2e") || runs("isolation") || runs("sustained") {
		// The first seconds of a fresh stack pay for cold caches, first connections and
		// first plans; they are not what the latency phases are about.
		log.Info("warm-up", "rate", cfg.SustainedRate)
		if _, err := latencyPhase(ctx, s, cfg.SustainedRate, 5*time.Second, ""); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		if err := res.settle(ctx, s, "warm-up", 10*time.Minute, log); err != nil {
			return nil, err
		}
	}
	if runs("e2e") || runs("isolation") {
		log.Info("end-to-end latency and isolation", "rate", cfg.Rate, "seconds", cfg.Phase.Seconds())
		at, err := latencyAndIsolation(ctx, s, res, log, "e2e", cfg.Rate, cfg.Phase, runs("isolation"))
		if err != nil {
			return nil, err
		}
		res.E2EP50MS, res.E2EP99MS, res.E2ESentEPS, res.E2EDeliveries, res.E2EUndelivered = at.P50MS, at.P99MS, at.SentEPS, at.Deliveries, at.Undelivered
		res.IsolationP99MS, res.IsolationP99Ratio, res.BlackholedVendor = at.IsolationP99MS, at.IsolationP99Ratio, at.BlackholedVendor
		res.E2E = &at
	}
	if runs("sustained") {
		log.Info("end-to-end latency and isolation below saturation", "rate", cfg.SustainedRate, "seconds", cfg.Phase.Seconds())
		at, err := latencyAndIsolation(ctx, s, res, log, "sustained", cfg.SustainedRate, cfg.Phase, true)
		if err != nil {
			return nil, err
		}
		res.Sustained = &at
	}
	if runs("cost") {
		log.Info("cost per action", "rate", cfg.SustainedRate, "seconds", cfg.Phase.Seconds())
		c, us, writes, err := costPhase(ctx, s, res, log, benchVendors, benchTenant, cfg.SustainedRate, cfg.Phase, "cost")
		if err := res.failed(ctx, "cost", err, log); err != nil {
			return nil, err
		}
		res.Cost, res.CPUUsPerAction, res.RowWritesPerDelivery = c, us, writes
	}
	if runs("capacity") {
		log.Info("capacity search", "probes", cfg.CapacityProbes, "probe_seconds", cfg.CapacityProbe.Seconds())
		p := searchPolicy{Start: cfg.SustainedRate, Max: 4 * cfg.Rate, Probes: cfg.CapacityProbes, Precision: 0.1}
		if err := res.failed(ctx, "capacity", capacityPhase(ctx, s, res, log, p, cfg.CapacityProbe), log); err != nil {
			return nil, err
		}
	}
	if runs("scaling") {
		readRSS(s, res) // the phase restarts vendor-fanout
		log.Info("vendor scaling: 10 and 50 vendors", "rate", cfg.SustainedRate, "seconds", cfg.Phase.Seconds())
		if err := res.failed(ctx, "scaling", scalingPhase(ctx, s, res, log, routes, cfg.SustainedRate, cfg.Phase), log); err != nil {
			return nil, err
		}
	}
	if runs("replicas") {
		log.Info("1 and 2 replicas of each consumer", "events", cfg.ReplicaEvents)
		if err := res.failed(ctx, "replicas", replicasPhase(ctx, s, res, log, cfg.ReplicaEvents), log); err != nil {
			return nil, err
		}
	}
	if runs("soak") {
		// A soak above capacity would measure the backlog's growth, not the table's.
		rate := cfg.SustainedRate
		if res.CapacityActionsPerS > 0 {
			rate = min(rate, res.CapacityActionsPerS/float64(len(benchVendors)))
		}
		p := soakPolicy{Rate: rate, For: cfg.Soak, Every: max(cfg.Soak/12, time.Second), Retention: max(time.Minute, cfg.Soak/3)}
		log.Info("soak", "rate", p.Rate, "seconds", cfg.Soak.Seconds(), "retention", p.Retention)
		if err := res.failed(ctx, "soak", soakPhase(ctx, s, res, log, p), log); err != nil {
			return nil, err
		}
	}
	// RSS is read before the back-fill, which leaves its backlog behind by design when
	// the drain is too slow to wait for.
	readRSS(s, res)
	if runs("backfill") {
		if err := res.failed(ctx, "backfill", backfillPhase(ctx, s, res, log, routes, cfg.BackfillActions), log); err != nil {
			return nil, err
		}
		readRSS(s, res)
	}
	return res, nil
}

// readRSS records each service's peak resident set so far.
func readRSS(s *stack.Stack, res *Result) {
	for _, name := range stack.Services {
		mib := max(res.RSSMiB[name], peakRSS(s.PID(name))) // a restarted service starts its peak anew
		res.RSSMiB[name] = mib
		res.RSSMiBMax = max(res.RSSMiBMax, mib)
	}
}

// ingestAlone measures consent-ingest with the services downstream of it paused, as
// the raw baseline ran alone: on two cores, vendor-fanout, audit-sink and
// unsubscribe-handler reacting to the same events would take the CPU the figure is
// about. In production they run on other machines. They catch up once resumed.
func ingestAlone(ctx context.Context, s *stack.Stack, n int, idempotent bool) (float64, error) {
	downstream := []string{"unsubscribe-handler", "vendor-fanout", "audit-sink"}
	for _, name := range downstream {
		if err := s.Pause(name); err != nil {
			return 0, err
		}
		defer s.Resume(name)
	}
	return ingestThroughput(ctx, s, n, idempotent)
}

// LatencyAt holds the latency phases at one offered load.
type LatencyAt struct {
	RateEPS     float64 `json:"rate_eps"`
	SentEPS     float64 `json:"sent_eps"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	Deliveries  int     `json:"deliveries"`
	Undelivered int     `json:"undelivered"`
	// ShedRetries counts batches consent-ingest turned away (503, at capacity) that the
	// load generator sent again after the Retry-After; their latency includes the wait.
	ShedRetries       int64   `json:"shed_retries"`
	BlackholedVendor  string  `json:"blackholed_vendor,omitempty"`
	IsolationP99MS    float64 `json:"isolation_p99_ms,omitempty"`
	IsolationP99Ratio float64 `json:"isolation_p99_ratio,omitempty"`
	// Where the time of the first phase went: sending to planned, planned to called.
	PlannedP50MS float64 `json:"planned_p50_ms"`
	PlannedP99MS float64 `json:"planned_p99_ms"`
	CalledP50MS  float64 `json:"called_p50_ms"`
	CalledP99MS  float64 `json:"called_p99_ms"`
	// P99MSByVendor shows which lanes the p99 comes from.
	P99MSByVendor map[string]float64 `json:"p99_ms_by_vendor"`
}

// failed records a phase's error in r and lets the run go on, unless the run itself was
// cancelled: one phase that cannot finish on a slow or broken stack does not cost the
// figures of the others.
func (r *Result) failed(ctx context.Context, phase string, err error, log *slog.Logger) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	log.Error("phase failed; going on", "phase", phase, "error", err)
	if r.PhaseErrors == nil {
		r.PhaseErrors = map[string]string{}
	}
	r.PhaseErrors[phase] = err.Error()
	return nil
}

// settle waits for the stack to drain the backlog of the phase named after, at least
// min, and records in r a wait that ran out.
func (r *Result) settle(ctx context.Context, s *stack.Stack, after string, min time.Duration, log *slog.Logger) error {
	u, err := settle(ctx, s, after, min)
	if err != nil {
		return fmt.Errorf("settling after %s: %w", after, err)
	}
	if u != nil {
		log.Warn("the stack did not settle; going on", "after", after, "pending_deliveries", u.PendingDeliveries,
			"consumer_lag", u.ConsumerLag, "waited_s", u.WaitedS, "reason", u.Reason)
		r.Settled = false
		r.UnsettledPhases = append(r.UnsettledPhases, *u)
	}
	return nil
}

// latencyAndIsolation measures the end-to-end latency at rate, then (withIsolation) the
// same load with one vendor black-holed, settling the stack after each (name labels
// those waits in res).
func latencyAndIsolation(ctx context.Context, s *stack.Stack, res *Result, log *slog.Logger, name string, rate float64, phase time.Duration, withIsolation bool) (LatencyAt, error) {
	at := LatencyAt{RateEPS: rate}
	base, err := latencyPhase(ctx, s, rate, phase, "")
	if err != nil {
		return at, fmt.Errorf("latency at %.0f/s: %w", rate, err)
	}
	at.SentEPS, at.P50MS, at.P99MS, at.Deliveries, at.Undelivered = base.sentEPS, ms(base.p50), ms(base.p99), base.deliveries, base.undelivered
	at.ShedRetries = base.shed
	at.PlannedP50MS, at.PlannedP99MS = ms(base.plannedP50), ms(base.plannedP99)
	at.CalledP50MS, at.CalledP99MS = ms(base.calledP50), ms(base.calledP99)
	at.P99MSByVendor = map[string]float64{}
	for v, d := range base.p99ByVendor {
		at.P99MSByVendor[v] = ms(d)
	}
	if err := res.settle(ctx, s, name, 10*time.Minute, log); err != nil {
		return at, err
	}
	if !withIsolation {
		return at, nil
	}
	at.BlackholedVendor = "fullstory"
	iso, err := latencyPhase(ctx, s, rate, phase, at.BlackholedVendor)
	if err != nil {
		return at, fmt.Errorf("isolation at %.0f/s: %w", rate, err)
	}
	at.IsolationP99MS, at.IsolationP99Ratio = ms(iso.p99), ratio(float64(iso.p99), float64(base.p99))
	// The black-holed vendor's backlog drains now, so that the next phase measures what
	// it is about rather than that drain.
	return at, res.settle(ctx, s, name+" isolation", 10*time.Minute, log)
}

// ratio is 0 when the baseline was not measured in this run.
func ratio(v, baseline float64) float64 {
	if baseline == 0 {
		return 0
	}
	return v / baseline
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakRSS reads a process's high-water resident set (VmHWM) in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// machine describes where the run happened.
func machine() string {
	cpus := 0
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "processor") {
				cpus++
			}
			if v, ok := strings.CutPrefix(line, "model name"); ok && model == "" {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(b), "\n"); ok {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mem = fmt.Sprintf("%.0f GiB", kb/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s RAM", cpus, model, mem)
}
