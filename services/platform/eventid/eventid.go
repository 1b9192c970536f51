// Package eventid makes event ids: UUIDv7 for new events, and ids derived deterministically
// from a parent event for the events a service emits in reaction to it.
//
// Derived ids are what make reprocessing harmless: when a consumer crashes after producing
// but before committing, it produces the same reaction again under the same id, and every
// downstream dedupe (the audit log's UNIQUE(event_id), fan-out's delivery key) drops it.
package eventid

import (
	"crypto/sha256"
	"fmt"

	"github.com/google/uuid"
)

// New returns a fresh UUIDv7: time-ordered, so ids sort roughly by creation.
func New() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("eventid: %w", err)
	}
	return id.String(), nil
}

// Derive returns the id of the event that parent causes under label (for example
// "suppression" or "receipt/hubspot/opt_out/delivered"). It keeps parent's 48-bit
// timestamp, so derived ids still sort near their cause, and fills the rest from
// SHA-256(parent, label) with the version and variant bits of a UUIDv7.
func Derive(parent, label string) (string, error) {
	p, err := uuid.Parse(parent)
	if err != nil {
		return "", fmt.Errorf("eventid: parent %q is not a UUID", parent)
	}
	sum := sha256.Sum256([]byte(p.String() + "\x00" + label))
	var id uuid.UUID
	copy(id[:6], p[:6])
	copy(id[6:], sum[:10])
	id[6] = 0x70 | id[6]&0x0f // version 7
	id[8] = 0x80 | id[8]&0x3f // RFC 9562 variant
	return id.String(), nil
}

// FromPosition derives an id for a record that carries none of its own, such as a
// tombstone, from where it sits in Kafka: the same record always gets the same id.
func FromPosition(topic string, partition int, offset int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", topic, partition, offset))
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = 0x80 | id[6]&0x0f // version 8: custom, so it is never mistaken for a v7
	id[8] = 0x80 | id[8]&0x3f
	return id.String()
}

// Valid reports whether s is a UUID in canonical text form.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// FromSubmission derives the id of the event a producer's submission becomes from the
// tenant and the producer's own submission id: a record delivered twice, or sent twice by
// a producer retrying, becomes one event, which every downstream dedupe then drops.
func FromSubmission(tenant, submissionID string) string {
	sum := sha256.Sum256([]byte("submission\x00" + tenant + "\x00" + submissionID))
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = 0x80 | id[6]&0x0f // version 8, as FromPosition
	id[8] = 0x80 | id[8]&0x3f
	return id.String()
}
