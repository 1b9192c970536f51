// Package vendor is the contract between vendor-fanout's delivery core and the adapters
// that speak each vendor's API (one package per vendor below this one).
//
// An adapter turns one action for one subject into HTTP calls and classifies the answer.
// It never retries, sleeps or counts failures itself: the core owns retries, backoff,
// Retry-After, breakers and rate limits, so that they are the same for every vendor and
// one vendor's trouble stays in its own lane.
package vendor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/schemas"
)

// Action is what one event means for one vendor (docs/architecture.md, Vocabulary).
type Action string

const (
	DeleteUser    Action = schemas.ActionDeleteUser
	OptOut        Action = schemas.ActionOptOut
	SuppressEmail Action = schemas.ActionSuppressEmail
	Restrict      Action = schemas.ActionRestrict
	UpdateConsent Action = schemas.ActionUpdateConsent
	// LiftRestriction ends a restriction: processing may resume. No vendor API reverses
	// the opt-outs a restriction set, and none should blindly: the person's consent may
	// still deny the purpose.
	LiftRestriction Action = schemas.ActionLiftRestriction
	// Rectify corrects the identifiers a vendor holds for the subject.
	Rectify Action = schemas.ActionRectify
)

// Identifiers are the subject's opened identifiers. Only the adapter of the vendor that
// needs them sees them, only in memory, only for the call.
type Identifiers struct {
	SubjectID   string
	Email       string
	AnonymousID string
	VendorIDs   map[string]string
}

// UserID returns the id a vendor knows the subject by: the vendor-specific id the
// product sent, else the product's own subject id (what most products pass to their
// analytics SDK's identify call).
func (i Identifiers) UserID(vendor string) string {
	if id := i.VendorIDs[vendor]; id != "" {
		return id
	}
	return i.SubjectID
}

// Request is one delivery.
type Request struct {
	Action Action
	// IdempotencyKey is stable across retries of this delivery (derived from the event
	// id, vendor and action); adapters send it as the Idempotency-Key header.
	IdempotencyKey string
	Tenant         string
	SubjectKey     string
	IDs            Identifiers
	EventID        string
	RequestID      string // set for privacy requests
	OccurredAt     time.Time
	// Purposes and their decisions, for vendors that take a whole consent state
	// (the generic webhook).
	Purposes map[string]string
}

// Outcome is how a successful delivery ended.
type Outcome string

const (
	// Delivered: the vendor applied the action synchronously.
	Delivered Outcome = "delivered"
	// Accepted: the vendor queued an asynchronous job (a deletion); Reference names it
	// so that a Poller can verify it later.
	Accepted Outcome = "accepted"
	// Completed: an asynchronous job was verified done.
	Completed Outcome = "completed"
	// AlreadyDone: the vendor said the action had already taken effect (a repeat).
	AlreadyDone Outcome = "already_done"
	// Skipped: the subject has no identifier this vendor knows them by.
	Skipped Outcome = "skipped"
)

// Result describes a successful delivery.
type Result struct {
	Outcome    Outcome
	HTTPStatus int
	// Reference is the vendor's handle for an async job (job id, scheduled day, person
	// uuid), stored and later passed to Poll. Must not be a personal identifier.
	Reference string
	// Detail explains Skipped and similar outcomes; never a personal identifier.
	Detail string
	// Brake is set when the vendor's own usage headers say its quota is spent (or
	// nearly): the call succeeded, but the lane must stop calling before the vendor
	// has to refuse.
	Brake *Brake
}

// Brake asks the lane to stop calling a vendor whose quota is spent.
type Brake struct {
	// Until is when the vendor's quota renews, if it said so (HubSpot's daily limit
	// resets at the account's midnight). Zero when unknown: the lane then waits a time
	// that grows with each consecutive throttle.
	Until time.Time
	// Reason names the signal (a header or vendor code), never a personal identifier.
	Reason string
}

// Adapter delivers actions to one vendor.
type Adapter interface {
	// Supports reports whether the adapter can perform action.
	Supports(action Action) bool
	// Deliver performs req. A nil error means the vendor accepted it (Result says how);
	// an error should be an *Error saying how the core must react.
	Deliver(ctx context.Context, req Request) (Result, error)
}

// BatchAdapter is implemented by adapters whose vendor documents a batch endpoint for
// an action: one call carries many deliveries, and the vendor's answer says what became
// of each. The lane uses it only when routing sets the instance's max_batch above one.
type BatchAdapter interface {
	Adapter
	// MaxBatch is the most deliveries of action one call may carry, the vendor's
	// documented batch size; 0 or 1 means the action has no batch endpoint.
	MaxBatch(action Action) int
	// DeliverBatch performs reqs, all of one action, in one call. A nil error means the
	// call was answered and outcomes holds one entry per request, in order: each
	// decides its own delivery. An error fails the whole call (an *Error, as Deliver's):
	// a Permanent one with Whole set says some item is bad without saying which.
	DeliverBatch(ctx context.Context, reqs []Request) (outcomes []ItemOutcome, err error)
}

