package keystore_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
)

// process is one service's view of the keys: its own pool, key store and sealer, whose
// cache would keep a key for an hour if nothing evicted it — so that only the listener
// can be what stops it opening a destroyed key.
type process struct {
	pool    *pgxpool.Pool
	sealer  *seal.Sealer
	flushes atomic.Int32
}

func (p *process) Forget(subjectKey string) { p.sealer.Forget(subjectKey) }
func (p *process) ForgetAll()               { p.flushes.Add(1); p.sealer.ForgetAll() }

func newProcess(t *testing.T, url string) *process {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, url, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := keystore.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return &process{pool: pool, sealer: seal.NewSealer(mustMaster(t, k1), store, seal.Options{CacheTTL: time.Hour})}
}

// listen runs keystore.Listen for p until the test ends, and waits until it has flushed
// flushes times in all (once per connection).
func (p *process) listen(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); keystore.Listen(ctx, p.pool.Config().ConnConfig, p, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	p.awaitFlushes(t, 1)
}

func (p *process) awaitFlushes(t *testing.T, n int32) {
	t.Helper()
	eventually(t, 30*time.Second, "the listener listening", func() bool { return p.flushes.Load() >= n })
}

func destroy(t *testing.T, pool *pgxpool.Pool, subjectKeys ...string) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		_, err := keystore.Destroy(context.Background(), tx, subjectKeys)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// sealed seals identifiers of subjectKey in p and checks that q opens them (and so has
// the key in cache).
func sealed(t *testing.T, subjectKey string, p *process, qs ...*process) *schemas.Sealed {
	t.Helper()
	ctx := context.Background()
	s, err := p.sealer.Seal(ctx, "consumer", subjectKey, seal.Identifiers{Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if ids, err := q.sealer.Open(ctx, "consumer", subjectKey, s); err != nil || ids.Email != "ada@example.com" {
			t.Fatalf("before the destruction: %+v, %v", ids, err)
		}
	}
	return s
}

func refuses(t *testing.T, p *process, subjectKey string, s *schemas.Sealed) {
	t.Helper()
	eventually(t, 10*time.Second, "the destroyed key refused", func() bool {
		_, err := p.sealer.Open(context.Background(), "consumer", subjectKey, s)
		return errors.Is(err, seal.ErrShredded)
	})
}

// Attack: a key destroyed by one process (vendor-fanout closing an erasure) kept opening
// in every other process that had it in cache, for as long as the entry lived. With the
// listener, each of them — the destroying one included — refuses it within moments, by
// the notification alone: no reconnect, no flush of the whole cache.
func TestADestroyedKeyStopsOpeningInEveryProcess(t *testing.T) {
	t.Cleanup(keystore.SetQuiet(100 * time.Millisecond)) // many quiet spells: the connection survives them
	url := testkit.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	a.listen(t)
	b.listen(t)
	s := sealed(t, "sk-erased", a, a, b)
	other := sealed(t, "sk-other", a, b)
	destroy(t, a.pool, "sk-erased")
	refuses(t, b, "sk-erased", s)
	refuses(t, a, "sk-erased", s)
	if ids, err := b.sealer.Open(context.Background(), "consumer", "sk-other", other); err != nil || ids.Email != "ada@example.com" {
		t.Errorf("another subject's key: %+v, %v", ids, err)
	}
	if fa, fb := a.flushes.Load(), b.flushes.Load(); fa != 1 || fb != 1 {
		t.Errorf("flushes %d, %d: want 1 each (a listener reconnected)", fa, fb)
	}
}

// Notifications sent while a listener is not listening are lost: on connecting it drops
// the whole cache, so a key destroyed meanwhile is read again, destroyed.
func TestAListenerDropsTheCacheWhenItConnects(t *testing.T) {
	url := testkit.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	s := sealed(t, "sk-erased", a, b)
	destroy(t, a.pool, "sk-erased")
	// The attack, without the listener: the cached key still opens.
	if _, err := b.sealer.Open(context.Background(), "consumer", "sk-erased", s); err != nil {
		t.Fatalf("without a listener the cached key should still open (an hour's TTL): %v", err)
	}
	b.listen(t)
	refuses(t, b, "sk-erased", s)
}

// A listener whose connection is killed reconnects, flushes, and keeps evicting.
func TestAListenerReconnects(t *testing.T) {
	url := testkit.Postgres(t)
	a, b := newProcess(t, url), newProcess(t, url)
	b.listen(t)
	if _, err := a.pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, keystore.ListenerName); err != nil {
		t.Fatal(err)
	}
	b.awaitFlushes(t, 2)
	s := sealed(t, "sk-erased", a, b)
	destroy(t, a.pool, "sk-erased")
	refuses(t, b, "sk-erased", s)
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
