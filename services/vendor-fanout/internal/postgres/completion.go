package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// Announcer returns the record that announces c. The store writes it to the outbox in
// the transaction that records what completed the request, so that the completion is
// neither lost nor written twice.
type Announcer func(c fanout.Completion) (kafka.Message, error)

// ErrUnannounced wraps an Announcer's failure. The result that completed the request is
// not recorded without its announcement: it is retried, like a result the database
// rejected, and must not hold back the other results of its batch.
var ErrUnannounced = errors.New("the completion of a privacy request could not be announced")

// complete announces, once, each of the requests (by decision event id) that has no open
// delivery and no open manual task left, and destroys the data key of each erasure among
// them (fanout.Shreds).
func (s *Store) complete(ctx context.Context, tx pgx.Tx, eventIDs []string) error {
	return s.close(ctx, tx, eventIDs, time.Time{})
}

// close is complete, or, when deadline is set, closes the requests that
// fanout.ClosesAtDeadline at that time whatever they still have open (the caller ended
// their open deliveries first), and shreds the erasures closed before without their key
// destroyed.
//
// Two transactions that each record the last-but-one result of a request must not both
// see the other's delivery still open, nor may both announce. So the decision row is
// locked first, and only then, in a later statement — which under READ COMMITTED sees
// every transaction that committed before the lock was granted — are the deliveries
// checked: the second of the two waits for the first and sees its result, and sees the
// completion if the first wrote it.
func (s *Store) close(ctx context.Context, tx pgx.Tx, eventIDs []string, deadline time.Time) error {
	if s.announce == nil || len(eventIDs) == 0 {
		return nil
	}
	ids := make([]pgtype.UUID, len(eventIDs))
	for i, id := range eventIDs {
		ids[i] = uuidValue(id)
	}
	// In event id order, like every writer of decision rows, so no two wait in a cycle.
	rows, err := tx.Query(ctx, `SELECT event_id FROM fanout.decisions
		WHERE event_id = ANY($1) AND kind = 'request' AND (completed_at IS NULL OR completion = 'partially_completed')
		ORDER BY event_id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	open, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID])
	if err != nil || len(open) == 0 {
		return err
	}
	atDeadline := !deadline.IsZero()
	rows, err = tx.Query(ctx, `SELECT d.event_id::text, d.tenant, d.subject_key, coalesce(d.request_type, ''),
			coalesce(d.request_id::text, d.event_id::text), d.occurred_at, d.recorded_at, d.policy_version,
			d.sealed_scheme, d.sealed_nonce, d.sealed_ciphertext, coalesce(d.reason, ''), coalesce(d.jurisdiction, ''),
			coalesce(d.scope, ''), d.deadline_at,
			(SELECT count(*) FROM fanout.deliveries x WHERE x.event_id = d.event_id),
			(SELECT jsonb_agg(jsonb_build_object('instance', x.instance, 'action', x.action,
					'outcome', coalesce(x.outcome, x.state), 'http_status', coalesce(x.http_status, 0)) ORDER BY x.instance, x.action)
				FROM fanout.deliveries x
				WHERE x.event_id = d.event_id AND (x.state = 'dead' OR x.outcome IS NULL OR x.outcome <> ALL($2))),
			coalesce(d.completion, '')
		FROM fanout.decisions d
		WHERE d.event_id = ANY($1)
		  AND ($3 OR (
			NOT EXISTS (SELECT 1 FROM fanout.deliveries x WHERE x.event_id = d.event_id AND x.state IN ('pending', 'polling'))
			AND NOT EXISTS (SELECT 1 FROM fanout.manual_tasks t WHERE t.event_id = d.event_id AND t.status = 'open')))
		ORDER BY d.event_id`, open, fanout.CarriedOut(), atDeadline)
	if err != nil {
		return err
	}
	all, err := pgx.CollectRows(rows, scanCompletion)
	if err != nil {
		return err
	}
	var (
		done, shredded []pgtype.UUID
		statuses       []string
		topics         []string
		keys, vals     [][]byte
		shred          []string
	)
	for _, c := range all {
		if atDeadline {
			// Under the lock: an extension recorded since the sweeper looked moves it on.
			if c.Previous == "" && !fanout.ClosesAtDeadline(c.Request, deadline) {
				continue
			}
			c.AtDeadline = c.Previous == ""
		}
		if fanout.Shreds(c) {
			shred = append(shred, c.Request.SubjectKey)
			shredded = append(shredded, uuidValue(c.Request.EventID))
		}
		if !c.Announces() {
			continue
		}
		m, err := s.announce(c)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnannounced, err)
		}
		done, statuses = append(done, uuidValue(c.Request.EventID)), append(statuses, c.Status())
		topics, keys, vals = append(topics, m.Topic), append(keys, m.Key), append(vals, m.Value)
	}
	if len(shred) > 0 {
		// In the transaction that announces it: the completion event says the key is gone.
		if _, err := keystore.Destroy(ctx, tx, shred); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE fanout.decisions SET shredded_at = now() WHERE event_id = ANY($1) AND shredded_at IS NULL`,
			shredded); err != nil {
			return err
		}
	}
	if len(done) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE fanout.decisions d SET completion = c.status, completed_at = now()
		FROM unnest($1::uuid[], $2::text[]) AS c(event_id, status) WHERE d.event_id = c.event_id`, done, statuses); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO fanout.outbox (topic, key, value)
		SELECT topic, key, value FROM unnest($1::text[], $2::bytea[], $3::bytea[]) WITH ORDINALITY AS r(topic, key, value, ord)
		ORDER BY ord`, topics, keys, vals)
	return err
}

