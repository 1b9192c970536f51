// Package fanout is vendor-fanout's domain: the decisions it records, the deliveries they
// require of each vendor, what became of each delivery, and the rules that close a
// privacy request — which status it ends with and whether its completion destroys the
// subject's data key. It does no I/O; the store (internal/postgres) persists these
// types, the dispatcher (internal/dispatch) and the adapters act on them.
package fanout

import (
	"context"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

// Kinds of decision.
const (
	KindConsent = "consent"
	KindRequest = "request"
)

// Decision is a consent change or privacy request as fan-out recorded it, kept so that a
// vendor enabled later can be back-filled.
type Decision struct {
	EventID       string
	Tenant        string
	SubjectKey    string
	Kind          string // KindConsent or KindRequest
	Purposes      map[string]string
	RequestType   string
	RequestID     string
	OccurredAt    time.Time
	RecordedAt    time.Time
	PolicyVersion string
	Sealed        *schemas.Sealed
	// A request's header, repeated by the event that announces its completion.
	Reason       string
	Jurisdiction string
	Scope        string
	DeadlineAt   *time.Time
}

// RoutingInput gives routing what it needs of the decision.
func (d Decision) RoutingInput() (string, map[string]string, string) {
	return d.Tenant, d.Purposes, routing.RequestRoute(d.RequestType, d.Scope)
}

// Delivery states.
const (
	Pending = "pending"
	Polling = "polling"
	Done    = "done"
	Dead    = "dead"
)

// Delivery is one vendor action for one event.
type Delivery struct {
	ID            int64
	EventID       string
	Instance      string
	Action        string
	Tenant        string
	SubjectKey    string
	RequestID     string
	OccurredAt    time.Time
	PolicyVersion string
	Sealed        *schemas.Sealed
	Purposes      map[string]string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	Deadline      time.Time
	Outcome       string
	HTTPStatus    int
	Reference     string
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// RecordedAt is when Consentry accepted the event; zero when unknown or back-filled.
	RecordedAt time.Time
	// Traceparent is the W3C trace context of the event that planned the delivery.
	Traceparent string
}

// Result is what happened to one claimed delivery.
type Result struct {
	State         string // Pending (retry later), Polling, Done or Dead
	Outcome       string
	HTTPStatus    int
	Reference     string
	LastError     string
	NextAttemptAt time.Time // for Pending and Polling
	// CountAttempt is false when no call was made (breaker open, throttled gate).
	CountAttempt bool
	// Receipt, when set, is written to the outbox in the same transaction.
	Receipt *Message
}

// Message is an encoded event bound for a Kafka topic by way of the outbox.
type Message struct {
	Topic      string
	Key, Value []byte
	// Traceparent is the W3C trace context the record carries as a header; "" for none.
	Traceparent string
}

// Lanes is the delivery table as a dispatcher uses it.
type Lanes interface {
	// Claim leases up to limit due deliveries of instance for lease.
	Claim(ctx context.Context, instance string, limit int, lease time.Duration) ([]Delivery, error)
	// Record stores a delivery's result (and its receipt) atomically.
	Record(ctx context.Context, id int64, r Result) error
}

// Recorded is one delivery's result, for recording many at once.
type Recorded struct {
	ID     int64
	Result Result
}

// BatchRecorder is implemented by stores that record many deliveries' results (and
// receipts) in one transaction: a batch call's outcomes arrive together, and a commit
// for each would cost the database what batching saved the vendor.
type BatchRecorder interface {
	RecordAll(ctx context.Context, results []Recorded) error
}
