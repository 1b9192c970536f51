package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/postgres"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestConcurrentMigrationsOfManyComponents: services starting together each migrate
// their own schema; none may fail on the shared bookkeeping, and each file runs once.
func TestConcurrentMigrationsOfManyComponents(t *testing.T) {
	ctx := context.Background()
	url := testkit.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := postgres.Connect(ctx, url, 2, nil)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			component := fmt.Sprintf("c%d", i%4) // four services, four replicas each
			fsys := fstest.MapFS{
				"0001_init.sql": {Data: []byte(fmt.Sprintf("CREATE SCHEMA %s; CREATE TABLE %s.t (v int);", component, component))},
				"0002_more.sql": {Data: []byte(fmt.Sprintf("ALTER TABLE %s.t ADD COLUMN w int;", component))},
			}
			errs <- postgres.Migrate(ctx, pool, component, fsys)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	pool, err := postgres.Connect(ctx, url, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM public.consentry_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("%d migrations recorded, want 8 (2 files x 4 components, each once)", n)
	}
}

func TestUUIDArgument(t *testing.T) {
	if got := postgres.UUID(""); got != nil {
		t.Errorf("UUID(\"\") = %v, want nil (NULL)", got)
	}
	const id = "0190c2a1-7b3c-7b3c-8d41-2f7a9e5c1d04"
	u, ok := postgres.UUID(id).(pgtype.UUID)
	if !ok || !u.Valid || fmt.Sprintf("%x", u.Bytes) != "0190c2a17b3c7b3c8d412f7a9e5c1d04" {
		t.Errorf("UUID(%q) = %#v, want its 16 bytes", id, postgres.UUID(id))
	}
	if got := postgres.UUID("not-a-uuid"); got != "not-a-uuid" {
		t.Errorf("UUID of a non-UUID = %#v, want the string itself", got)
	}
}
