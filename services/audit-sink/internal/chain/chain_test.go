package chain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

func str(s string) *string { return &s }
func num(n int64) *int64   { return &n }

func sample() chain.Record {
	return chain.Record{
		EventID: "0193a5b0-7e1c-7cc3-9a6e-3f1b2c4d5e6f", EventType: "ConsentChanged", Tenant: str("consumer"), SubjectKey: str("k1"),
		OccurredAt: num(1795900000000000), RecordedAt: num(1795900001000000), Source: str("gpc"), PolicyVersion: str("2025-04-09"),
		Topic: "consent.events.v1", Partition: 3, Offset: 42, SchemaID: num(101), Payload: []byte{0, 0, 0, 0, 101, 7},
		Details: []byte(`{"identifiers_sealed":true,"purposes":{"advertising":"denied"}}`),
	}
}

// The encoding is a contract with anyone who re-checks an exported log: this spells it
// out byte by byte, independently of the code under test.
func TestCanonicalEncodingIsTheDocumentedOne(t *testing.T) {
	var want []byte
	field := func(b []byte) {
		want = append(want, 1)
		want = binary.BigEndian.AppendUint32(want, uint32(len(b)))
		want = append(want, b...)
	}
	integer := func(n int64) { field(binary.BigEndian.AppendUint64(nil, uint64(n))) }
	null := func() { want = append(want, 0) }
	field([]byte("consentry.audit.v1"))
	field([]byte("0193a5b0-7e1c-7cc3-9a6e-3f1b2c4d5e6f"))
	field([]byte("ConsentChanged"))
	field([]byte("consumer"))
	field([]byte("k1"))
	null() // request_id
	null() // source_event_id
	integer(1795900000000000)
	integer(1795900001000000)
	field([]byte("gpc"))
	field([]byte("2025-04-09"))
	field([]byte("consent.events.v1"))
	integer(3)
	integer(42)
	integer(101)
	field([]byte{0, 0, 0, 0, 101, 7})
	field([]byte(`{"identifiers_sealed":true,"purposes":{"advertising":"denied"}}`))

	if got := sample().Canonical(); !bytes.Equal(got, want) {
		t.Fatalf("canonical encoding\n got %x\nwant %x", got, want)
	}
}

// Every field the chain covers changes the encoding, NULL is not the empty value, and
// the length prefixes keep adjacent fields from trading bytes.
func TestCanonicalTellsRecordsApart(t *testing.T) {
	cases := map[string]func(r *chain.Record){
		"event_id":                func(r *chain.Record) { r.EventID = "0193a5b0-7e1c-7cc3-9a6e-3f1b2c4d5e60" },
		"event_type":              func(r *chain.Record) { r.EventType = "PrivacyRequest" },
		"tenant":                  func(r *chain.Record) { r.Tenant = str("acme") },
		"tenant empty, not NULL":  func(r *chain.Record) { r.Tenant = str("") },
		"tenant NULL":             func(r *chain.Record) { r.Tenant = nil },
		"subject_key":             func(r *chain.Record) { r.SubjectKey = str("k2") },
		"request_id":              func(r *chain.Record) { r.RequestID = str("0193a5b0-7e1c-7cc3-9a6e-3f1b2c4d5e6f") },
		"source_event_id":         func(r *chain.Record) { r.SourceEventID = str("0193a5b0-7e1c-7cc3-9a6e-3f1b2c4d5e6f") },
		"occurred_at by 1µs":      func(r *chain.Record) { *r.OccurredAt++ },
		"recorded_at NULL":        func(r *chain.Record) { r.RecordedAt = nil },
		"source":                  func(r *chain.Record) { r.Source = str("dnt") },
		"policy_version":          func(r *chain.Record) { r.PolicyVersion = str("2026-01-01") },
		"topic":                   func(r *chain.Record) { r.Topic = "consent.events.v2" },
		"partition":               func(r *chain.Record) { r.Partition = 4 },
		"offset":                  func(r *chain.Record) { r.Offset = 43 },
		"schema_id NULL":          func(r *chain.Record) { r.SchemaID = nil },
		"payload byte":            func(r *chain.Record) { r.Payload = []byte{0, 0, 0, 0, 101, 8} },
		"payload empty, not NULL": func(r *chain.Record) { r.Payload = []byte{} },
		"payload NULL":            func(r *chain.Record) { r.Payload = nil },
		"details value": func(r *chain.Record) {
			r.Details = []byte(`{"purposes":{"advertising":"granted"},"identifiers_sealed":true}`)
		},
		"bytes moved between fields": func(r *chain.Record) { r.Tenant, r.SubjectKey = str("consumerk"), str("1") },
	}
	base := sample().Canonical()
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			r := sample()
			change(&r)
			if bytes.Equal(r.Canonical(), base) {
				t.Fatal("the change leaves the canonical encoding as it was")
			}
		})
	}
}

