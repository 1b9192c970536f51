package schemas

import (
	"fmt"
	"time"
)

// ConsentSubmission is what a product service writes to an ingest topic: the Kafka form
// of one POST /v1/consents body. Its identifiers are in clear; consent-ingest seals them.
type ConsentSubmission struct {
	SubmissionID  string
	Tenant        string
	SubjectID     string
	Identifiers   *SubmittedIdentifiers
	OccurredAt    time.Time
	Source        string
	PolicyVersion string
	Purposes      map[string]string
	TCF           string
	GPP           string
}

// SubmittedIdentifiers are a submission's personal identifiers, in clear.
type SubmittedIdentifiers struct {
	Email       string
	AnonymousID string
	VendorIDs   map[string]string
}

// EncodeSubmission writes sub as Avro binary under s (no framing), which must be a
// version of ConsentSubmission.
func EncodeSubmission(s *Schema, sub *ConsentSubmission) ([]byte, error) {
	if s.Name != ConsentSubmissionName {
		return nil, fmt.Errorf("schemas: cannot encode %s with schema %s", ConsentSubmissionName, s.Name)
	}
	var ids any
	if i := sub.Identifiers; i != nil {
		ids = goavroUnion("consentry.v1.SubmittedIdentifiers", map[string]any{
			"email":        optString(i.Email),
			"anonymous_id": optString(i.AnonymousID),
			"vendor_ids":   nativeMap(i.VendorIDs),
		})
	}
	b, err := s.codec.BinaryFromNative(nil, map[string]any{
		"submission_id":  sub.SubmissionID,
		"tenant":         sub.Tenant,
		"subject_id":     sub.SubjectID,
		"identifiers":    ids,
		"occurred_at":    micros(sub.OccurredAt),
		"source":         sub.Source,
		"policy_version": sub.PolicyVersion,
		"purposes":       nativeMap(sub.Purposes),
		"tcf":            optString(sub.TCF),
		"gpp":            optString(sub.GPP),
	})
	if err != nil {
		return nil, fmt.Errorf("schemas: encode %s: %w", s.Name, err)
	}
	return b, nil
}

// DecodeSubmission reads Avro binary written under the writer schema s. It checks types
// only; what the values may be is consent-ingest's validation, the same as over HTTP.
func DecodeSubmission(s *Schema, b []byte) (*ConsentSubmission, error) {
	if s.Name != ConsentSubmissionName {
		return nil, fmt.Errorf("schemas: schema %s is not a %s", s.Name, ConsentSubmissionName)
	}
	native, rest, err := s.codec.NativeFromBinary(b)
	if err != nil {
		return nil, fmt.Errorf("schemas: decode %s: %w", s.Name, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("schemas: decode %s: %d trailing bytes", s.Name, len(rest))
	}
	m, ok := native.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schemas: decode %s: not a record", s.Name)
	}
	r := reader{m: m}
	sub := &ConsentSubmission{
		SubmissionID:  r.str("submission_id"),
		Tenant:        r.str("tenant"),
		SubjectID:     r.str("subject_id"),
		OccurredAt:    r.time("occurred_at"),
		Source:        r.str("source"),
		PolicyVersion: r.str("policy_version"),
		Purposes:      r.strMap("purposes"),
		TCF:           r.str("tcf"),
		GPP:           r.str("gpp"),
	}
	switch v := r.get("identifiers").(type) {
	case nil:
	case map[string]any:
		ir := reader{m: v}
		sub.Identifiers = &SubmittedIdentifiers{Email: ir.str("email"), AnonymousID: ir.str("anonymous_id"), VendorIDs: ir.strMap("vendor_ids")}
		if ir.err != nil && r.err == nil {
			r.err = fmt.Errorf("field identifiers: %w", ir.err)
		}
	default:
		r.fail("identifiers", v, "record")
	}
	if r.err != nil {
		return nil, fmt.Errorf("schemas: decode %s: %w", s.Name, r.err)
	}
	return sub, nil
}

func nativeMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// strMap reads an Avro map of strings. It reads the field as it is: a one-entry map is
// the map itself here, not a union wrapper.
func (r *reader) strMap(field string) map[string]string {
	v := r.m[field]
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(field, v, "map")
		return nil
	}
	out := make(map[string]string, len(m))
	for k, item := range m {
		s, ok := item.(string)
		if !ok {
			r.fail(field+"."+k, item, "string")
			continue
		}
		out[k] = s
	}
	return out
}
