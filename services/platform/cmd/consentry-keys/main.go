// Command consentry-keys is the operator's tool for the subject data keys in PostgreSQL.
//
//	consentry-keys rewrap [-batch 500]
//
// rewrap finishes a master key rotation (deploy/README.md, "Rotating the master key"):
// it re-wraps every live data key under the first key of CONSENTRY_MASTER_KEYS, in small
// transactions, while the services keep running. It reads CONSENTRY_POSTGRES_URL and
// CONSENTRY_MASTER_KEYS from the environment only, as the services do, and is safe to
// interrupt and run again.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/consentry/consentry/platform/config"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consentry-keys:", err)
		os.Exit(1)
	}
}

const usage = "usage: consentry-keys rewrap [-batch N]"

type rewrapConfig struct {
	PostgresURL string
	Master      *seal.MasterKeys
	Batch       int
}

func loadRewrapConfig(args []string, getenv func(string) string, stderr io.Writer) (rewrapConfig, error) {
	var (
		c         rewrapConfig
		masterRaw string
	)
	l := config.NewLoader("consentry-keys rewrap", getenv, stderr)
	l.Secret(&c.PostgresURL, "CONSENTRY_POSTGRES_URL")
	l.Secret(&masterRaw, "CONSENTRY_MASTER_KEYS")
	l.Int(&c.Batch, "batch", "CONSENTRY_REWRAP_BATCH", 500, "data keys per transaction (each batch holds its rows' locks until it commits)")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	errs := []error{config.Require(c.PostgresURL, "CONSENTRY_POSTGRES_URL")}
	if masterRaw == "" {
		errs = append(errs, errors.New("CONSENTRY_MASTER_KEYS is required: the new key first, then every key still in use"))
	} else if m, err := seal.ParseMasterKeys(masterRaw); err != nil {
		errs = append(errs, err)
	} else {
		c.Master = m
	}
	if c.Batch < 1 || c.Batch > 10_000 {
		errs = append(errs, errors.New("-batch must be between 1 and 10000"))
	}
	return c, errors.Join(errs...)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rewrap" {
		return errors.New(usage)
	}
	c, err := loadRewrapConfig(args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, c.PostgresURL, 2, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := keystore.Open(ctx, pool); err != nil {
		return err
	}
	started := time.Now()
	n, err := keystore.Rewrap(ctx, pool, c.Master, c.Batch)
	if err != nil {
		return fmt.Errorf("rewrapped %d data keys, then: %w", n, err)
	}
	fmt.Fprintf(stdout, "rewrapped %d data keys in %.1fs; every live data key is wrapped under master key %q\n",
		n, time.Since(started).Seconds(), c.Master.CurrentID())
	return nil
}
