package schemas

import (
	"fmt"
	"sort"
	"time"
)

// Sealed is the encrypted form of a subject's personal identifiers. Only the seal package
// of the platform module opens it.
type Sealed struct {
	Scheme     string
	Nonce      []byte
	Ciphertext []byte
}

// Header holds the fields every event carries.
type Header struct {
	EventID       string
	Tenant        string
	SubjectKey    string
	OccurredAt    time.Time
	RecordedAt    time.Time
	Source        string
	PolicyVersion string
	Identifiers   *Sealed
}

// Event is any of the four event types.
type Event interface {
	// SchemaName is the fully qualified Avro record name of the event's schema.
	SchemaName() string
	// EventHeader returns the common fields.
	EventHeader() *Header
}

// ConsentChanged is a person's choice per purpose.
type ConsentChanged struct {
	Header
	// Purposes maps a purpose to "granted" or "denied".
	Purposes map[string]string
	// TCFString and GPPString are the CMP strings the producer sent, kept as proof of
	// the choices derived from them; empty when none was sent.
	TCFString string
	GPPString string
}

// PrivacyRequest is a data-subject request or a change of its status.
type PrivacyRequest struct {
	Header
	RequestID  string
	Type       string
	Reason     string
	Status     string
	DeadlineAt *time.Time
	Detail     string
	// Jurisdiction is the regime the deadline counts under (gdpr, ccpa, email).
	Jurisdiction string
	// Scope narrows the type: an objection's direct_marketing or legitimate_interest,
	// a restriction's apply or lift.
	Scope string
}

// ExtensionDetail starts the detail of a PrivacyRequest event that extends the deadline:
// it repeats the request's status and moves only deadline_at (docs/privacy-requests.md).
const ExtensionDetail = "deadline_extended:"

// SuppressionChanged says an email address must not be contacted.
type SuppressionChanged struct {
	Header
	EmailSHA256   string
	Scope         string
	Topic         string
	Reason        string
	SourceEventID string
}

// VendorReceipt is the outcome of one vendor action for one event.
type VendorReceipt struct {
	Header
	SourceEventID   string
	RequestID       string
	Vendor          string
	Action          string
	Outcome         string
	Attempts        int
	HTTPStatus      int // 0 when there was no HTTP answer
	VendorReference string
	Detail          string
}

func (*ConsentChanged) SchemaName() string     { return ConsentChangedName }
func (*PrivacyRequest) SchemaName() string     { return PrivacyRequestName }
func (*SuppressionChanged) SchemaName() string { return SuppressionChangedName }
func (*VendorReceipt) SchemaName() string      { return VendorReceiptName }

func (e *ConsentChanged) EventHeader() *Header     { return &e.Header }
func (e *PrivacyRequest) EventHeader() *Header     { return &e.Header }
func (e *SuppressionChanged) EventHeader() *Header { return &e.Header }
func (e *VendorReceipt) EventHeader() *Header      { return &e.Header }

// Encode writes e as Avro binary under its current schema (no framing).
func Encode(e Event) ([]byte, error) {
	s, err := Get(e.SchemaName())
	if err != nil {
		return nil, err
	}
	return EncodeWith(s, e)
}

// EncodeWith writes e as Avro binary under the given schema, which must be a version of
// e's record.
func EncodeWith(s *Schema, e Event) ([]byte, error) {
	if s.Name != e.SchemaName() {
		return nil, fmt.Errorf("schemas: cannot encode %s with schema %s", e.SchemaName(), s.Name)
	}
	b, err := s.codec.BinaryFromNative(nil, toNative(e))
	if err != nil {
		return nil, fmt.Errorf("schemas: encode %s: %w", s.Name, err)
	}
	return b, nil
}

// Decode reads Avro binary written under the writer schema s into a new event of s's type.
func Decode(s *Schema, b []byte) (Event, error) {
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
	return fromNative(s.Name, m)
}

