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
	"strconv"
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
	Details       []byte // JSON; canonicalised, since jsonb keeps neither key order nor spacing
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
// details is CanonicalJSON of the stored JSON.
func (r Record) Canonical() ([]byte, error) {
	details, err := CanonicalJSON(r.Details)
	if err != nil {
		return nil, err
	}
	n := len(Version) + len(r.EventID) + len(r.EventType) + len(r.Topic) + len(r.Payload) + len(details) + 17*5 + 5*8 + 256
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
	return value(b, details), nil
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