// ItemOutcome is what a batch call did with one of its requests: Err nil means Result
// says how it succeeded; otherwise Err is an *Error classified as for Deliver.
type ItemOutcome struct {
	Result Result
	Err    error
}

// Poller is implemented by adapters whose actions finish asynchronously.
type Poller interface {
	// Poll checks the job that Deliver started (by its Result.Reference). done=false
	// means still running; an error is classified like Deliver's.
	Poll(ctx context.Context, req Request, reference string) (done bool, err error)
}

// Patient is implemented by adapters whose accepted work is done by people (manual
// tasks): the core waits for it however long it takes and never calls it unverifiable by
// time alone — an overdue task is an alert, not a reason to stop tracking it.
type Patient interface {
	Patient() bool
}

// Versioned is implemented by adapters that pin a vendor API version the vendor
// retires on a date: once past it, every call fails alike. The core exports the time
// left as consentry_vendor_api_version_sunset_seconds.
type Versioned interface {
	APIVersion() (version string, sunset time.Time)
}

// Kind classifies a failed delivery.
type Kind string

const (
	// Transient: 5xx, timeouts, connection errors. Retry with backoff; counts against
	// the breaker.
	Transient Kind = "transient"
	// Throttled: the vendor's rate-limit signal (429, Salesforce's 403
	// REQUEST_LIMIT_EXCEEDED). Retry no sooner than RetryAfter; not a breaker failure.
	Throttled Kind = "throttled"
	// Auth: 401/403 — credentials expired or lack a scope. Counts against the breaker
	// and raises an alert; retried, since an operator can fix the credential.
	Auth Kind = "auth"
	// Permanent: the vendor rejected this request (other 4xx). Dead-letter at once; not
	// a breaker failure, since the vendor is healthy.
	Permanent Kind = "permanent"
)

// Error is a classified delivery failure. Msg must not hold a personal identifier:
// adapters describe the failure (status, vendor error code), never echo the request.
type Error struct {
	Kind       Kind
	HTTPStatus int
	RetryAfter time.Duration // for Throttled: how long the vendor asked us to wait (0 if unsaid)
	// ResetAt, for Throttled, is when the vendor's exhausted quota renews, when it is
	// known without a Retry-After (HubSpot's DAILY policy resets at midnight in the
	// account's time zone). Zero when unknown.
	ResetAt time.Time
	// Whole marks a rejection of a batch call that the vendor did not attribute to an
	// item (Amplitude's 400 for a request holding a bad id): some item is bad, the lane
	// does not know which, and splits the batch to find it.
	Whole bool
	Msg   string
}

func (e *Error) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Kind, e.HTTPStatus, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
}

// Classify returns err's classification, treating an unclassified error as Transient.
// It returns nil for a nil error.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Kind: Transient, Msg: "cancelled"}
	}
	return &Error{Kind: Transient, Msg: err.Error()}
}

// FromResponse classifies a non-2xx answer by its status, the common HTTP rules:
// 429 throttled (with Retry-After), 401/403 auth, 408 and 5xx transient, other 4xx
// permanent. Adapters call it after handling their vendor's own signals (such as
// "already unsubscribed" or Salesforce's 403 throttling). vendorCode is the vendor's
// machine-readable error code, if any, for Msg.
func FromResponse(resp *http.Response, vendorCode string, now time.Time) *Error {
	msg := http.StatusText(resp.StatusCode)
	if vendorCode != "" {
		msg = vendorCode
	}
	e := &Error{HTTPStatus: resp.StatusCode, Msg: msg}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = Throttled
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = Auth
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		e.Kind = Transient
	default:
		e.Kind = Permanent
	}
	return e
}

// FromTransport classifies an error from http.Client.Do: always transient (the request
// may or may not have arrived; deliveries are idempotent, so a retry is safe).
func FromTransport(err error) *Error {
	msg := err.Error()
	// net/http errors quote the URL, which can carry an email in its path (HubSpot v4):
	// keep only the operation and the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + ": " + ue.Err.Error()
	}
	return &Error{Kind: Transient, Msg: msg}
}

// MaxRetryAfter is the longest wait RetryAfter returns. Vendors ask for seconds to
// hours (a daily quota resets within a day); a longer wait is a mistake or hostile, and
// the delivery is better retried, and throttled again, than parked for years.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter parses a Retry-After value: delta-seconds or an HTTP-date
// (RFC 9110 §10.2.3), at most MaxRetryAfter. It returns 0 when the header is absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		// Compare in seconds: secs * time.Second overflows past 292 years, to a
		// negative or arbitrary wait.
		if secs > int(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
