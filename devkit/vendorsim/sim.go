// Package vendorsim is a local stand-in for the privacy APIs of the vendors Consentry
// propagates consent and erasure to, so the product and its tests run offline.
//
// One handler serves every vendor under a path prefix named for it: an adapter whose
// production base URL is https://api.hubapi.com points at http://127.0.0.1:8090/hubspot
// instead. Each vendor follows the contract written down in docs/vendors/ (hubspot.md,
// salesforce.md, fullstory.md, posthog.md, amplitude.md, linkedin.md, sendgrid.md), including their auth headers, success shapes, error
// bodies, throttling signals and "already done" replies. A generic signed webhook
// receiver stands in for partners that push to us.
//
// Tests drive it through /_sim: every vendor call is recorded (GET /_sim/calls) and
// faults can be injected per vendor (POST /_sim/faults) to exercise retries, breakers
// and dead-lettering without a real outage. Asynchronous vendor jobs finish after
// Options.JobDelay of the injected clock, so tests advance a fake clock instead of
// sleeping.
package vendorsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
)

// maxBody bounds what one request may send; no vendor contract comes close, and an
// unbounded read would let a runaway client exhaust memory in a shared dev stack.
const maxBody = 4 << 20

// Options configures a Simulator. The zero value is usable.
type Options struct {
	// Now is the clock for job progression, replay windows and call timestamps. It is
	// called from concurrent requests, so a fake clock must lock. Default time.Now.
	Now func() time.Time
	// JobDelay is how long asynchronous deletion jobs take to finish. Zero or less
	// means the default of 2s.
	JobDelay time.Duration
	// WebhookKeys are the public keys the /webhook receiver trusts, as a receiver of
	// Consentry's webhooks fetches them from GET /.well-known/webhook-keys.
	WebhookKeys []webhooksig.PublicKey
	// Logger receives one line per vendor call. Default: discard. Only vendor, method
	// and status are logged: paths and bodies hold emails and ids.
	Logger *slog.Logger
	// NoRateLimits turns off the vendors' documented rate limits (Amplitude's one
	// request a second), for load tools that drive the pipeline far beyond them. It also
	// lifts the daily allocations HubSpotDailyLimit and SalesforceDailyLimit leave unset:
	// a bench's million calls would spend an entry-tier allocation within minutes and
	// then measure a lane waiting for tomorrow, not the pipeline.
	NoRateLimits bool
	// AmplitudeUnknownUsers are user ids Amplitude's project has never seen: a deletion
	// lists them in invalid_ids (or answers 400 without ignore_invalid_id).
	AmplitudeUnknownUsers []string
	// PostHogStatusLag is how long after a deletion is queued its deletion_status row
	// appears: newer PostHog queues a deletion before any row exists. The row then
	// completes JobDelay later.
	PostHogStatusLag time.Duration
	// TokenLifetime is how long access tokens from the vendors' token endpoints stay
	// valid (default 2 h, Salesforce's default session timeout).
	TokenLifetime time.Duration
	// HubSpotDailyLimit is the account's daily call allocation (default 250,000, the
	// Free/Starter tier). Calls past it are refused with HubSpot's DAILY 429 until the
	// next midnight UTC (the simulated account's time zone).
	HubSpotDailyLimit int
	// SalesforceDailyLimit is the org's API request allocation shown in Sforce-Limit-Info
	// (default 15,000). Calls past it are refused with 403 REQUEST_LIMIT_EXCEEDED until
	// Reset: Salesforce's allocation rolls over 24 hours, which no test waits for.
	SalesforceDailyLimit int
	// Random draws in [0, 1) to decide whether a fault with rate < 1 hits a call. It is
	// called under the simulator's lock, so it need not be safe for concurrent use.
	// Default: a PCG with a fixed seed, so a run's fault pattern repeats exactly.
	Random func() float64
}

// Simulator holds the recorded calls, injected faults and per-vendor state.
// It is safe for concurrent use.
type Simulator struct {
	now      func() time.Time
	jobDelay time.Duration
	keys     []webhooksig.PublicKey

	noRateLimits          bool
	unknownAmplitudeUsers map[string]bool
	posthogStatusLag      time.Duration

	hsLimit       int
	tokenLifetime time.Duration
	sfLimit       int

	log     *slog.Logger
	vendors map[string]vendorSpec
	routes  *http.ServeMux // vendor endpoints
	admin   *http.ServeMux // /_sim endpoints, never recorded or faulted

	mu     sync.Mutex
	random func() float64
	calls  []Call
	faults map[string]Fault
	limits map[string]*bucket
	state  *state
}

