package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/schemas"
)

// Choice is a subject's latest decision for one purpose.
type Choice struct {
	Decision   string
	OccurredAt time.Time
	EventID    string
}

// LockSubject serialises the transactions that change one subject's choices, so that a
// double submit of the preference form sees the first one's result.
func (t *Tx) LockSubject(ctx context.Context, tenant, subjectKey string) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('unsubscribe/subject/' || $1 || '/' || $2, 0))`, tenant, subjectKey)
	return err
}

// Choices returns a subject's latest decision per purpose.
func (t *Tx) Choices(ctx context.Context, tenant, subjectKey string) (map[string]Choice, error) {
	rows, err := t.tx.Query(ctx, `SELECT purpose, decision, occurred_at, event_id::text FROM unsubscribe.choices
		WHERE tenant = $1 AND subject_key = $2`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	out := map[string]Choice{}
	var purpose string
	var c Choice
	_, err = pgx.ForEachRow(rows, []any{&purpose, &c.Decision, &c.OccurredAt, &c.EventID}, func() error {
		out[purpose] = c
		return nil
	})
	return out, err
}

// RecordChoices stores the decisions of one consent event where they are newer than what
// is stored: a late, older event does not override a newer choice.
func (t *Tx) RecordChoices(ctx context.Context, tenant, subjectKey string, purposes map[string]string, at time.Time, eventID string) error {
	for purpose, decision := range purposes {
		if decision != schemas.Granted && decision != schemas.Denied {
			continue
		}
		_, err := t.tx.Exec(ctx, `INSERT INTO unsubscribe.choices (tenant, subject_key, purpose, decision, occurred_at, event_id)
			VALUES ($1, $2, $3, $4, $5, $6::uuid)
			ON CONFLICT (tenant, subject_key, purpose) DO UPDATE SET
				decision = excluded.decision, occurred_at = excluded.occurred_at, event_id = excluded.event_id
			WHERE (excluded.occurred_at, excluded.event_id) > (unsubscribe.choices.occurred_at, unsubscribe.choices.event_id)`,
			tenant, subjectKey, purpose, decision, at, eventID)
		if err != nil {
			return err
		}
	}
	return nil
}
