// Command verify-audit recomputes every hash chain of the audit log straight from
// PostgreSQL — the check GET /v1/audit/verify runs, for when audit-sink is not running
// or should not be trusted to check itself. It prints the report as JSON and exits 1
// when a chain is broken, 2 when the check could not run.
//
//	CONSENTRY_POSTGRES_URL=postgres://… go run ./services/audit-sink/cmd/verify-audit
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/consentry/consentry/platform/postgres"
	auditdb "github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

// errBroken is a check that ran and found a break.
var errBroken = errors.New("the audit log does not verify")

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errBroken):
		fmt.Fprintln(os.Stderr, "verify-audit:", err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "verify-audit:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("postgres-url", getenv("CONSENTRY_POSTGRES_URL"), "the audit database (default $CONSENTRY_POSTGRES_URL)")
	wait := fs.Duration("connect-timeout", 30*time.Second, "how long to wait for the database to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("CONSENTRY_POSTGRES_URL (or -postgres-url) is required")
	}
	cctx, cancel := context.WithTimeout(ctx, *wait)
	pool, err := postgres.Connect(cctx, *url, 2, nil)
	cancel()
	if err != nil {
		return err
	}
	defer pool.Close()
	report, err := auditdb.Attach(pool).Verify(ctx)
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		return err
	}
	if !report.OK {
		return errBroken
	}
	fmt.Fprintf(stderr, "verify-audit: %d rows in %d chains verify\n", report.Rows, len(report.Chains))
	return nil
}