// Call is one request a vendor endpoint received.
type Call struct {
	Vendor         string // path prefix; "" when the prefix names no vendor
	Method         string
	Path           string
	Query          string // raw query string
	Status         int    // what the simulator answered; 0 when no response was sent
	At             time.Time
	IdempotencyKey string // the request's Idempotency-Key header, if any
	Traceparent    string // the request's W3C traceparent header, if any
	BodySHA256     string // hex sha256 of the request body
	Body           []byte // request body
}

// state is everything vendors remember between calls; Reset swaps in a fresh one.
type state struct {
	hubspot    hubspotState
	amplitude  amplitudeState
	posthog    posthogState
	fullstory  fullstoryState
	salesforce salesforceState
	sendgrid   sendgridState
	// tokens maps each access token the token endpoints issued to its expiry.
	tokens   map[string]time.Time
	tokenSeq int
}

func newState() *state {
	return &state{
		hubspot:    newHubspotState(),
		posthog:    newPosthogState(),
		fullstory:  newFullstoryState(),
		salesforce: salesforceState{deleted: map[string]bool{}, erased: map[string]bool{}, jobs: map[string]*salesforceJob{}},
		sendgrid:   newSendgridState(),
		tokens:     map[string]time.Time{},
	}
}

// New returns a Simulator with defaults filled in.
func New(opts Options) *Simulator {
	s := &Simulator{
		now:      opts.Now,
		jobDelay: opts.JobDelay,
		log:      opts.Logger,
		random:   opts.Random,
		keys:     slices.Clone(opts.WebhookKeys),
		faults:   map[string]Fault{},
		limits:   map[string]*bucket{},
		state:    newState(),

		noRateLimits:          opts.NoRateLimits,
		unknownAmplitudeUsers: map[string]bool{},
		posthogStatusLag:      max(opts.PostHogStatusLag, 0),
		hsLimit:               opts.HubSpotDailyLimit,
		sfLimit:               opts.SalesforceDailyLimit,
		tokenLifetime:         opts.TokenLifetime,
	}
	if s.tokenLifetime <= 0 {
		s.tokenLifetime = defaultTokenLifetime
	}
	if s.hsLimit <= 0 {
		s.hsLimit = 250_000
		if s.noRateLimits {
			s.hsLimit = math.MaxInt32
		}
	}
	if s.sfLimit <= 0 {
		s.sfLimit = salesforceDailyLimit
		if s.noRateLimits {
			s.sfLimit = math.MaxInt32
		}
	}
	for _, u := range opts.AmplitudeUnknownUsers {
		s.unknownAmplitudeUsers[u] = true
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.jobDelay <= 0 {
		s.jobDelay = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.random == nil {
		s.random = rand.New(rand.NewPCG(1, 2)).Float64
	}
	s.vendors = s.vendorSpecs()
	s.routes, s.admin = s.vendorRoutes(), s.adminRoutes()
	return s
}

// Handler serves the vendor endpoints and /_sim.
func (s *Simulator) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
			serveMux(s.admin, w, r, simError)
			return
		}
		s.serveVendor(w, r)
	})
}

// Calls returns a snapshot of the recorded calls, oldest first.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Body = bytes.Clone(c.Body)
		out[i] = c
	}
	// Calls are appended when answered; sorting by arrival puts a slow call that began
	// first ahead of quick ones that overtook it. Stable keeps answer order for ties,
	// which a frozen test clock produces for every call.
	slices.SortStableFunc(out, func(a, b Call) int { return a.At.Compare(b.At) })
	return out
}

// CallsFrom returns the calls recorded after the first n, in the order they were
// answered and without their bodies, and the n to pass next time. It is for watching
// a long run: Calls copies, clones and sorts every call while vendor calls wait for
// the lock. Start again from 0 after a Reset (n beyond the calls recorded since is taken
// as 0, but a reader that reset should not count on it).
func (s *Simulator) CallsFrom(n int) ([]Call, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > len(s.calls) {
		n = 0
	}
	out := make([]Call, len(s.calls)-n)
	for i, c := range s.calls[n:] {
		c.Body = nil
		out[i] = c
	}
	return out, len(s.calls)
}