// Shred destroys the data keys of subjects whose erasure an announcement on Kafka says
// is closed (fanout.ClosedErasure): a no-op for keys already destroyed; after a restore
// from a backup older than the erasure, it destroys the key the backup brought back.
func (s *Store) Shred(ctx context.Context, subjectKeys []string) (int, error) {
	if len(subjectKeys) == 0 {
		return 0, nil
	}
	var destroyed []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		destroyed, err = keystore.Destroy(ctx, tx, subjectKeys)
		return err
	})
	return len(destroyed), err
}

// DeadlineError is the last error of a delivery the request's legal deadline cut short.
const DeadlineError = "the erasure's legal deadline passed before this vendor carried it out: the request was closed " +
	"and the subject's data key destroyed, so a replay can no longer open the identifiers"

// sweepLock names the advisory lock that lets one sweeper at a time run, however many
// replicas of vendor-fanout there are.
const sweepLock = 0x636f6e7344656164 // "consDead"

// CloseOverdue closes up to limit erasures past their legal deadline at now, in one
// transaction, and returns how many it closed or shredded: their deliveries still open
// are dead-lettered (each named, as not carried out, in the completion), the request is
// announced partially completed, and the subject's key destroyed. It also destroys the
// key of any erasure closed before without it (one recorded before shredding followed
// partial completions). It returns 0 while another replica sweeps.
func (s *Store) CloseOverdue(ctx context.Context, now time.Time, limit int) (int, error) {
	if s.announce == nil {
		return 0, nil
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(sweepLock)).Scan(&mine); err != nil || !mine {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT event_id::text FROM fanout.decisions
			WHERE kind = 'request' AND request_type = 'erasure' AND shredded_at IS NULL
			  AND (deadline_at < $1 OR completion IS NOT NULL)
			ORDER BY deadline_at LIMIT $2`, now, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		// Deliveries before decisions, like every writer (see Plan), and in id order.
		if _, err := tx.Exec(ctx, `UPDATE fanout.deliveries SET state = 'dead', outcome = 'dead_lettered', last_error = $3,
				leased_until = NULL, updated_at = now()
			WHERE id IN (SELECT x.id FROM fanout.deliveries x JOIN fanout.decisions d ON d.event_id = x.event_id
				WHERE x.event_id = ANY($1::uuid[]) AND x.state IN ('pending', 'polling') AND d.deadline_at < $2
				ORDER BY x.id FOR UPDATE OF x)`, ids, now, DeadlineError); err != nil {
			return err
		}
		n = len(ids)
		return s.close(ctx, tx, ids, now)
	})
	return n, err
}

func scanCompletion(row pgx.CollectableRow) (fanout.Completion, error) {
	var (
		c          fanout.Completion
		d          = &c.Request
		scheme     *string
		nonce, ct  []byte
		deadline   *time.Time
		unfinished []byte
	)
	err := row.Scan(&d.EventID, &d.Tenant, &d.SubjectKey, &d.RequestType, &d.RequestID, &d.OccurredAt, &d.RecordedAt,
		&d.PolicyVersion, &scheme, &nonce, &ct, &d.Reason, &d.Jurisdiction, &d.Scope, &deadline, &c.Planned, &unfinished, &c.Previous)
	if err != nil {
		return c, err
	}
	d.Kind, d.DeadlineAt = fanout.KindRequest, deadline
	if scheme != nil {
		d.Sealed = &schemas.Sealed{Scheme: *scheme, Nonce: nonce, Ciphertext: ct}
	}
	if unfinished != nil {
		if err := json.Unmarshal(unfinished, &c.Unfinished); err != nil {
			return c, fmt.Errorf("request %s: unfinished deliveries: %w", d.EventID, err)
		}
	}
	return c, nil
}
