package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

// rowAt is a consent event at a partition and offset of the consents topic.
func rowAt(t *testing.T, partition int, offset int64) Row {
	t.Helper()
	return eventAt(t, newID(t), partition, offset)
}

// eventAt is event id at a partition and offset of the consents topic.
func eventAt(t *testing.T, id string, partition int, offset int64) Row {
	t.Helper()
	at := time.Date(2026, 11, 28, 21, 0, 0, 123456789, time.UTC) // nanoseconds: PostgreSQL keeps micros
	r, err := Prepare(audit.Record{EventID: id, EventType: audit.TypeConsentChanged, Tenant: "consumer", SubjectKey: "k",
		OccurredAt: at, RecordedAt: at.Add(time.Second), Source: "gpc", PolicyVersion: "2025-04-09", Topic: "consent.events.v1",
		Partition: partition, Offset: offset, SchemaID: 101, Payload: []byte{0, 0, 0, 0, 101, byte(offset)},
		Details: map[string]any{"purposes": map[string]string{"advertising": "denied", "sale_share": "denied"},
			"identifiers_sealed": true, "attempts": 3, "note": "<&>"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rowsAt(t *testing.T, partition int, from, to int64) []Row {
	var out []Row
	for o := from; o < to; o++ {
		out = append(out, rowAt(t, partition, o))
	}
	return out
}

// copyUnchained writes rows as audit-sink did before the hash chain: a plain copy of
// the event columns.
func copyUnchained(t *testing.T, pool *pgxpool.Pool, rows ...Row) {
	t.Helper()
	n := len(columns) - chainColumns
	if _, err := pool.CopyFrom(context.Background(), pgx.Identifier{"audit", "events"}, columns[:n],
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return rows[i].values[:n], nil })); err != nil {
		t.Fatal(err)
	}
}

func mustInsert(t *testing.T, s *Store, rows []Row, want int64) {
	t.Helper()
	if n, err := s.Insert(context.Background(), rows); err != nil || n != want {
		t.Fatalf("inserted %d, err %v; want %d", n, err, want)
	}
}

func mustVerify(t *testing.T, s *Store) chain.Report {
	t.Helper()
	r, err := s.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// position is a row's place in its chain.
type position struct {
	chain  string
	seq    int64
	offset int64
}

// positions lists the log's rows in storage order.
func positions(t *testing.T, pool *pgxpool.Pool) []position {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT coalesce(chain, ''), coalesce(chain_seq, 0), kafka_offset FROM audit.events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (position, error) {
		var p position
		return p, r.Scan(&p.chain, &p.seq, &p.offset)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantChain checks that chain c holds exactly seqs 1..n.
func wantChain(t *testing.T, pool *pgxpool.Pool, c string, n int64) {
	t.Helper()
	var count, lo, hi int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(min(chain_seq), 0), coalesce(max(chain_seq), 0)
		FROM audit.events WHERE chain = $1`, c).Scan(&count, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if count != n || (n > 0 && (lo != 1 || hi != n)) {
		t.Fatalf("chain %s holds %d rows, seq %d..%d; want 1..%d", c, count, lo, hi, n)
	}
}

func TestInsertChainsEachPartitionAndVerifies(t *testing.T) {
	s, pool := openStore(t)
	// Batches interleave partitions, as a consumer's do.
	mustInsert(t, s, append(rowsAt(t, 0, 0, 3), rowsAt(t, 1, 0, 2)...), 5)
	mustInsert(t, s, append(rowsAt(t, 1, 2, 4), rowsAt(t, 0, 3, 5)...), 4)
	wantChain(t, pool, "consent.events.v1/0", 5)
	wantChain(t, pool, "consent.events.v1/1", 4)
	for _, p := range positions(t, pool) {
		if p.seq != p.offset+1 {
			t.Errorf("%s offset %d at chain_seq %d; the chain follows the partition's offsets", p.chain, p.offset, p.seq)
		}
	}
	r := mustVerify(t, s)
	if !r.OK || r.Rows != 9 || len(r.Chains) != 2 || r.Chains[0].HeadSeq != 5 || r.Chains[1].HeadSeq != 4 {
		t.Fatalf("report %+v", r)
	}
	heads, err := s.Heads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 2 || heads[0].Chain != "consent.events.v1/0" || heads[0].Seq != 5 || heads[0].Hash.String() != r.Chains[0].HeadHash {
		t.Fatalf("heads %+v", heads)
	}
}

// A redelivered batch (the same offsets, after a crash or rebalance) and a producer's
// retry (the same event at a new offset) are each audited once: neither forks nor
// extends the chain, and what is new in such a batch still joins it without a gap.
func TestDuplicatesNeitherForkNorExtendTheChain(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	first := rowsAt(t, 0, 0, 4)
	mustInsert(t, s, first, 4)
	before, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}

	mustInsert(t, s, first, 0)                  // redelivered whole
	mustInsert(t, s, first[2:], 0)              // redelivered from a later commit point
	retry := eventAt(t, first[1].eventID, 0, 4) // the producer sent event 1 again; Kafka gave it offset 4
	mustInsert(t, s, []Row{retry}, 0)
	after, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after[0].Seq != before[0].Seq || after[0].Hash != before[0].Hash {
		t.Fatalf("head moved from %d to %d on duplicates alone", before[0].Seq, after[0].Seq)
	}

	// Old, retried and new events in one batch, one of the new ones twice.
	fresh := rowsAt(t, 0, 5, 8)
	mixed := append(append([]Row{first[3], retry}, fresh...), fresh[1])
	mustInsert(t, s, mixed, 3)
	wantChain(t, pool, "consent.events.v1/0", 7)
	if r := mustVerify(t, s); !r.OK || r.Rows != 7 {
		t.Fatalf("report %+v", r)
	}
	var lastOffset int64
	if err := pool.QueryRow(ctx, `SELECT last_offset FROM audit.chain_heads`).Scan(&lastOffset); err != nil || lastOffset != 7 {
		t.Fatalf("last_offset %d (%v), want 7", lastOffset, err)
	}
}

// Offsets that went back (a topic deleted and created again) are not taken for
// redeliveries: the events are new to the log, so they are appended, not lost.
func TestEventsBelowTheHeadThatAreNotInTheLogAreKept(t *testing.T) {
	s, pool := openStore(t)
	mustInsert(t, s, rowsAt(t, 0, 0, 5), 5)
	mustInsert(t, s, rowsAt(t, 0, 0, 2), 2)
	wantChain(t, pool, "consent.events.v1/0", 7)
	if r := mustVerify(t, s); !r.OK {
		t.Fatalf("report %+v", r)
	}
}

// Two consumers that both believe they own a partition (a rebalance in flight) write
// through the head lock one after the other: one chain, no gap, each event once.
func TestConcurrentInsertsIntoOneChainSerialise(t *testing.T) {
	s, pool := openStore(t)
	batches := [][]Row{rowsAt(t, 0, 0, 200), rowsAt(t, 0, 200, 400), rowsAt(t, 0, 400, 600)}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(batches))
	for range 2 { // each batch from both owners
		for _, b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Insert(context.Background(), b); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantChain(t, pool, "consent.events.v1/0", 600)
	if r := mustVerify(t, s); !r.OK || r.Rows != 600 {
		t.Fatalf("report %+v", r)
	}
}

func TestTheLogIsInsertOnly(t *testing.T) {
	s, pool := openStore(t)
	ctx := context.Background()
	mustInsert(t, s, rowsAt(t, 0, 0, 2), 2)
	if !s.writer {
		t.Fatal("the login role was not made a member of " + writerRole)
	}
	for _, sql := range []string{
		`UPDATE audit.events SET payload = '\x00' WHERE kafka_offset = 0`,
		`UPDATE audit.events SET chain_seq = chain_seq + 10`,
		`DELETE FROM audit.events WHERE kafka_offset = 1`,
		`TRUNCATE audit.events`,
	} {
		_, err := pool.Exec(ctx, sql) // as the owner, even a superuser: the trigger stops it
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "42501" {
			t.Errorf("%s: err %v, want the append-only trigger's 42501", sql, err)
		}
	}
	// The role audit-sink writes as does not even hold the privilege.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE `+writerRole); err != nil {
			return err
		}
		var update, del, truncate, insert bool
		if err := tx.QueryRow(ctx, `SELECT has_table_privilege('audit.events', 'UPDATE'), has_table_privilege('audit.events', 'DELETE'),
			has_table_privilege('audit.events', 'TRUNCATE'), has_table_privilege('audit.events', 'INSERT')`).Scan(&update, &del, &truncate, &insert); err != nil {
			return err
		}
		if update || del || truncate || !insert {
			return fmt.Errorf("%s may update %v, delete %v, truncate %v, insert %v", writerRole, update, del, truncate, insert)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// And audit-sink does write as that role: without its INSERT, a batch fails.
	if _, err := pool.Exec(ctx, `REVOKE INSERT ON audit.events FROM `+writerRole); err != nil {
		t.Fatal(err)
	}
	_, err = s.Insert(ctx, rowsAt(t, 0, 2, 3))
	if _, gerr := pool.Exec(ctx, `GRANT INSERT ON audit.events TO `+writerRole); gerr != nil {
		t.Fatal(gerr)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "42501" {
		t.Fatalf("insert without the role's privilege: %v, want permission denied", err)
	}
	if r := mustVerify(t, s); !r.OK || r.Rows != 2 {
		t.Fatalf("report %+v", r)
	}
}

// tamper runs sql as a superuser who switches the append-only trigger off.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Changing, deleting or inserting a row behind the trigger's back is reported at the
// chain and position where it happened.
func TestVerifyFindsTampering(t *testing.T) {
	const c0, c1 = "consent.events.v1/0", "consent.events.v1/1"
	cases := []struct {
		name  string
		do    func(t *testing.T, pool *pgxpool.Pool, eventAt func(chain string, seq int64) string)
		chain string
		seq   int64
		kind  string
	}{
		{"payload changed", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `UPDATE audit.events SET payload = '\x00000000650a' WHERE chain = $1 AND chain_seq = 3`, c1)
		}, c1, 3, chain.HashMismatch},
		{"details changed", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `UPDATE audit.events SET details = jsonb_set(details, '{purposes,advertising}', '"granted"')
				WHERE chain = $1 AND chain_seq = 2`, c0)
		}, c0, 2, chain.HashMismatch},
		{"source changed", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `UPDATE audit.events SET source = 'cmp' WHERE chain = $1 AND chain_seq = 4`, c0)
		}, c0, 4, chain.HashMismatch},
		{"row deleted", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `DELETE FROM audit.events WHERE chain = $1 AND chain_seq = 2`, c1)
		}, c1, 2, chain.Gap},
		{"last row deleted", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `DELETE FROM audit.events WHERE chain = $1 AND chain_seq = 4`, c1)
		}, c1, 4, chain.HeadMismatch},
		{"row deleted and the rest renumbered", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `DELETE FROM audit.events WHERE chain = $1 AND chain_seq = 2`, c0)
			tamper(t, pool, `UPDATE audit.events SET chain_seq = -chain_seq WHERE chain = $1 AND chain_seq > 2`, c0)
			tamper(t, pool, `UPDATE audit.events SET chain_seq = -chain_seq - 1 WHERE chain = $1 AND chain_seq < 0`, c0)
		}, c0, 2, chain.PrevMismatch},
		{"forged row linked after the last", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			forge(t, pool, c0, 5, rowAt(t, 0, 5))
		}, c0, 6, chain.HeadMismatch},
		{"forged row linked in the middle, the rest renumbered", func(t *testing.T, pool *pgxpool.Pool, _ func(string, int64) string) {
			tamper(t, pool, `UPDATE audit.events SET chain_seq = -chain_seq - 1 WHERE chain = $1 AND chain_seq > 2`, c0)
			tamper(t, pool, `UPDATE audit.events SET chain_seq = -chain_seq WHERE chain = $1 AND chain_seq < 0`, c0)
			forge(t, pool, c0, 2, rowAt(t, 0, 2))
		}, c0, 4, chain.PrevMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, pool := openStore(t)
			mustInsert(t, s, append(rowsAt(t, 0, 0, 5), rowsAt(t, 1, 0, 4)...), 9)
			if r := mustVerify(t, s); !r.OK {
				t.Fatalf("before tampering: %+v", r)
			}
			tc.do(t, pool, nil)
			r := mustVerify(t, s)
			if r.OK {
				t.Fatal("the tampered log verifies")
			}
			for _, c := range r.Chains {
				switch {
				case c.Chain != tc.chain && !c.OK:
					t.Errorf("untouched chain %s reported broken: %+v", c.Chain, c.Break)
				case c.Chain == tc.chain && (c.Break == nil || c.Break.Kind != tc.kind || c.Break.Seq != tc.seq):
					t.Errorf("%s: break %+v, want %s at %d", c.Chain, c.Break, tc.kind, tc.seq)
				}
			}
		})
	}
	t.Run("row inserted outside any chain", func(t *testing.T) {
		s, pool := openStore(t)
		mustInsert(t, s, rowsAt(t, 0, 0, 3), 3)
		forged := rowAt(t, 0, 3)
		copyUnchained(t, pool, forged) // an INSERT the trigger lets through, but no chain covers
		r := mustVerify(t, s)
		if r.OK || r.Unchained != 1 || r.FirstUnchained == nil || r.FirstUnchained.EventID != forged.eventID {
			t.Fatalf("report %+v, want the forged row named", r)
		}
	})
}

