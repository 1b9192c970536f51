package testkit

import (
	"context"
	"testing"

	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
)

// Sealer returns a sealer over the key store at postgresURL with the master keys of spec,
// as a service configured so builds it: tests open what services sealed, and seal what
// they expect services to open.
func Sealer(t testing.TB, postgresURL, spec string) *seal.Sealer {
	t.Helper()
	return SealerWith(t, postgresURL, spec, seal.Options{})
}

// SealerWith is Sealer with its cache options. Like a service's, it listens for keys
// destroyed elsewhere (keystore.Listen) until the test ends: a test that gives it a long
// CacheTTL sees a destroyed key refused through the listener alone.
func SealerWith(t testing.TB, postgresURL, spec string, opts seal.Options) *seal.Sealer {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, postgresURL, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := keystore.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.ParseMasterKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	sealer := seal.NewSealer(master, store, opts)
	listenCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keystore.Listen(listenCtx, pool.Config().ConnConfig, sealer, nil) }()
	t.Cleanup(func() { stop(); <-done })
	return sealer
}

// Sealer is the stack's: its database and the master keys its services get.
func (s *Stack) Sealer(t testing.TB) *seal.Sealer {
	t.Helper()
	return Sealer(t, s.PostgresURL, s.Env["CONSENTRY_MASTER_KEYS"])
}