// PostgreSQL hands jsonb back with its own key order, spacing and number spelling; the
// canonical form must not see the difference, and must see any other.
func TestCanonicalJSON(t *testing.T) {
	cases := []struct {
		name, a, b string
		same       bool
	}{
		{"key order", `{"b":1,"a":{"d":2,"c":3}}`, `{"a": {"c": 3, "d": 2}, "b": 1}`, true},
		{"jsonb's key order (shorter keys first)", `{"status":"x","type":"erasure"}`, `{"type": "erasure", "status": "x"}`, true},
		{"number spelling", `{"n":1,"f":1.5,"e":1e21}`, `{"n": 1.0, "f": 1.50, "e": 1000000000000000000000}`, true},
		{"string escapes", `{"s":"\u003ca\u003e \u00e9"}`, `{"s": "<a> é"}`, true},
		{"arrays keep their order", `{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{"value changed", `{"a":"denied"}`, `{"a":"granted"}`, false},
		{"JSON null is not an empty object", `null`, `{}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := chain.CanonicalJSON([]byte(c.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := chain.CanonicalJSON([]byte(c.b))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a, b) != c.same {
				t.Fatalf("%s vs %s: equal = %v, want %v", a, b, !c.same, c.same)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{"a":1} {"b":2}`, `{"a":1}x`} {
		if _, err := chain.CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("CanonicalJSON(%q) accepted it", bad)
		}
	}
}

type receipt struct {
	Vendor  string `json:"vendor"`
	Attempt int    `json:"attempt"`
}

// MarshalCanonical's shortcut must give what the long way gives, for the values details
// hold and for those that need the long way.
func TestMarshalCanonicalIsCanonicalJSONOfMarshal(t *testing.T) {
	at := time.Date(2026, 11, 28, 21, 4, 5, 123456789, time.FixedZone("CET", 3600))
	cases := map[string]any{
		"consent":                  map[string]any{"purposes": map[string]string{"analytics": "denied", "advertising": "granted"}, "identifiers_sealed": true},
		"receipt":                  map[string]any{"vendor": "hubspot", "attempts": 3, "http_status": 200, "detail": "<a href=\"x\">&</a>\u2028"},
		"request":                  map[string]any{"deadline_at": at, "status": "received", "scope": []string{"b", "a"}, "n": nil},
		"floats":                   map[string]any{"f": 1.5, "g": 1e21, "h": 1e-7, "z": -0.0, "big": float64(1 << 60)},
		"integer beyond 2^53":      map[string]any{"n": int64(1<<53 + 1)},
		"unsigned":                 map[string]any{"n": uint64(1 << 60)},
		"float32":                  map[string]any{"f": float32(0.1)},
		"invalid UTF-8":            map[string]any{"s": "a\xffb"},
		"invalid UTF-8 key":        map[string]string{"\xff": "x"},
		"struct (unsorted fields)": map[string]any{"r": receipt{Vendor: "v", Attempt: 1}},
		"nested":                   map[string]any{"a": []any{map[string]any{"y": 1, "x": "\x00"}, true}},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := chain.CanonicalJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := chain.MarshalCanonical(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("MarshalCanonical = %s, want %s", got, want)
			}
		})
	}
}

func TestLinkIsSHA256OfPrevThenRecord(t *testing.T) {
	prev := chain.Link(chain.Genesis, []byte("first"))
	want := sha256.Sum256(append(append([]byte{}, prev[:]...), "second"...))
	if got := chain.Link(prev, []byte("second")); got != chain.Hash(want) {
		t.Fatalf("Link = %s, want %x", got, want)
	}
	if chain.Genesis != (chain.Hash{}) {
		t.Fatal("the genesis hash is not 32 zero bytes")
	}
	if got := chain.Name("consent.events.v1", 3); got != "consent.events.v1/3" {
		t.Fatalf("Name = %q", got)
	}
}
