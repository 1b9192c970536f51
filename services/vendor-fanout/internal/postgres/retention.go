package postgres

import (
	"context"
	"time"
)

// Prune deletes up to limit done deliveries last updated before before, oldest first,
// and returns how many. A done delivery's receipt is its record from then on (the audit
// log keeps it), so the row is pruned only when:
//   - its receipt has left the outbox: it is older than the oldest outbox row, which was
//     written in the transaction that recorded it or a later one;
//   - it is no part of a privacy request still open or partially completed, whose
//     completion reads its deliveries (a replayed dead letter may complete it yet).
//
// Pending and polling deliveries are work still to do and dead ones wait for a person:
// none of them is ever pruned. Relayed outbox rows need no pruning: the relay deletes
// them once Kafka has them. The decisions stay, for back-fills and for planning, which
// skips an event already decided even when its deliveries are gone.
func (s *Store) Prune(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fanout.deliveries WHERE id IN (
			SELECT d.id FROM fanout.deliveries d
			WHERE d.state = 'done'
			  AND d.updated_at < least($1::timestamptz,
				coalesce((SELECT o.created_at FROM fanout.outbox o ORDER BY o.id LIMIT 1), 'infinity'))
			  AND (d.request_id IS NULL OR EXISTS (
				SELECT 1 FROM fanout.decisions x WHERE x.event_id = d.event_id AND x.completion = 'completed'))
			ORDER BY d.updated_at
			LIMIT $2)`, before, limit)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
