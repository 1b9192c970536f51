package keystore

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL notification channel Destroy notifies, one notification per
// destroyed key, its payload the subject key (a pseudonym, never an identifier).
const Channel = "consentry_key_destroyed"

// Invalidator is a cache of unwrapped data keys that Listen keeps from outliving their
// destruction: seal.Sealer.
type Invalidator interface {
	// Forget drops one subject's key.
	Forget(subjectKey string)
	// ForgetAll drops every key.
	ForgetAll()
}

// ListenerName is the application_name of the connection Listen holds, so that an
// operator (or a test) can tell it apart in pg_stat_activity.
const ListenerName = "consentry-keystore-listener"

// quiet is how long the listener waits for a notification before it pings.
var quiet = 30 * time.Second

// Listen makes every process that caches data keys stop opening a destroyed key within
// moments of the transaction that destroyed it, rather than when the cache entry
// expires: each notification Destroy sends on Channel evicts that subject's key from
// cache. It holds one dedicated connection (a LISTEN on a pooled connection would be
// lost when the pool recycles it) until ctx ends, and reconnects when it drops.
// Notifications sent while it was not listening are lost, so on every (re)connect, once
// LISTEN is in place, it drops the whole cache: keys are read again from the table,
// where a destroyed key stays destroyed. While it is disconnected the cache's short TTL
// (seal.Options.CacheTTL) is what bounds a stale key.
func Listen(ctx context.Context, cfg *pgx.ConnConfig, cache Invalidator, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = ListenerName
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		listening, err := listen(ctx, cfg, cache)
		if ctx.Err() != nil {
			return
		}
		if listening {
			wait = 100 * time.Millisecond
		}
		log.Warn("key destruction listener disconnected; destroyed keys are evicted by the cache TTL until it reconnects",
			"error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// listen connects, listens and evicts until the connection fails; listening reports
// whether LISTEN was in place.
func listen(ctx context.Context, cfg *pgx.ConnConfig, cache Invalidator) (listening bool, err error) {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(connectCtx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, err
	}
	cache.ForgetAll()
	for {
		// A connection that went silently dead (a dropped NAT entry) raises no error
		// of its own: a ping after a quiet spell finds out.
		waitCtx, cancel := context.WithTimeout(ctx, quiet)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			cache.Forget(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case waitCtx.Err() != nil:
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