// New returns an empty event of the named record type.
func New(name string) (Event, error) {
	switch name {
	case ConsentChangedName:
		return &ConsentChanged{}, nil
	case PrivacyRequestName:
		return &PrivacyRequest{}, nil
	case SuppressionChangedName:
		return &SuppressionChanged{}, nil
	case VendorReceiptName:
		return &VendorReceipt{}, nil
	}
	return nil, fmt.Errorf("schemas: unknown record %q", name)
}

// toNative maps an event onto goavro's native form. Times are cut to microseconds, the
// precision of the schema, so that a round trip is exact.
func toNative(e Event) map[string]any {
	h := e.EventHeader()
	m := map[string]any{
		"event_id":       h.EventID,
		"tenant":         h.Tenant,
		"subject_key":    h.SubjectKey,
		"occurred_at":    micros(h.OccurredAt),
		"recorded_at":    micros(h.RecordedAt),
		"source":         h.Source,
		"policy_version": h.PolicyVersion,
		"identifiers":    sealedNative(h.Identifiers),
	}
	switch e := e.(type) {
	case *ConsentChanged:
		keys := make([]string, 0, len(e.Purposes))
		for k := range e.Purposes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		purposes := make([]any, len(keys))
		for i, k := range keys {
			purposes[i] = map[string]any{"purpose": k, "decision": e.Purposes[k]}
		}
		m["purposes"] = purposes
		m["tcf_string"] = optString(e.TCFString)
		m["gpp_string"] = optString(e.GPPString)
	case *PrivacyRequest:
		m["request_id"] = e.RequestID
		m["type"] = e.Type
		m["reason"] = e.Reason
		m["status"] = e.Status
		m["deadline_at"] = optTime(e.DeadlineAt)
		m["detail"] = optString(e.Detail)
		m["jurisdiction"] = optString(e.Jurisdiction)
		m["scope"] = optString(e.Scope)
	case *SuppressionChanged:
		m["subject_key"] = optString(h.SubjectKey)
		m["email_sha256"] = e.EmailSHA256
		m["scope"] = e.Scope
		m["topic"] = optString(e.Topic)
		m["reason"] = e.Reason
		m["source_event_id"] = optString(e.SourceEventID)
	case *VendorReceipt:
		m["source_event_id"] = e.SourceEventID
		m["request_id"] = optString(e.RequestID)
		m["vendor"] = e.Vendor
		m["action"] = e.Action
		m["outcome"] = e.Outcome
		m["attempts"] = int32(e.Attempts)
		m["http_status"] = optInt(e.HTTPStatus)
		m["vendor_reference"] = optString(e.VendorReference)
		m["detail"] = optString(e.Detail)
	}
	return m
}

func fromNative(name string, m map[string]any) (Event, error) {
	e, err := New(name)
	if err != nil {
		return nil, err
	}
	r := reader{m: m}
	h := e.EventHeader()
	h.EventID = r.str("event_id")
	h.Tenant = r.str("tenant")
	h.SubjectKey = r.str("subject_key")
	h.OccurredAt = r.time("occurred_at")
	h.RecordedAt = r.time("recorded_at")
	h.Source = r.str("source")
	h.PolicyVersion = r.str("policy_version")
	h.Identifiers = r.sealed("identifiers")
	switch e := e.(type) {
	case *ConsentChanged:
		e.Purposes = r.choices("purposes")
		e.TCFString = r.str("tcf_string")
		e.GPPString = r.str("gpp_string")
	case *PrivacyRequest:
		e.RequestID = r.str("request_id")
		e.Type = r.str("type")
		e.Reason = r.str("reason")
		e.Status = r.str("status")
		if t := r.time("deadline_at"); !t.IsZero() {
			e.DeadlineAt = &t
		}
		e.Detail = r.str("detail")
		e.Jurisdiction = r.str("jurisdiction")
		e.Scope = r.str("scope")
	case *SuppressionChanged:
		e.EmailSHA256 = r.str("email_sha256")
		e.Scope = r.str("scope")
		e.Topic = r.str("topic")
		e.Reason = r.str("reason")
		e.SourceEventID = r.str("source_event_id")
	case *VendorReceipt:
		e.SourceEventID = r.str("source_event_id")
		e.RequestID = r.str("request_id")
		e.Vendor = r.str("vendor")
		e.Action = r.str("action")
		e.Outcome = r.str("outcome")
		e.Attempts = r.int("attempts")
		e.HTTPStatus = r.int("http_status")
		e.VendorReference = r.str("vendor_reference")
		e.Detail = r.str("detail")
	}
	if r.err != nil {
		return nil, fmt.Errorf("schemas: decode %s: %w", name, r.err)
	}
	return e, nil
}

