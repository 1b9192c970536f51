package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// CreateTask opens t unless a task for the same delivery exists, and returns the id.
func (s *Store) CreateTask(ctx context.Context, t fanout.Task) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO fanout.manual_tasks (delivery_key, instance, action, tenant, subject_key,
			event_id, request_id, owner, instructions, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (delivery_key) DO UPDATE SET delivery_key = excluded.delivery_key
		RETURNING id`, t.DeliveryKey, t.Instance, t.Action, t.Tenant, t.SubjectKey, t.EventID, postgres.UUID(t.RequestID),
		t.Owner, t.Instructions, t.DueAt).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create manual task: %w", err)
	}
	return id, nil
}

// TaskStatus returns a task's status.
func (s *Store) TaskStatus(ctx context.Context, id int64) (string, error) {
	var status string
	err := s.pool.QueryRow(ctx, `SELECT status FROM fanout.manual_tasks WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fanout.ErrNoTask
	}
	return status, err
}

const taskColumns = `id, delivery_key, instance, action, tenant, subject_key, event_id::text, coalesce(request_id::text, ''),
	owner, instructions, due_at, status, completed_at, coalesce(completed_by, ''), coalesce(note, ''), created_at`

func scanTask(row pgx.Row) (fanout.Task, error) {
	var t fanout.Task
	err := row.Scan(&t.ID, &t.DeliveryKey, &t.Instance, &t.Action, &t.Tenant, &t.SubjectKey, &t.EventID, &t.RequestID,
		&t.Owner, &t.Instructions, &t.DueAt, &t.Status, &t.CompletedAt, &t.CompletedBy, &t.Note, &t.CreatedAt)
	return t, err
}

// TaskFilter selects tasks to list.
type TaskFilter struct {
	Status   string // "", open, completed, or overdue (open and past due)
	Instance string
	// Tenants, when not nil, are the only tenants listed: filtered in the query, before
	// its LIMIT.
	Tenants []string
	Limit   int
}

// Tasks lists tasks, those due soonest first.
func (s *Store) Tasks(ctx context.Context, f TaskFilter) ([]fanout.Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM fanout.manual_tasks
		WHERE ($1 = '' OR status = $1 OR ($1 = 'overdue' AND status = 'open' AND due_at < now()))
		  AND ($2 = '' OR instance = $2) AND ($4::text[] IS NULL OR tenant = ANY($4::text[]))
		ORDER BY status = 'completed', due_at, id LIMIT $3`, f.Status, f.Instance, f.Limit, f.Tenants)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []fanout.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Task returns one task and the sealed identifiers of the event it serves (for the
// person who must act on it).
func (s *Store) Task(ctx context.Context, id int64) (fanout.Task, *schemas.Sealed, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM fanout.manual_tasks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return fanout.Task{}, nil, fanout.ErrNoTask
	}
	if err != nil {
		return fanout.Task{}, nil, err
	}
	var (
		scheme *string
		nonce  []byte
		ct     []byte
	)
	err = s.pool.QueryRow(ctx, `SELECT sealed_scheme, sealed_nonce, sealed_ciphertext FROM fanout.deliveries
		WHERE event_id = $1 AND instance = $2 AND action = $3`, t.EventID, t.Instance, t.Action).Scan(&scheme, &nonce, &ct)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fanout.Task{}, nil, err
	}
	if scheme == nil {
		return t, nil, nil
	}
	return t, &schemas.Sealed{Scheme: *scheme, Nonce: nonce, Ciphertext: ct}, nil
}

// CompleteTask marks a task done and makes its delivery due at once, so the receipt
// follows without waiting for the next poll. Completing a completed task changes nothing
// and reports alreadyDone.
func (s *Store) CompleteTask(ctx context.Context, id int64, by, note string) (t fanout.Task, alreadyDone bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM fanout.manual_tasks WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fanout.ErrNoTask
		}
		if err != nil {
			return err
		}
		if t.Status == fanout.TaskCompleted {
			alreadyDone = true
			return nil
		}
		t, err = scanTask(tx.QueryRow(ctx, `UPDATE fanout.manual_tasks SET status = 'completed', completed_at = now(),
			completed_by = $2, note = nullif($3, '') WHERE id = $1 RETURNING `+taskColumns, id, by, note))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE fanout.deliveries SET next_attempt_at = now()
			WHERE event_id = $1 AND instance = $2 AND action = $3 AND state = 'polling'`, t.EventID, t.Instance, t.Action)
		return err
	})
	return t, alreadyDone, err
}

// TaskCounts are the open and overdue tasks of one vendor instance.
type TaskCounts struct{ Open, Overdue int }

// TaskStats counts open and overdue tasks per instance.
func (s *Store) TaskStats(ctx context.Context) (map[string]TaskCounts, error) {
	rows, err := s.pool.Query(ctx, `SELECT instance, count(*), count(*) FILTER (WHERE due_at < now())
		FROM fanout.manual_tasks WHERE status = 'open' GROUP BY instance`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]TaskCounts{}
	for rows.Next() {
		var name string
		var c TaskCounts
		if err := rows.Scan(&name, &c.Open, &c.Overdue); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, rows.Err()
}

// Disclosure is one showing of a task's identifiers.
type Disclosure struct {
	ID          int64     `json:"id"`
	DisclosedTo string    `json:"disclosed_to"`
	DisclosedAt time.Time `json:"disclosed_at"`
}

// RecordDisclosure records that task id's identifiers are being shown to who, and queues
// the audit record receipt(disclosureID) builds, in one transaction: the caller returns
// the identifiers only once this has committed.
func (s *Store) RecordDisclosure(ctx context.Context, id int64, who string, receipt func(disclosureID int64, at time.Time) (fanout.Message, error)) (Disclosure, error) {
	var d Disclosure
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO fanout.task_disclosures (task_id, disclosed_to) VALUES ($1, $2)
			RETURNING id, disclosed_to, disclosed_at`, id, who).Scan(&d.ID, &d.DisclosedTo, &d.DisclosedAt); err != nil {
			return err
		}
		msg, err := receipt(d.ID, d.DisclosedAt)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO fanout.outbox (topic, key, value) VALUES ($1, $2, $3)`, msg.Topic, msg.Key, msg.Value)
		return err
	})
	return d, err
}

// Disclosures lists the showings of task id's identifiers, oldest first.
func (s *Store) Disclosures(ctx context.Context, id int64) ([]Disclosure, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, disclosed_to, disclosed_at FROM fanout.task_disclosures WHERE task_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Disclosure, error) {
		var d Disclosure
		return d, r.Scan(&d.ID, &d.DisclosedTo, &d.DisclosedAt)
	})
}