// Reset clears recorded calls, faults, limits and all vendor state.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.faults = map[string]Fault{}
	s.limits = map[string]*bucket{}
	s.state = newState()
}

func (s *Simulator) clearCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// record stores a call and logs it without anything that could identify a person.
func (s *Simulator) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	s.log.Info("vendor call", "vendor", c.Vendor, "method", c.Method, "status", c.Status)
}

// serveVendor records the call, applies the vendor's fault, and routes what is left.
func (s *Simulator) serveVendor(w http.ResponseWriter, r *http.Request) {
	call := Call{
		Vendor:         vendorOf(r.URL.Path, s.vendors),
		Method:         r.Method,
		Path:           r.URL.Path,
		Query:          r.URL.RawQuery,
		At:             s.now(),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Traceparent:    r.Header.Get("traceparent"),
	}
	spec := s.spec(call.Vendor)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	sum := sha256.Sum256(body)
	call.Body, call.BodySHA256 = body, hex.EncodeToString(sum[:])
	r.Body = io.NopCloser(bytes.NewReader(body))

	fault := s.drawFault(call.Vendor)
	switch fault.Mode {
	case ModeDown:
		// Recorded before the close so a client that sees the error also sees the call.
		s.record(call)
		dropConnection(w)
		return
	case ModeSlow:
		if !sleep(r.Context(), time.Duration(fault.DelayMS)*time.Millisecond) {
			s.record(call) // the client gave up; nothing is sent
			return
		}
	}

	// The answer is buffered so the call is on record before the client can see it;
	// otherwise a test reading /_sim/calls right after a response could miss it.
	resp := newBufferedResponse()
	spec.headers(resp)
	switch {
	case err != nil:
		status, msg := http.StatusBadRequest, "could not read the request body"
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			status, msg = http.StatusRequestEntityTooLarge, "request body too large"
		}
		spec.fail(resp, status, msg)
	case fault.Mode == Mode5xx:
		spec.fail(resp, http.StatusServiceUnavailable, "simulated outage")
	case fault.Mode == Mode4xx:
		spec.fail(resp, http.StatusBadRequest, "simulated permanent rejection")
	case fault.Mode == Mode429:
		spec.throttle(resp, fault.RetryAfterS)
	case s.limited(resp, r, body, call.Vendor, spec):
	case s.expiredToken(r):
		spec.fail(resp, http.StatusUnauthorized, "Session expired or invalid")
	case spec.spent(resp):
	default:
		switch fault.Mode {
		case ModePartial:
			r = r.WithContext(context.WithValue(r.Context(), partialKey{}, true))
		case ModeReject:
			r = r.WithContext(context.WithValue(r.Context(), rejectKey{}, fault.Item))
		}
		serveMux(s.routes, resp, r, spec.fail)
	}
	call.Status = resp.statusCode()
	s.record(call)
	resp.flushTo(w)
}

// vendorOf names the vendor from the first path segment, or "" for an unknown prefix.
func vendorOf(path string, vendors map[string]vendorSpec) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if _, ok := vendors[first]; ok {
		return first
	}
	return ""
}

// dropConnection closes the connection without a response, which is what a vendor
// behind a dead load balancer looks like to the client.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 connections cannot be hijacked; ErrAbortHandler is net/http's own way
		// to abort a response without sending one, so this is not a crash.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// sleep waits d or until ctx ends, and reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveMux routes r, answering the mux's own text/plain 404 and 405 replies in fail's
// JSON shape instead, so clients can always decode an error body.
func serveMux(mux *http.ServeMux, w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, int, string)) {
	h, pattern := mux.Handler(r)
	if pattern != "" {
		mux.ServeHTTP(w, r) // ServeHTTP, not h, so path values are set
		return
	}
	probe := newBufferedResponse()
	h.ServeHTTP(probe, r)
	status := probe.statusCode()
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		probe.flushTo(w) // a redirect to the cleaned path; its Location matters
		return
	}
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	fail(w, status, strings.ToLower(http.StatusText(status)))
}

// bufferedResponse holds an answer until the call has been recorded.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// statusCode is what net/http would send: 200 when the handler wrote nothing.
func (b *bufferedResponse) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.statusCode())
	w.Write(b.body.Bytes()) // a write error means the client left; nothing to do
}
