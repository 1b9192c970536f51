// Package chain is the audit log's hash chain: the canonical encoding of a record, the
// link from one record's hash to the next, and the walk that verifies a chain. It does
// no I/O, so that the writer, the verifier and anyone re-checking an exported log agree
// on one definition.
package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Hash is a record's SHA-256 link.
type Hash [sha256.Size]byte

// Genesis is the prev_hash of a chain's first record.
var Genesis Hash

// String is the hash in lowercase hex, as the API shows it.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// HashOf reads a stored hash; ok is false when b is not 32 bytes.
func HashOf(b []byte) (h Hash, ok bool) {
	if len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// Link is the hash of the record whose canonical encoding is canonical and whose
// predecessor's hash is prev: SHA-256(prev ‖ canonical).
func Link(prev Hash, canonical []byte) Hash {
	d := sha256.New()
	d.Write(prev[:])
	d.Write(canonical)
	var h Hash
	d.Sum(h[:0])
	return h
}

// Name is the chain of a Kafka partition. audit-sink consumes a partition in offset
// order with one owner at a time, so the partition is the natural single writer; topic
// names cannot hold a "/", which keeps the name unambiguous.
func Name(topic string, partition int) string {
	return topic + "/" + strconv.Itoa(partition)
}

// Record is what a chain commits to of an audit row: every column the writer sets, as
// it reads back from PostgreSQL. A nil pointer or a nil slice is SQL NULL, kept apart
// from an empty value so that neither can be swapped for the other unseen. The row's
// storage order (seq) and the database's own audited_at are not part of it.
type Record struct {
	EventID       string // uuid in PostgreSQL's text form: lowercase, hyphenated
	EventType     string
	Tenant        *string
	SubjectKey    *string
	RequestID     *string // uuid text
	SourceEventID *string // uuid text
	OccurredAt    *int64  // unix microseconds, timestamptz's precision
	RecordedAt    *int64
	Source        *string
	PolicyVersion *string
	Topic         string
	Partition     int64
	Offset        int64
	SchemaID      *int64
	Payload       []byte // the exact Kafka value
	// Details is the details JSON in canonical form (CanonicalJSON, MarshalCanonical):
	// jsonb keeps neither the key order nor the spacing it was given.
	Details []byte
}

// Version opens every canonical record, so that a later encoding cannot be mistaken for
// this one.
const Version = "consentry.audit.v1"

// Field tags of the canonical encoding.
const (
	tagNull  = 0x00
	tagValue = 0x01
)

// Canonical is r's canonical encoding: the fields Version, event_id, event_type, tenant,
// subject_key, request_id, source_event_id, occurred_at, recorded_at, source,
// policy_version, topic, partition, offset, schema_id, payload, details, in that order,
// each written as 0x00 when NULL, else 0x01, its length as a 4-byte big-endian unsigned
// integer, and its bytes. Text is its UTF-8 bytes; an integer (times as unix
// microseconds) is 8 bytes big-endian two's complement; payload is the bytes as stored;
// details is the canonical JSON of the stored details (CanonicalJSON).
func (r Record) Canonical() []byte {
	n := len(Version) + len(r.EventID) + len(r.EventType) + len(r.Topic) + len(r.Payload) + len(r.Details) + 17*5 + 5*8 + 256
	b := make([]byte, 0, n)
	b = text(b, Version)
	b = text(b, r.EventID)
	b = text(b, r.EventType)
	b = optText(b, r.Tenant)
	b = optText(b, r.SubjectKey)
	b = optText(b, r.RequestID)
	b = optText(b, r.SourceEventID)
	b = optInt(b, r.OccurredAt)
	b = optInt(b, r.RecordedAt)
	b = optText(b, r.Source)
	b = optText(b, r.PolicyVersion)
	b = text(b, r.Topic)
	b = integer(b, r.Partition)
	b = integer(b, r.Offset)
	b = optInt(b, r.SchemaID)
	if r.Payload == nil {
		b = append(b, tagNull)
	} else {
		b = value(b, r.Payload)
	}
	return value(b, r.Details)
}

func value(b, v []byte) []byte {
	b = append(b, tagValue)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func text(b []byte, s string) []byte {
	b = append(b, tagValue)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func optText(b []byte, s *string) []byte {
	if s == nil {
		return append(b, tagNull)
	}
	return text(b, *s)
}

func integer(b []byte, n int64) []byte {
	b = append(b, tagValue, 0, 0, 0, 8)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func optInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, tagNull)
	}
	return integer(b, *n)
}

// CanonicalJSON re-encodes a JSON document the way both sides of the chain can: decoded
// into Go values (objects as maps, numbers as float64) and encoded again with
// encoding/json, which sorts object keys, drops insignificant space and spells each
// number and string one way. PostgreSQL's jsonb reorders keys and respaces what it was
// given, so its text and the bytes the writer sent canonicalise to the same encoding.
func CanonicalJSON(doc []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("chain: details are not JSON: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("chain: details hold more than one JSON value")
	}
	return json.Marshal(v)
}

// MarshalCanonical is CanonicalJSON(json.Marshal(v)) at the cost of json.Marshal alone
// when v holds only values whose encoding is already canonical — what audit records'
// details hold. The writer pays it on every event; the decoding it spares is most of
// the chain's cost per event.
func MarshalCanonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || plain(v) {
		return b, err
	}
	return CanonicalJSON(b)
}

// maxExact is the largest integer magnitude a float64 holds exactly: beyond it, an
// integer does not survive a decoding into float64.
const maxExact = 1 << 53

// plain reports whether json.Marshal's encoding of v decodes and encodes again to the
// same bytes: maps are written with sorted keys, valid UTF-8 strings and finite floats
// are written one way, integers up to 2^53 read back exactly, times are ASCII strings.
// Anything else (structs, whose fields are not sorted; invalid UTF-8, which json.Marshal
// escapes and a re-encoding does not; custom marshalers) takes the long way.
func plain(v any) bool {
	switch v := v.(type) {
	case nil, bool, time.Time:
		return true
	case string:
		return utf8.ValidString(v)
	case float64:
		return !math.IsInf(v, 0) && !math.IsNaN(v)
	case int:
		return v >= -maxExact && v <= maxExact
	case int32, int16, int8, uint8, uint16, uint32:
		return true
	case int64:
		return v >= -maxExact && v <= maxExact
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !plain(e) {
				return false
			}
		}
		return true
	case map[string]string:
		for k, e := range v {
			if !utf8.ValidString(k) || !utf8.ValidString(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !plain(e) {
				return false
			}
		}
		return true
	case []string:
		for _, e := range v {
			if !utf8.ValidString(e) {
				return false
			}
		}
		return true
	}
	return false
}
