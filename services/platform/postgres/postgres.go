// Package postgres connects services to PostgreSQL and applies their schema migrations.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Connect opens a pool and waits, with backoff, until the database answers or ctx ends:
// at start-up the database may still be coming up, and a service that exits on the first
// refused connection only adds restart noise.
func Connect(ctx context.Context, url string, maxConns int32, log *slog.Logger) (*pgxpool.Pool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", redact(err))
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", redact(err))
	}
	wait := 100 * time.Millisecond
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := pool.Ping(pingCtx)
		cancel()
		if err == nil {
			return pool, nil
		}
		log.Warn("postgres not reachable yet", "error", redact(err), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, fmt.Errorf("postgres: not reachable: %w", redact(err))
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// redact strips the connection string (which carries the password) from pgx errors.
func redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "postgres://"); i >= 0 {
		msg = msg[:i] + "<url>"
	}
	if i := strings.Index(msg, "postgresql://"); i >= 0 {
		msg = msg[:i] + "<url>"
	}
	return fmt.Errorf("%s", msg)
}

// MigrateDir applies the migrations in directory dir of fsys (typically an embed.FS
// holding migrations/*.sql); see Migrate.
func MigrateDir(ctx context.Context, pool *pgxpool.Pool, component string, fsys fs.FS, dir string) error {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fmt.Errorf("postgres: migrations of %s: %w", component, err)
	}
	return Migrate(ctx, pool, component, sub)
}

// Migrate applies the *.sql files of fsys in the order of their numeric prefix
// (0001_init.sql, 0002_...) that component has not applied yet, each in its own
// transaction. Every service migrates at start, so the whole run holds one session-level
// advisory lock: replicas and services starting together take turns instead of racing on
// the shared bookkeeping table.
func Migrate(ctx context.Context, pool *pgxpool.Pool, component string, fsys fs.FS) error {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return err
	}
	type migration struct {
		version int
		file    string
	}
	var ms []migration
	for _, f := range files {
		prefix, _, _ := strings.Cut(path.Base(f), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return fmt.Errorf("postgres: migration %s has no numeric prefix", f)
		}
		ms = append(ms, migration{v, f})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('consentry_migrations'))`); err != nil {
		return fmt.Errorf("postgres: migrate %s: lock: %w", component, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('consentry_migrations'))`)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.consentry_migrations (
		component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("postgres: create migrations table: %w", err)
	}
	for _, m := range ms {
		sql, err := fs.ReadFile(fsys, m.file)
		if err != nil {
			return err
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public.consentry_migrations WHERE component=$1 AND version=$2)`,
				component, m.version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("%s: %w", m.file, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO public.consentry_migrations (component, version) VALUES ($1, $2)`, component, m.version)
			return err
		}); err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", component, err)
		}
	}
	return nil
}

// IsDataError reports whether err is PostgreSQL rejecting the data itself — a data
// exception (SQLSTATE class 22, e.g. invalid text) or an integrity violation (class 23)
// — which no retry can fix, as opposed to the database being unreachable or busy.
func IsDataError(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || len(pg.Code) < 2 {
		return false
	}
	return pg.Code[:2] == "22" || pg.Code[:2] == "23"
}

// UUID is s as a uuid argument, NULL when s is empty. pgx puts a Go string into a binary
// uuid column (COPY) only after a failed first attempt whose error it formats, which cost
// more than the copy itself; a parsed value goes straight through. An s that is not a
// UUID goes on as it is and fails as it always did: callers validate ids first.
func UUID(s string) any {
	if s == "" {
		return nil
	}
	var u pgtype.UUID
	if err := u.Scan(s); err != nil {
		return s
	}
	return u
}
