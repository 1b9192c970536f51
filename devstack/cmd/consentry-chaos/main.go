// Command consentry-chaos runs the chaos suite (make chaos): each scenario, as many
// times as asked, against the embedded stack with every service a separate process, and
// checks the invariants after each run. Runs are randomised from a printed seed; pass it
// back with -seed to replay the same decisions.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/consentry/consentry/devstack/chaos"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consentry-chaos:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consentry-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binDir := fs.String("bin-dir", ".data/bin/failpoints", "service binaries built with -tags failpoints (make chaos puts them there)")
	runs := fs.Int("runs", 1, "runs per scenario")
	only := fs.String("scenario", "", "comma-separated scenarios (C1..C7); empty runs all")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the first run; run i of a scenario uses seed+i")
	window := fs.Duration("window", 15*time.Second, "how long faults are injected per run")
	rate := fs.Float64("rate", 15, "workload events per second")
	keep := fs.Bool("keep", false, "keep every run's data directory, not only failed ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fmt.Fprintf(stdout, "chaos: seed %d, %d run(s) per scenario\n", *seed, *runs)

	var scenarios []chaos.Scenario
	for _, s := range chaos.Scenarios {
		if *only == "" || strings.Contains(","+*only+",", ","+s.Name+",") {
			scenarios = append(scenarios, s)
		}
	}
	failed := 0
	for _, sc := range scenarios {
		for i := range *runs {
			s := *seed + uint64(i)
			dir, err := os.MkdirTemp("", "consentry-chaos-*")
			if err != nil {
				return err
			}
			if err := os.Chmod(dir, 0o755); err != nil { // PostgreSQL runs as the postgres user
				return err
			}
			rep, err := chaos.Run(ctx, chaos.Config{Scenario: sc, Seed: s, BinDir: *binDir, DataDir: dir, Window: *window, Rate: *rate, Log: log})
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted during %s seed %d (data in %s)", sc.Name, s, dir)
			}
			if err != nil {
				// The run could not be carried out (e.g. a service never became ready):
				// no invariant was checked, so it counts as failed, and the other runs
				// still tell what they can.
				failed++
				fmt.Fprintf(stdout, "%s run %d/%d seed %d: ERROR — %v\ndata kept in %s; replay: go run ./devstack/cmd/consentry-chaos -scenario %s -seed %d\n",
					sc.Name, i+1, *runs, s, err, dir, sc.Name, s)
				continue
			}
			verdict := "ok"
			if !rep.Passed {
				verdict, failed = "FAILED", failed+1
			}
			fmt.Fprintf(stdout, "%s run %d/%d seed %d: %s — %d events, %d faults, settled in %s\n",
				sc.Name, i+1, *runs, s, verdict, rep.Accepted, len(rep.Faults), rep.SettledIn)
			if !rep.Passed {
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintf(stdout, "%s\ndata kept in %s; replay: go run ./devstack/cmd/consentry-chaos -scenario %s -seed %d\n", b, dir, sc.Name, s)
			} else if !*keep {
				os.RemoveAll(dir)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d run(s) violated invariants or could not be carried out", failed)
	}
	fmt.Fprintln(stdout, "chaos: every invariant held")
	return nil
}
