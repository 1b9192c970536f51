// Package vendortest is the test kit for vendor adapters: a fake clock, the vendor
// simulator on a real listener, and the checks every adapter must pass against it
// (fault classification, cancellation, no personal data in errors).
package vendortest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Clock is a fake clock, safe for concurrent use (the simulator reads it from request
// goroutines). Tests advance it instead of sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed whole second, so vendor headers in epoch seconds
// (X-RateLimit-Reset, webhook timestamps) convert to exact durations.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t, for behaviour tied to a calendar date (an API version's
// sunset).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Sim is a running simulator.
type Sim struct {
	*vendorsim.Simulator
	// URL is the simulator's root; a vendor's base URL is URL + "/" + vendor.
	URL string
	// Clock is the simulator's clock unless Start was given another.
	Clock *Clock
}

// Start runs a simulator on a loopback listener until the test ends. opts.Now defaults
// to the returned Sim's Clock, so adapters given Sim.Clock.Now share the simulator's
// time.
func Start(tb testing.TB, opts vendorsim.Options) *Sim {
	tb.Helper()
	clock := NewClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := vendorsim.New(opts)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return &Sim{Simulator: sim, URL: srv.URL, Clock: clock}
}

// BaseURL is where the simulator serves vendor.
func (s *Sim) BaseURL(vendor string) string { return s.URL + "/" + vendor }

// MustFault sets a fault or fails the test.
func (s *Sim) MustFault(tb testing.TB, f vendorsim.Fault) {
	tb.Helper()
	if err := s.SetFault(f); err != nil {
		tb.Fatalf("SetFault(%+v): %v", f, err)
	}
}

// CallsTo returns the recorded calls to one vendor, oldest first.
func (s *Sim) CallsTo(vendor string) []vendorsim.Call {
	var out []vendorsim.Call
	for _, c := range s.Calls() {
		if c.Vendor == vendor {
			out = append(out, c)
		}
	}
	return out
}

// OnlyCall returns the single call the simulator recorded, or fails the test.
func (s *Sim) OnlyCall(tb testing.TB) vendorsim.Call {
	tb.Helper()
	calls := s.Calls()
	if len(calls) != 1 {
		tb.Fatalf("got %d calls, want 1: %+v", len(calls), summarize(calls))
	}
	return calls[0]
}

// summarize lists calls without bodies, for failure messages.
func summarize(calls []vendorsim.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method + " " + c.Path + "?" + c.Query + " → " + strconv.Itoa(c.Status)
	}
	return out
}

// Want is the request shape a call must have. Empty fields are not checked.
type Want struct {
	Method         string
	Path           string
	Query          string
	IdempotencyKey string
	Status         int
}

// CheckCall compares a recorded call with want.
func CheckCall(tb testing.TB, got vendorsim.Call, want Want) {
	tb.Helper()
	if want.Method != "" && got.Method != want.Method {
		tb.Errorf("method = %s, want %s", got.Method, want.Method)
	}
	if want.Path != "" && got.Path != want.Path {
		tb.Errorf("path = %q, want %q", got.Path, want.Path)
	}
	if want.Query != "" && got.Query != want.Query {
		tb.Errorf("query = %q, want %q", got.Query, want.Query)
	}
	if want.IdempotencyKey != "" && got.IdempotencyKey != want.IdempotencyKey {
		tb.Errorf("Idempotency-Key = %q, want %q", got.IdempotencyKey, want.IdempotencyKey)
	}
	if want.Status != 0 && got.Status != want.Status {
		tb.Errorf("status = %d, want %d (body sent: %s)", got.Status, want.Status, got.Body)
	}
}

// JSONBody decodes a call's request body into a generic value, for field checks.
func JSONBody(tb testing.TB, c vendorsim.Call) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		tb.Fatalf("request body %q is not a JSON object: %v", c.Body, err)
	}
	return m
}

// WantError checks that err is a *vendor.Error of kind, with retryAfter, and with
// status when status is not zero.
func WantError(tb testing.TB, err error, kind vendor.Kind, status int, retryAfter time.Duration) *vendor.Error {
	tb.Helper()
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		tb.Fatalf("error = %v (%T), want a *vendor.Error of kind %s", err, err, kind)
	}
	if ve.Kind != kind || ve.RetryAfter != retryAfter || (status != 0 && ve.HTTPStatus != status) {
		tb.Errorf("error = %+v, want kind %s, status %d, retry after %v", ve, kind, status, retryAfter)
	}
	return ve
}

// NoPII fails when err's message holds any of the values (emails, ids).
func NoPII(tb testing.TB, err error, values ...string) {
	tb.Helper()
	if err == nil {
		return
	}
	msg := strings.ToLower(err.Error())
	for _, v := range values {
		if v != "" && strings.Contains(msg, strings.ToLower(v)) {
			tb.Errorf("error %q holds a personal identifier", err)
		}
	}
}

// FaultCase is one injected fault and how the adapter must classify it.
type FaultCase struct {
	Name       string
	Fault      vendorsim.Fault
	Kind       vendor.Kind
	Status     int // 0: not checked (transport failures have none)
	RetryAfter time.Duration
}

// StandardFaults are the faults every adapter must classify: the vendor's throttle
// signal with Retry-After 7 s, an outage, a permanent rejection and a dead connection.
// Adapters whose vendor throttles differently adjust the 429 case.
func StandardFaults(vendorName string) []FaultCase {
	return []FaultCase{
		{Name: "throttled", Fault: vendorsim.Fault{Vendor: vendorName, Mode: vendorsim.Mode429, RetryAfterS: 7},
			Kind: vendor.Throttled, Status: 429, RetryAfter: 7 * time.Second},
		{Name: "5xx", Fault: vendorsim.Fault{Vendor: vendorName, Mode: vendorsim.Mode5xx},
			Kind: vendor.Transient, Status: 503},
		{Name: "4xx", Fault: vendorsim.Fault{Vendor: vendorName, Mode: vendorsim.Mode4xx},
			Kind: vendor.Permanent, Status: 400},
		{Name: "down", Fault: vendorsim.Fault{Vendor: vendorName, Mode: vendorsim.ModeDown},
			Kind: vendor.Transient},
	}
}

// RunFaults runs deliver once per case against a fresh simulator state with the fault
// set, and checks the classification and that no error holds any of pii.
func RunFaults(t *testing.T, sim *Sim, cases []FaultCase, deliver func(context.Context) error, pii ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			sim.Reset()
			sim.MustFault(t, tc.Fault)
			err := deliver(t.Context())
			WantError(t, err, tc.Kind, tc.Status, tc.RetryAfter)
			NoPII(t, err, pii...)
			if len(sim.CallsTo(tc.Fault.Vendor)) == 0 {
				t.Error("the vendor was never called, so the fault was not exercised")
			}
		})
	}
	sim.Reset()
}

// RunCancel checks that cancelling the context of a call the vendor is slow to answer
// returns promptly with context.Canceled, the signal the core must see.
func RunCancel(t *testing.T, sim *Sim, vendorName string, deliver func(context.Context) error) {
	t.Helper()
	sim.Reset()
	defer sim.Reset()
	sim.MustFault(t, vendorsim.Fault{Vendor: vendorName, Mode: vendorsim.ModeSlow, DelayMS: 10_000})
	ctx, cancel := context.WithCancel(t.Context())
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	start := time.Now()
	err := deliver(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("returned after %v; cancellation did not stop the call", took)
	}
}
