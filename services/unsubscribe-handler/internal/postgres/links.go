package postgres

import (
	"context"
	"time"
)

// RevokeLink stops a tenant's link from working; revoking it again changes nothing.
func (s *Store) RevokeLink(ctx context.Context, tenant, linkID string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO unsubscribe.revoked_links (tenant, link_id, revoked_at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, link_id) DO NOTHING`, tenant, linkID, at)
	return err
}

// LinkRevoked reports whether a tenant's link was revoked.
func (s *Store) LinkRevoked(ctx context.Context, tenant, linkID string) (bool, error) {
	var revoked bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unsubscribe.revoked_links WHERE tenant = $1 AND link_id = $2)`,
		tenant, linkID).Scan(&revoked)
	return revoked, err
}
