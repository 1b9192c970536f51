package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

// recordColumns read a row back as the chain committed to it (chain.Record).
const recordColumns = `coalesce(chain, ''), coalesce(chain_seq, 0), prev_hash, hash, event_id::text, event_type, tenant, subject_key,
	request_id::text, source_event_id::text, occurred_at, recorded_at, source, policy_version, topic, kafka_partition,
	kafka_offset, schema_id, payload, details::text`

// scanRow scans a row of recordColumns, after the columns before points to.
func scanRow(rows pgx.Rows, before ...any) (chain.Row, error) {
	var (
		r                  chain.Row
		occurred, recorded *time.Time
		partition          int32
		schemaID           *int32
	)
	c := &r.Record
	if err := rows.Scan(append(before, &r.Chain, &r.Seq, &r.PrevHash, &r.Hash, &c.EventID, &c.EventType, &c.Tenant, &c.SubjectKey,
		&c.RequestID, &c.SourceEventID, &occurred, &recorded, &c.Source, &c.PolicyVersion, &c.Topic, &partition,
		&c.Offset, &schemaID, &c.Payload, &c.Details)...); err != nil {
		return r, err
	}
	var err error
	if c.Details, err = chain.CanonicalJSON(c.Details); err != nil {
		return r, err
	}
	c.Partition = int64(partition)
	c.OccurredAt, c.RecordedAt = micros(occurred), micros(recorded)
	if schemaID != nil {
		id := int64(*schemaID)
		c.SchemaID = &id
	}
	return r, nil
}

func micros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

// Verify recomputes every chain from the stored rows and checks it ends at its head
// (chain.Verifier). Heads and rows are read in one snapshot, so that batches committed
// meanwhile are either wholly in it or not at all; the rows stream through, a log of
// any size in constant memory.
func (s *Store) Verify(ctx context.Context) (chain.Report, error) {
	var report chain.Report
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		heads, err := heads(ctx, tx)
		if err != nil {
			return err
		}
		v := chain.NewVerifier(heads)
		rows, err := tx.Query(ctx, `SELECT `+recordColumns+` FROM audit.events ORDER BY chain, chain_seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRow(rows)
			if err != nil {
				return err
			}
			if err := v.Add(r); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		report = v.Report()
		return nil
	})
	return report, err
}

// Heads returns every chain's head, for anchoring outside the database.
func (s *Store) Heads(ctx context.Context) ([]chain.Head, error) {
	return heads(ctx, s.pool)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func heads(ctx context.Context, q querier) ([]chain.Head, error) {
	rows, err := q.Query(ctx, `SELECT chain, seq, hash, updated_at FROM audit.chain_heads ORDER BY chain`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (chain.Head, error) {
		var (
			h    chain.Head
			hash []byte
		)
		if err := row.Scan(&h.Chain, &h.Seq, &hash, &h.At); err != nil {
			return h, err
		}
		var ok bool
		if h.Hash, ok = chain.HashOf(hash); !ok {
			return h, fmt.Errorf("audit-sink: chain head %s holds a malformed hash", h.Chain)
		}
		return h, nil
	})
}

// sealChunk bounds the rows one UPDATE of sealUnchained carries.
const sealChunk = 5000

// sealUnchained chains the rows a log written before the hash chain holds (and any an
// older audit-sink wrote during a rolling upgrade): per chain, in offset order, after
// the chain's head, under the head's lock. Only those rows' chain columns are set, the
// one change the append-only trigger allows. It runs at Open, before the consumer.
func sealUnchained(ctx context.Context, pool *pgxpool.Pool) error {
	var some bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit.events WHERE chain IS NULL)`).Scan(&some); err != nil || !some {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		found, err := tx.Query(ctx, `SELECT DISTINCT topic, kafka_partition FROM audit.events WHERE chain IS NULL`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(found, func(row pgx.CollectableRow) (string, error) {
			var (
				topic     string
				partition int
			)
			err := row.Scan(&topic, &partition)
			return chain.Name(topic, partition), err
		})
		if err != nil {
			return err
		}
		locked, err := lockHeads(ctx, tx, sortedUnique(names), "")
		if err != nil {
			return err
		}
		type seal struct {
			seq, chainSeq int64
			chain         string
			prev, hash    chain.Hash
		}
		var seals []seal
		rows, err := tx.Query(ctx, `SELECT seq, `+recordColumns+` FROM audit.events WHERE chain IS NULL
			ORDER BY topic, kafka_partition, kafka_offset, seq`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int64
			r, err := scanRow(rows, &seq)
			if err != nil {
				rows.Close()
				return err
			}
			name := chain.Name(r.Record.Topic, int(r.Record.Partition))
			h := locked[name]
			if h == nil {
				continue // written after the chains were listed; the next Open chains it
			}
			next := chain.Link(h.hash, r.Record.Canonical())
			h.seq++
			seals = append(seals, seal{seq: seq, chainSeq: h.seq, chain: name, prev: h.hash, hash: next})
			h.hash, h.lastOffset, h.moved = next, max(h.lastOffset, r.Record.Offset), true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for start := 0; start < len(seals); start += sealChunk {
			part := seals[start:min(len(seals), start+sealChunk)]
			var (
				seqs, chainSeqs []int64
				chains          []string
				prevs, hashes   [][]byte
			)
			for i := range part {
				p := &part[i]
				seqs, chainSeqs, chains = append(seqs, p.seq), append(chainSeqs, p.chainSeq), append(chains, p.chain)
				prevs, hashes = append(prevs, p.prev[:]), append(hashes, p.hash[:])
			}
			if _, err := tx.Exec(ctx, `UPDATE audit.events e SET chain = u.chain, chain_seq = u.chain_seq, prev_hash = u.prev, hash = u.hash
				FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[]) u (seq, chain, chain_seq, prev, hash)
				WHERE e.seq = u.seq AND e.chain IS NULL`, seqs, chains, chainSeqs, prevs, hashes); err != nil {
				return err
			}
		}
		return saveHeads(ctx, tx, locked)
	})
}
