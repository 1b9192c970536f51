package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Entry is one suppression in force, as a tool bootstrapping its list sees it. Key is the
// record key the same suppression has on the suppression topic.
type Entry struct {
	Key           string    `json:"key"`
	EmailSHA256   string    `json:"email_sha256"`
	Scope         string    `json:"scope"`
	Topic         string    `json:"topic,omitempty"`
	Reason        string    `json:"reason"`
	Source        string    `json:"source"`
	SourceEventID string    `json:"source_event_id,omitempty"`
	ChangedAt     time.Time `json:"changed_at"`
}

// Page returns up to limit of a tenant's suppressions in force whose record key sorts
// after after, in key order (bytewise, so the order does not depend on the database's
// collation).
func (s *Store) Page(ctx context.Context, tenant, after string, limit int) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, email_sha256, scope, topic, reason, source, source_event_id, changed_at FROM (
			SELECT email_sha256 AS key, email_sha256, 'all' AS scope, '' AS topic, reason, source,
				coalesce(source_event_id::text, '') AS source_event_id, changed_at
			FROM unsubscribe.suppressions WHERE tenant = $1 AND suppressed AND email_sha256 COLLATE "C" > $2
			UNION ALL
			SELECT email_sha256 || ':' || topic, email_sha256, 'topic', topic, 'opt_out', source,
				coalesce(source_event_id::text, ''), changed_at
			FROM unsubscribe.topic_suppressions WHERE tenant = $1 AND suppressed AND (email_sha256 || ':' || topic) COLLATE "C" > $2
		) AS s ORDER BY key COLLATE "C" LIMIT $3`, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Entry])
}
