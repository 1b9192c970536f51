package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/testkit"
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