// forge inserts r into chain c after position after, linked to the row there as the
// writer would have linked it — what someone who knows the scheme but cannot move the
// head (or its anchored copy) would do.
func forge(t *testing.T, pool *pgxpool.Pool, c string, after int64, r Row) {
	t.Helper()
	var prev []byte
	if err := pool.QueryRow(context.Background(), `SELECT hash FROM audit.events WHERE chain = $1 AND chain_seq = $2`, c, after).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	p, _ := chain.HashOf(prev)
	h := chain.Link(p, r.canonical)
	v := r.values[len(columns)-chainColumns:]
	v[0], v[1], v[2], v[3] = c, after+1, prev, h[:]
	if _, err := pool.CopyFrom(context.Background(), pgx.Identifier{"audit", "events"}, columns, pgx.CopyFromRows([][]any{r.values})); err != nil {
		t.Fatal(err)
	}
}

// A log written before the chain is chained when audit-sink opens it, per partition in
// offset order, and new batches carry each chain on.
func TestOpenChainsALogWrittenBeforeTheChain(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	old := fstest.MapFS{}
	for _, f := range []string{"0001_events.sql", "0002_privacy_requests.sql"} {
		b, err := migrations.ReadFile("migrations/" + f)
		if err != nil {
			t.Fatal(err)
		}
		old[f] = &fstest.MapFile{Data: b}
	}
	if err := postgres.Migrate(ctx, pool, "audit-sink", old); err != nil {
		t.Fatal(err)
	}
	p0, p1 := rowsAt(t, 0, 0, 4), rowsAt(t, 1, 0, 3)
	// Stored out of offset order, as batches handled one by one after a failure can be.
	copyUnchained(t, pool, p0[1], p1[0], p0[0], p1[1], p0[3], p0[2], p1[2])

	s, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	wantChain(t, pool, "consent.events.v1/0", 4)
	wantChain(t, pool, "consent.events.v1/1", 3)
	for _, p := range positions(t, pool) {
		if p.seq != p.offset+1 {
			t.Errorf("%s offset %d chained at %d, want offset order", p.chain, p.offset, p.seq)
		}
	}
	if r := mustVerify(t, s); !r.OK || r.Rows != 7 {
		t.Fatalf("report %+v", r)
	}
	// A redelivery of the old offsets changes nothing; the next offsets carry on.
	mustInsert(t, s, append(p0[2:], rowsAt(t, 0, 4, 6)...), 2)
	wantChain(t, pool, "consent.events.v1/0", 6)
	if _, err := Open(ctx, pool); err != nil { // a restart finds nothing left to chain
		t.Fatal(err)
	}
	if r := mustVerify(t, s); !r.OK || r.Rows != 9 {
		t.Fatalf("report %+v", r)
	}
}
