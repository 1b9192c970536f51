package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/schemas"
)

// Contact is a subject's identifiers on file, sealed under its data key.
type Contact struct {
	Tenant, SubjectKey string
	Sealed             *schemas.Sealed
	RecordedAt         time.Time
}

// KeepContacts puts each contact on file for its subject. A subject that has one keeps
// it unless replace: a key that may not vouch for a person must not be able to redirect
// the person's confirmation link by reporting a consent with another address.
func (s *Store) KeepContacts(ctx context.Context, contacts []Contact, replace bool) error {
	if len(contacts) == 0 {
		return nil
	}
	// One row per subject (a statement may not touch a row twice), in key order so that
	// two batches naming the same subjects lock them in the same order.
	byKey := map[[2]string]Contact{}
	for _, c := range contacts {
		k := [2]string{c.Tenant, c.SubjectKey}
		if prev, ok := byKey[k]; !ok || !c.RecordedAt.Before(prev.RecordedAt) {
			byKey[k] = c
		}
	}
	keys := make([][2]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	var (
		tenants, subjects, schemes []string
		nonces, cts                [][]byte
		ats                        []time.Time
	)
	for _, k := range keys {
		c := byKey[k]
		tenants, subjects, schemes = append(tenants, c.Tenant), append(subjects, c.SubjectKey), append(schemes, c.Sealed.Scheme)
		nonces, cts, ats = append(nonces, c.Sealed.Nonce), append(cts, c.Sealed.Ciphertext), append(ats, c.RecordedAt)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO ingest.contacts AS c (tenant, subject_key, sealed_scheme, sealed_nonce, sealed_ciphertext, recorded_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::timestamptz[])
		ON CONFLICT (tenant, subject_key) DO UPDATE SET sealed_scheme = excluded.sealed_scheme,
			sealed_nonce = excluded.sealed_nonce, sealed_ciphertext = excluded.sealed_ciphertext, recorded_at = excluded.recorded_at
		WHERE $7 AND excluded.recorded_at >= c.recorded_at`, tenants, subjects, schemes, nonces, cts, ats, replace)
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// Contact returns the sealed identifiers on file for a subject, and false when there are none.
func (s *Store) Contact(ctx context.Context, tenant, subjectKey string) (*schemas.Sealed, bool, error) {
	var sealed schemas.Sealed
	err := s.pool.QueryRow(ctx, `SELECT sealed_scheme, sealed_nonce, sealed_ciphertext FROM ingest.contacts
		WHERE tenant = $1 AND subject_key = $2`, tenant, subjectKey).Scan(&sealed.Scheme, &sealed.Nonce, &sealed.Ciphertext)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("contacts: %w", err)
	}
	return &sealed, true, nil
}
