package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// EachSubject calls fn with every recorded decision of one subject at a time, in the
// order they happened (occurred_at, then event id), for the tenants given (all when
// tenants is empty). Streaming keeps a back-fill of millions of decisions in bounded memory.
func (s *Store) EachSubject(ctx context.Context, tenants []string, fn func([]fanout.Decision) error) error {
	rows, err := s.pool.Query(ctx, `SELECT event_id::text, tenant, subject_key, kind, purposes, coalesce(request_type, ''),
			coalesce(request_id::text, ''), occurred_at, recorded_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext,
			coalesce(reason, ''), coalesce(jurisdiction, ''), coalesce(scope, ''), deadline_at
		FROM fanout.decisions WHERE coalesce(cardinality($1::text[]), 0) = 0 OR tenant = ANY($1)
		ORDER BY tenant, subject_key, occurred_at, event_id`, tenants)
	if err != nil {
		return err
	}
	defer rows.Close()
	var group []fanout.Decision
	for rows.Next() {
		var (
			d        fanout.Decision
			purposes []byte
			scheme   *string
			nonce    []byte
			ct       []byte
		)
		if err := rows.Scan(&d.EventID, &d.Tenant, &d.SubjectKey, &d.Kind, &purposes, &d.RequestType, &d.RequestID,
			&d.OccurredAt, &d.RecordedAt, &d.PolicyVersion, &scheme, &nonce, &ct, &d.Reason, &d.Jurisdiction, &d.Scope, &d.DeadlineAt); err != nil {
			return err
		}
		if purposes != nil {
			if err := json.Unmarshal(purposes, &d.Purposes); err != nil {
				return fmt.Errorf("decision %s: %w", d.EventID, err)
			}
		}
		if scheme != nil {
			d.Sealed = &schemas.Sealed{Scheme: *scheme, Nonce: nonce, Ciphertext: ct}
		}
		if len(group) > 0 && (group[0].Tenant != d.Tenant || group[0].SubjectKey != d.SubjectKey) {
			if err := fn(group); err != nil {
				return err
			}
			group = nil
		}
		group = append(group, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(group) > 0 {
		return fn(group)
	}
	return nil
}

// Backfilled reports whether instance was back-filled for this tenant list.
func (s *Store) Backfilled(ctx context.Context, instance, tenants string) (bool, error) {
	var done bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fanout.backfills WHERE instance = $1 AND tenants = $2)`,
		instance, tenants).Scan(&done)
	return done, err
}

// RecordBackfill notes that instance was back-filled for this tenant list.
func (s *Store) RecordBackfill(ctx context.Context, instance, tenants string, planned int) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO fanout.backfills (instance, tenants, planned) VALUES ($1, $2, $3)
		ON CONFLICT (instance, tenants) DO UPDATE SET planned = excluded.planned, completed_at = now()`, instance, tenants, planned)
	return err
}
