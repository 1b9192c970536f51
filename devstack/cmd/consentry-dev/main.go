// Command consentry-dev runs the whole Consentry pipeline on one machine (make run): the
// embedded broker, schema registry, PostgreSQL and vendor simulator, the four services
// as separate processes, and the console with a development identity provider. Ctrl-C stops everything cleanly; the next run finds
// the data of this one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/consentry/consentry/devstack/stack"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consentry-dev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consentry-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", ".data", "where the stack keeps its data and logs")
	binDir := fs.String("bin-dir", ".data/bin", "where the service binaries are (make build puts them there)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	started := time.Now()
	log.Info("starting the embedded stack", "data_dir", *dataDir)
	s, err := stack.Start(ctx, stack.Config{
		DataDir: *dataDir, BinDir: *binDir, Ports: stack.DefaultPorts(), APIKey: getenv("CONSENTRY_DEV_API_KEY"), Log: log,
		Console: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
Consentry is ready (%.1fs).

  consent-ingest        %s
  unsubscribe-handler   %s
  vendor-fanout         %s
  audit-sink            %s
  console               %s   (staff screens; sign in as a made-up person at the dev identity provider %s)
  schema registry       %s
  vendor simulator      %s   (GET /_sim/calls, POST /_sim/faults)
  admin (readyz, metrics) %s %s %s %s
  kafka                 %s
  postgres              %s

  API key (product)     %s
  operator key          %s   (exports, tasks, vendors, audit: docs/api-keys.md)
  export CONSENTRY_DEV_API_KEY=%s

Service logs: %s/logs/. Press Ctrl-C to stop.
`, time.Since(started).Seconds(), s.URL("consent-ingest"), s.URL("unsubscribe-handler"), s.URL("vendor-fanout"),
		s.URL("audit-sink"), s.ConsoleURL(), s.IdentityProviderURL(), s.RegistryURL(), s.SimulatorURL(), s.AdminURL("consent-ingest"), s.AdminURL("unsubscribe-handler"),
		s.AdminURL("vendor-fanout"), s.AdminURL("audit-sink"), s.Brokers()[0], s.PostgresURL(), s.APIKey(), s.OperatorKey(), s.APIKey(), *dataDir)

	<-ctx.Done()
	log.Info("stopping: services drain and commit first")
	s.Stop()
	log.Info("stopped")
	return nil
}
