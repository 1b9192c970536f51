package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// TopicSuppression is one tenant's state for one address and email topic.
type TopicSuppression struct {
	Tenant        string
	EmailSHA256   string
	Topic         string
	SubjectKey    string
	Suppressed    bool
	Source        string
	SourceEventID string
	ChangedAt     time.Time
}

// Topics returns a tenant's per-topic state for an address: suppressed or not, by topic.
func (t *Tx) Topics(ctx context.Context, tenant, hash string) (map[string]bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT topic, suppressed FROM unsubscribe.topic_suppressions
		WHERE tenant = $1 AND email_sha256 = $2 FOR UPDATE`, tenant, hash)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	var topic string
	var suppressed bool
	_, err = pgx.ForEachRow(rows, []any{&topic, &suppressed}, func() error {
		out[topic] = suppressed
		return nil
	})
	return out, err
}

// PutTopic stores s.
func (t *Tx) PutTopic(ctx context.Context, s TopicSuppression) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO unsubscribe.topic_suppressions
			(tenant, email_sha256, topic, subject_key, suppressed, source, source_event_id, changed_at)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, '')::uuid, $8)
		ON CONFLICT (tenant, email_sha256, topic) DO UPDATE SET
			subject_key = coalesce(excluded.subject_key, unsubscribe.topic_suppressions.subject_key),
			suppressed = excluded.suppressed, source = excluded.source,
			source_event_id = excluded.source_event_id, changed_at = excluded.changed_at`,
		s.Tenant, s.EmailSHA256, s.Topic, s.SubjectKey, s.Suppressed, s.Source, s.SourceEventID, s.ChangedAt)
	return err
}

// TopicSuppressedElsewhere reports whether another tenant still suppresses the address
// for the topic.
func (t *Tx) TopicSuppressedElsewhere(ctx context.Context, tenant, hash, topic string) (bool, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM unsubscribe.topic_suppressions
		WHERE email_sha256 = $1 AND topic = $2 AND tenant <> $3 AND suppressed`, hash, topic, tenant).Scan(&n)
	return n > 0, err
}
