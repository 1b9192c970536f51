// Command consentry-bench measures Consentry on the embedded stack (make bench): raw
// kafka-go and pgx baselines, ingest and audit-sink throughput, latency one event at a
// time on an idle stack, end-to-end latency at a fixed load with ten vendors and with
// one of them black-holed, the CPU and row writes per vendor action, the highest load
// carried within 250 ms, the cost with 50 vendors against 10, the drain with one and two
// processes of each consumer, a soak, a back-fill against a vendor's limits and the peak
// memory of each service (docs/benchmarks.md). It writes the figures as JSON to
// $BENCH_OUT.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/consentry/consentry/devstack/bench"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consentry-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consentry-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binDir := fs.String("bin-dir", ".data/bin", "service binaries (make build puts them there)")
	rate := fs.Float64("rate", 1000, "events per second in the latency phases")
	sustained := fs.Float64("sustained-rate", 200, "events per second in the below-saturation latency phases")
	phase := fs.String("phase", "", "length of each latency phase (default 20s), or a comma list of phases to run alone: "+strings.Join(bench.Phases, ", "))
	idleEvents := fs.Int("idle-events", 0, "events of the idle phase, sent one at a time (default 100)")
	capacityProbe := fs.Duration("capacity-probe", 0, "how long each load of the capacity search is held (default 10s)")
	capacityProbes := fs.Int("capacity-probes", 0, "most loads the capacity search tries (default 7)")
	soak := fs.Duration("soak", 0, "length of the soak phase (default 3m)")
	backfillActions := fs.Int("backfill-actions", 0, "past opt-outs the back-fill phase replays (default 100,000)")
	replicaEvents := fs.Int("replica-events", 0, "backlog in events each replica count drains (default 2,000)")
	ingestEvents := fs.Int("ingest-events", 0, "events of the ingest throughput phase (default 20,000)")
	auditEvents := fs.Int("audit-events", 0, "receipts of the audit throughput phase (default 100,000)")
	only := fs.String("only", "", "comma-separated phases to run alone, as -phase takes them")
	debugPort := fs.Int("debug-port-base", 0, "serve pprof: the bench process on this port, the services on the next four")
	out := fs.String("out", "", "where to write the JSON ($BENCH_OUT, default bench/out/latest.json)")
	doc := fs.String("doc", "", "Markdown document whose generated table a full run replaces (make bench: docs/benchmarks.md)")
	command := fs.String("command", "consentry-bench", "the command recorded with the figures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	phases, length, err := bench.ParsePhases(*phase)
	if err != nil {
		return err
	}
	if *only != "" {
		more, _, err := bench.ParsePhases(*only)
		if err != nil || more == nil {
			return fmt.Errorf("only: want a comma list of %s", strings.Join(bench.Phases, ", "))
		}
		phases = append(phases, more...)
	}
	if *out == "" {
		*out = getenv("BENCH_OUT")
	}
	if *out == "" {
		*out = "bench/out/latest.json"
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "consentry-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // PostgreSQL runs as the postgres user
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := bench.Config{BinDir: *binDir, DataDir: dir, Rate: *rate, SustainedRate: *sustained, Phase: length, Log: log,
		IngestEvents: *ingestEvents, AuditEvents: *auditEvents, Only: phases, IdleEvents: *idleEvents,
		CapacityProbe: *capacityProbe, CapacityProbes: *capacityProbes, Soak: *soak, BackfillActions: *backfillActions,
		ReplicaEvents: *replicaEvents,
		// The simulator would log each of ~10,000 vendor calls a second.
		StackLog: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if *debugPort > 0 {
		// The broker, the simulator and the load generator live in this process.
		go func() { _ = http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *debugPort), nil) }()
		cfg.DebugPortBase = *debugPort + 1
		// The database's share: CREATE EXTENSION pg_stat_statements, then query it.
		cfg.PostgresSettings = []string{"shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all"}
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\nwritten to %s\n", b, *out)
	// A partial run would replace the table with gaps.
	if *doc != "" && len(phases) == 0 {
		if err := bench.UpdateDoc(*doc, bench.Table(res, *command)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "table updated in %s\n", *doc)
	}
	return nil
}
