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
	// Phase is how long each latency phase sends. Default 20 s.
	Phase time.Duration
	// IngestEvents is how many events the throughput phase sends. Default 20,000.
	IngestEvents int
	// AuditEvents is how many receipts the audit phase produces. Default 100,000.
	AuditEvents int
	// RawRecords sizes the raw baselines. Default 50,000.
	RawRecords int
	// Only, when not empty, runs just these phases (raw, ingest, e2e, isolation, audit):
	// for profiling one of them. A full run is what docs/benchmarks.md records.
	Only []string
	// DebugPortBase gives every service a profiler (see stack.Config.DebugPortBase).
	DebugPortBase int
	// StackLog receives the stack's own logs (simulator, supervisor). Default: discarded.
	StackLog *slog.Logger
	Log      *slog.Logger
}

// Result holds the figures, under the keys `make bench` promises.
type Result struct {
	Machine           string             `json:"machine"`
	StartedAt         string             `json:"started_at"`
	RawProduceEPS     float64            `json:"raw_produce_eps"`
	IngestEPS         float64            `json:"ingest_eps"`
	IngestRatio       float64            `json:"ingest_ratio"`
	RawCopyRPS        float64            `json:"raw_copy_rps"`
	AuditRPS          float64            `json:"audit_rps"`
	AuditRatio        float64            `json:"audit_ratio"`
	E2EP50MS          float64            `json:"e2e_p50_ms"`
	E2EP99MS          float64            `json:"e2e_p99_ms"`
	E2ESentEPS        float64            `json:"e2e_sent_eps"`
	E2EDeliveries     int                `json:"e2e_deliveries"`
	E2EUndelivered    int                `json:"e2e_undelivered"`
	Vendors           int                `json:"vendors"`
	IsolationP99MS    float64            `json:"isolation_p99_ms"`
	IsolationP99Ratio float64            `json:"isolation_p99_ratio"`
	BlackholedVendor  string             `json:"blackholed_vendor"`
	RSSMiBMax         float64            `json:"rss_mib_max"`
	RSSMiB            map[string]float64 `json:"rss_mib"`
}

// Run performs every phase and returns the figures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Rate <= 0 {
		cfg.Rate = 1000
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
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	log := cfg.Log
	runs := func(phase string) bool { return len(cfg.Only) == 0 || slices.Contains(cfg.Only, phase) }
	res := &Result{Machine: machine(), StartedAt: time.Now().UTC().Format(time.RFC3339), RSSMiB: map[string]float64{}}

	routes := filepath.Join(cfg.DataDir, "routing.json")
	if err := os.WriteFile(routes, []byte(benchRouting), 0o644); err != nil {
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
	for k, v := range benchVendorEnv(fmt.Sprintf("http://127.0.0.1:%d", ports.Simulator)) {
		env[k] = v
	}
	s, err := stack.Start(ctx, stack.Config{DataDir: cfg.DataDir, BinDir: cfg.BinDir, Ports: ports, Partitions: 6,
		SimulatorJobDelay: time.Second, ServiceEnv: env, DebugPortBase: cfg.DebugPortBase, Log: cfg.StackLog})
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
	if runs("ingest") {
		log.Info("ingest throughput", "events", cfg.IngestEvents)
		if res.IngestEPS, err = ingestThroughput(ctx, s, cfg.IngestEvents); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		res.IngestRatio = ratio(res.IngestEPS, res.RawProduceEPS)
		if err := settle(ctx, s, 5*time.Minute); err != nil {
			return nil, err
		}
	}
	var base latency
	if runs("e2e") {
		log.Info("end-to-end latency", "rate", cfg.Rate, "seconds", cfg.Phase.Seconds())
		if base, err = latencyPhase(ctx, s, cfg.Rate, cfg.Phase, ""); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
		res.E2EP50MS, res.E2EP99MS = ms(base.p50), ms(base.p99)
		res.E2ESentEPS, res.E2EDeliveries, res.E2EUndelivered = base.sentEPS, base.deliveries, base.undelivered
		if err := settle(ctx, s, 5*time.Minute); err != nil {
			return nil, err
		}
	}
	if runs("isolation") {
		res.BlackholedVendor = "fullstory"
		log.Info("isolation: the same load with one vendor black-holed", "vendor", res.BlackholedVendor)
		iso, err := latencyPhase(ctx, s, cfg.Rate, cfg.Phase, res.BlackholedVendor)
		if err != nil {
			return nil, fmt.Errorf("isolation: %w", err)
		}
		res.IsolationP99MS = ms(iso.p99)
		res.IsolationP99Ratio = ratio(float64(iso.p99), float64(base.p99))
		// The black-holed vendor's backlog drains now; the audit phase measures audit-sink,
		// not audit-sink sharing two cores with that drain.
		if err := settle(ctx, s, 10*time.Minute); err != nil {
			return nil, err
		}
	}
	if runs("audit") {
		log.Info("audit-sink throughput", "receipts", cfg.AuditEvents)
		if res.AuditRPS, err = auditThroughput(ctx, s, cfg.AuditEvents); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		res.AuditRatio = ratio(res.AuditRPS, res.RawCopyRPS)
	}

	for _, name := range stack.Services {
		mib := peakRSS(s.PID(name))
		res.RSSMiB[name] = mib
		res.RSSMiBMax = max(res.RSSMiBMax, mib)
	}
	return res, nil
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
