// Package chaos breaks the embedded stack on purpose — kills, broker and database
// restarts, vendor faults, consumer churn, poison records — while a workload runs, lets
// it settle, and checks the invariants of docs/kafka-postgres.md §10 against what the
// workload was told was accepted. Every service is its own process, as in production.
//
// A run is randomised from its seed: the workload's choices and the faults' order and
// timing come from it, so a failing seed can be replayed (timings on a loaded machine
// still vary; the same seed makes the same decisions, not the same interleaving).
package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/failpoint"
)

// Config configures one run.
type Config struct {
	Scenario Scenario
	Seed     uint64
	// BinDir holds the service binaries, built with failpoint.BuildTag for the scenarios
	// that arm failpoints.
	BinDir string
	// DataDir must be a directory the postgres user can traverse into.
	DataDir string
	// Window is how long faults are injected; the workload runs a warm-up before it and a
	// little after. Default 15 s.
	Window time.Duration
	// Rate is the workload's events per second. Default 15.
	Rate float64
	// Quiesce bounds the wait for the system to settle after the faults (I6). Default 2 min.
	Quiesce time.Duration
	// ServiceLogLevel is the services' log level. Default info.
	ServiceLogLevel string
	Log             *slog.Logger
}

// Report is the outcome of one run.
type Report struct {
	Scenario    string      `json:"scenario"`
	Seed        uint64      `json:"seed"`
	Accepted    int         `json:"accepted_events"`
	Retries     int         `json:"client_retries"`
	Faults      []string    `json:"faults"`
	SettledIn   string      `json:"settled_in"`
	Invariants  []Invariant `json:"invariants"`
	Passed      bool        `json:"passed"`
	ServiceLogs string      `json:"service_logs"`
}

// Run performs one chaos run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Second
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 15
	}
	if cfg.Quiesce <= 0 {
		cfg.Quiesce = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ServiceLogLevel == "" {
		cfg.ServiceLogLevel = "info"
	}
	log := cfg.Log.With("scenario", cfg.Scenario.Name, "seed", cfg.Seed)
	rep := &Report{Scenario: cfg.Scenario.Name, Seed: cfg.Seed, ServiceLogs: filepath.Join(cfg.DataDir, "logs")}

	routes := filepath.Join(cfg.DataDir, "routing.json")
	if err := os.WriteFile(routes, []byte(routingJSON), 0o644); err != nil {
		return nil, err
	}
	const warmup, cooldown = 4 * time.Second, 2 * time.Second
	env := map[string]string{
		"CONSENTRY_ROUTING_FILE":           routes,
		"CONSENTRY_FANOUT_RETRY_BASE":      "100ms",
		"CONSENTRY_FANOUT_RETRY_MAX":       "2s",
		"CONSENTRY_FANOUT_BREAKER_TIMEOUT": "2s",
		"CONSENTRY_FANOUT_POLL_INTERVAL":   "300ms",
		"CONSENTRY_FANOUT_POLL_MAX":        "1s",
		"CONSENTRY_FANOUT_LEASE":           "30s",
		"CONSENTRY_VENDOR_TIMEOUT":         "2s",
		"CONSENTRY_LOG_LEVEL":              cfg.ServiceLogLevel,
	}
	if cfg.Scenario.failpoints != "" {
		if err := stack.CheckBuildTag(cfg.BinDir, failpoint.BuildTag); err != nil {
			return nil, fmt.Errorf("chaos: %s needs service binaries built with -tags %s (make chaos builds them): %w",
				cfg.Scenario.Name, failpoint.BuildTag, err)
		}
		// Armed from start-up to the end of the fault window; restarted processes
		// inherit it, and after the window the system must settle.
		until := time.Now().Add(30*time.Second + warmup + cfg.Window).Unix()
		env[failpoint.EnvVar] = cfg.Scenario.failpoints + ",until=" + strconv.FormatInt(until, 10)
	}
	s, err := startStack(ctx, cfg, env, log)
	if err != nil {
		return nil, err
	}
	defer s.Stop()

	r := &run{stack: s, rng: rand.New(rand.NewPCG(cfg.Seed, 1)), log: log, window: cfg.Window, poisoned: map[string]int{}}
	w := newWorkload(s.URL("consent-ingest"), s.APIKey())
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); w.run(loadCtx, cfg.Seed, 40, 4, cfg.Rate) }()

	select {
	case <-ctx.Done():
		stopLoad()
		return nil, ctx.Err()
	case <-time.After(warmup):
	}
	faultCtx, stopFaults := context.WithTimeout(ctx, cfg.Window)
	cfg.Scenario.inject(faultCtx, r)
	stopFaults()
	// Whatever the scenario left broken is mended; faults are over.
	for _, v := range vendors {
		_ = s.Simulator.SetFault(faultOK(v))
	}
	time.Sleep(cooldown)
	stopLoad()
	<-loadDone

	accepted, retries := w.snapshot()
	rep.Accepted, rep.Retries, rep.Faults = len(accepted), retries, r.faults
	settled, busy := quiesce(ctx, s, accepted, cfg.Quiesce)
	rep.SettledIn = settled.Round(100 * time.Millisecond).String()
	i6 := Invariant{Name: "I6 lag returns to zero and every lane drains after the faults", Holds: busy == "", Checked: 1,
		Note: "settled in " + rep.SettledIn}
	if busy != "" {
		i6.violate("not settled after %v: %s", cfg.Quiesce, busy)
	}
	o, err := observe(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("chaos: observing the stack: %w", err)
	}
	inv, err := check(ctx, s, r, accepted, o)
	if err != nil {
		return nil, fmt.Errorf("chaos: checking invariants: %w", err)
	}
	rep.Invariants = append(inv, i6)
	rep.Passed = true
	for _, i := range rep.Invariants {
		rep.Passed = rep.Passed && i.Holds
	}
	if len(accepted) == 0 {
		rep.Passed = false
		rep.Invariants = append(rep.Invariants, Invariant{Name: "workload", Violations: []string{"no event was accepted"}})
	}
	return rep, nil
}

// ScenarioByName finds a scenario.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// startStack starts the run's stack, on fresh ports up to three times: ports are picked
// free, but another process — a second chaos invocation beside this one — may bind one
// before the stack does (seen once in ~100 runs: PostgreSQL's "address already in use").
// The data directory survives a failed start, as it survives any restart.
func startStack(ctx context.Context, cfg Config, env map[string]string, log *slog.Logger) (*stack.Stack, error) {
	var errs []error
	for attempt := 1; attempt <= 3; attempt++ {
		ports, err := stack.FreePorts()
		if err != nil {
			return nil, err
		}
		s, err := stack.Start(ctx, stack.Config{DataDir: cfg.DataDir, BinDir: cfg.BinDir, Ports: ports, Partitions: 4,
			SimulatorJobDelay: 300 * time.Millisecond, SimulatorNoRateLimits: true, ServiceEnv: env, RestartBackoffMax: 2 * time.Second, TraceGroups: true, Log: log})
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		if ctx.Err() != nil {
			break
		}
		log.Warn("the stack did not start; trying again on other ports", "attempt", attempt, "error", err)
	}
	return nil, errors.Join(errs...)
}
