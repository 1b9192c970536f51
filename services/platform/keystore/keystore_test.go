package keystore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var (
	k1 = masterKey("k1", 1)
	k2 = masterKey("k2", 2)
)

func masterKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func mustMaster(t *testing.T, spec string) *seal.MasterKeys {
	t.Helper()
	m, err := seal.ParseMasterKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type env struct {
	pool  *pgxpool.Pool
	store *keystore.Store
}

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, testkit.Postgres(t), 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := keystore.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return env{pool: pool, store: store}
}

// sealer is what a service configured with spec seals and opens with; its cache is off
// so that every open reads the key as the store holds it now.
func (e env) sealer(t *testing.T, spec string) *seal.Sealer {
	return seal.NewSealer(mustMaster(t, spec), e.store, seal.Options{CacheSize: 1, CacheTTL: 1})
}

func (e env) destroy(t *testing.T, subjectKeys ...string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		_, err := keystore.Destroy(ctx, tx, subjectKeys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// under counts the live keys wrapped under each master key.
func (e env) under(t *testing.T) map[string]int {
	t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT master_key_id, count(*) FROM keystore.subject_keys WHERE wrapped IS NOT NULL GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type sealedFor struct {
	subjectKey string
	sealed     *schemas.Sealed
}

func sealSubjects(t *testing.T, s *seal.Sealer, prefix string, n int) []sealedFor {
	t.Helper()
	var out []sealedFor
	for i := range n {
		sk := fmt.Sprintf("%s-%04d", prefix, i)
		sealed, err := s.Seal(context.Background(), "consumer", sk, seal.Identifiers{Email: sk + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sealedFor{sk, sealed})
	}
	return out
}

func opens(t *testing.T, s *seal.Sealer, x sealedFor) error {
	t.Helper()
	ids, err := s.Open(context.Background(), "consumer", x.subjectKey, x.sealed)
	if err == nil && ids.Email != x.subjectKey+"@example.com" {
		return fmt.Errorf("opened to %+v", ids)
	}
	return err
}

// TestRewrapFinishesARotation: keys sealed under k1, the configuration rotated to
// "k2,k1", the rewrap run: a deployment that holds only k2 opens everything, and a
// destroyed key stays destroyed.
func TestRewrapFinishesARotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sealed := sealSubjects(t, e.sealer(t, k1), "sk", 7)
	e.destroy(t, sealed[3].subjectKey)

	rotated := mustMaster(t, k2+","+k1)
	// A batch smaller than the table: the walk must carry on past the first.
	n, err := keystore.Rewrap(ctx, e.pool, rotated, 3)
	if err != nil || n != 6 {
		t.Fatalf("rewrap: %d, %v; want 6 keys rewrapped", n, err)
	}
	if got := e.under(t); got["k1"] != 0 || got["k2"] != 6 {
		t.Errorf("live keys per master key after the rewrap: %v", got)
	}
	onlyK2 := e.sealer(t, k2)
	for i, x := range sealed {
		err := opens(t, onlyK2, x)
		switch {
		case i == 3 && !errors.Is(err, seal.ErrShredded):
			t.Errorf("the destroyed key of %s: %v, want %v", x.subjectKey, err, seal.ErrShredded)
		case i != 3 && err != nil:
			t.Errorf("%s does not open with k2 alone: %v", x.subjectKey, err)
		}
	}
	if n, err := keystore.Rewrap(ctx, e.pool, rotated, 3); err != nil || n != 0 {
		t.Errorf("a second rewrap: %d, %v; want nothing to do", n, err)
	}
}

func TestRewrapNeedsTheOldMasterKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sealSubjects(t, e.sealer(t, k1), "sk", 2)
	n, err := keystore.Rewrap(ctx, e.pool, mustMaster(t, k2), 10)
	if err == nil || n != 0 || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("rewrap without k1: %d, %v; want an error naming k1", n, err)
	}
	if got := e.under(t); got["k1"] != 2 {
		t.Errorf("live keys per master key after a failed rewrap: %v", got)
	}
}

// TestRewrapAlongsideRunningServices runs two rewraps at once while a service seals new
// subjects and opens old ones, and erasures destroy keys: nothing is lost, nothing
// destroyed comes back, and every live key ends under k2.
func TestRewrapAlongsideRunningServices(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	old := sealSubjects(t, e.sealer(t, k1), "old", 300)
	doomed := map[string]bool{}
	for i := 0; i < len(old); i += 10 {
		doomed[old[i].subjectKey] = true
	}

	rotated := mustMaster(t, k2+","+k1)
	service := e.sealer(t, k2+","+k1)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		rewraps  []int
		fresh    []sealedFor
		failures []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for range 2 {
		wg.Go(func() {
			n, err := keystore.Rewrap(ctx, e.pool, rotated, 16)
			if err != nil {
				fail(err)
			}
			mu.Lock()
			rewraps = append(rewraps, n)
			mu.Unlock()
		})
	}
	wg.Go(func() {
		for i := range 150 {
			sk := fmt.Sprintf("new-%04d", i)
			sealed, err := service.Seal(ctx, "consumer", sk, seal.Identifiers{Email: sk + "@example.com"})
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			fresh = append(fresh, sealedFor{sk, sealed})
			mu.Unlock()
			if x := old[(i*7)%len(old)]; !doomed[x.subjectKey] {
				if _, err := service.Open(ctx, "consumer", x.subjectKey, x.sealed); err != nil {
					fail(fmt.Errorf("%s during the rewrap: %w", x.subjectKey, err))
				}
			}
		}
	})
	wg.Go(func() {
		for sk := range doomed {
			err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				_, err := keystore.Destroy(ctx, tx, []string{sk})
				return err
			})
			if err != nil {
				fail(err)
			}
		}
	})
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(errors.Join(failures...))
	}
	if total := rewraps[0] + rewraps[1]; total < len(old)-len(doomed) || total > len(old) {
		t.Errorf("the two rewraps rewrapped %v keys between them, want %d to %d", rewraps, len(old)-len(doomed), len(old))
	}
	if got := e.under(t); got["k1"] != 0 || got["k2"] != len(old)-len(doomed)+len(fresh) {
		t.Errorf("live keys per master key: %v, want all %d under k2", got, len(old)-len(doomed)+len(fresh))
	}
	onlyK2 := e.sealer(t, k2)
	for _, x := range append(old, fresh...) {
		err := opens(t, onlyK2, x)
		switch {
		case doomed[x.subjectKey] && !errors.Is(err, seal.ErrShredded):
			t.Errorf("destroyed %s: %v, want %v", x.subjectKey, err, seal.ErrShredded)
		case !doomed[x.subjectKey] && err != nil:
			t.Errorf("%s does not open with k2 alone: %v", x.subjectKey, err)
		}
	}
}