func micros(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func optString(s string) any {
	if s == "" {
		return nil
	}
	return goavroUnion("string", s)
}

func optInt(n int) any {
	if n == 0 {
		return nil
	}
	return goavroUnion("int", int32(n))
}

func optTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return goavroUnion("long.timestamp-micros", micros(*t))
}

func sealedNative(s *Sealed) any {
	if s == nil {
		return nil
	}
	return goavroUnion("consentry.v1.SealedIdentifiers", map[string]any{
		"scheme":     s.Scheme,
		"nonce":      s.Nonce,
		"ciphertext": s.Ciphertext,
	})
}

func goavroUnion(branch string, v any) any { return map[string]any{branch: v} }

// reader pulls typed fields out of a native record, unwrapping unions and remembering the
// first type mismatch instead of panicking on data it did not write.
type reader struct {
	m   map[string]any
	err error
}

// get returns a field's value with any union wrapper removed. goavro decodes a non-null
// union value as a one-entry map from branch name to value, and no event schema has a
// plain map field, so a one-entry map is always a union wrapper. A submission's map
// fields are read with strMap, which does not unwrap.
func (r *reader) get(field string) any {
	v := r.m[field]
	if u, ok := v.(map[string]any); ok && len(u) == 1 {
		for _, inner := range u {
			return inner
		}
	}
	return v
}

func (r *reader) fail(field string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: want %s, got %T", field, want, v)
	}
}

func (r *reader) str(field string) string {
	switch v := r.get(field).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		r.fail(field, v, "string")
		return ""
	}
}

func (r *reader) int(field string) int {
	switch v := r.get(field).(type) {
	case nil:
		return 0
	case int32:
		return int(v)
	case int64:
		return int(v)
	default:
		r.fail(field, v, "int")
		return 0
	}
}

func (r *reader) time(field string) time.Time {
	switch v := r.get(field).(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return v.UTC()
	default:
		r.fail(field, v, "timestamp")
		return time.Time{}
	}
}

func (r *reader) choices(field string) map[string]string {
	v := r.m[field]
	if v == nil {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		r.fail(field, v, "array")
		return nil
	}
	out := make(map[string]string, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			r.fail(field, item, "record")
			continue
		}
		sub := reader{m: m}
		out[sub.str("purpose")] = sub.str("decision")
		if sub.err != nil && r.err == nil {
			r.err = fmt.Errorf("field %s: %w", field, sub.err)
		}
	}
	return out
}

func (r *reader) sealed(field string) *Sealed {
	v := r.get(field)
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(field, v, "record")
		return nil
	}
	sub := reader{m: m}
	s := &Sealed{Scheme: sub.str("scheme"), Nonce: sub.bytes("nonce"), Ciphertext: sub.bytes("ciphertext")}
	if sub.err != nil && r.err == nil {
		r.err = fmt.Errorf("field %s: %w", field, sub.err)
	}
	return s
}

func (r *reader) bytes(field string) []byte {
	switch v := r.get(field).(type) {
	case nil:
		return nil
	case []byte:
		return v
	default:
		r.fail(field, v, "bytes")
		return nil
	}
}
