package vendorsim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

// clock is a fake clock tests advance instead of sleeping for JobDelay.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Non-UTC with nanoseconds, so tests catch a listing that forgets either.
	return &clock{t: time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.FixedZone("CET", 3600))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type env struct {
	sim   *vendorsim.Simulator
	srv   *httptest.Server
	clock *clock
}

// start runs a simulator on a real listener; opts.Now defaults to a fake clock.
func start(t testing.TB, opts vendorsim.Options) *env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := vendorsim.New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clock: c}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request; header holds key, value pairs.
func (e *env) send(ctx context.Context, method, path, body string, header ...string) (resp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		return resp{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}, err
}

func (e *env) do(t testing.TB, method, path, body string, header ...string) resp {
	t.Helper()
	r, err := e.send(context.Background(), method, path, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// jsonEqual compares a body with the expected JSON, ignoring formatting.
func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	g, w := decode[any](t, got), decode[any](t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// step is one request in a sequence that shares simulator state.
type step struct {
	name               string
	method, path, body string
	header             []string
	advance            time.Duration // clock advance before the request
	want               int
	check              func(t *testing.T, r resp)
}

func run(t *testing.T, e *env, steps []step) {
	t.Helper()
	for _, s := range steps {
		e.clock.Advance(s.advance)
		r := e.do(t, s.method, s.path, s.body, s.header...)
		if r.status != s.want {
			t.Errorf("%s: status = %d, want %d; body %s", s.name, r.status, s.want, r.body)
			continue
		}
		if s.check != nil {
			t.Run(s.name, func(t *testing.T) { s.check(t, r) })
		}
	}
}

func emptyBody(t *testing.T, r resp) {
	if len(r.body) != 0 {
		t.Errorf("body = %q, want empty", r.body)
	}
}

type callJSON struct {
	Vendor         string  `json:"vendor"`
	Method         string  `json:"method"`
	Path           string  `json:"path"`
	Query          string  `json:"query"`
	Status         int     `json:"status"`
	At             string  `json:"at"`
	IdempotencyKey string  `json:"idempotency_key"`
	BodySHA256     string  `json:"body_sha256"`
	Body           *string `json:"body"`
}

func TestCallsListing(t *testing.T) {
	e := start(t, vendorsim.Options{})
	first := e.clock.Now()
	gdpr := `{"objectId":"ann@example.com","idProperty":"email"}`
	e.do(t, "POST", "/hubspot/crm/v3/objects/contacts/gdpr-delete", gdpr,
		"Authorization", "Bearer t", "Idempotency-Key", "req-1")
	e.clock.Advance(1500 * time.Millisecond)
	e.do(t, "DELETE", "/salesforce/services/data/v60.0/sobjects/Contact/003A?x=1", "") // no auth: 401
	e.clock.Advance(time.Second)
	e.do(t, "GET", "/fullstory/v2/users?uid=u1", "", "Authorization", "Basic k")

	r := e.do(t, "GET", "/_sim/calls", "")
	raw := decode[[]map[string]any](t, r.body)
	if len(raw) != 3 {
		t.Fatalf("got %d calls, want 3: %s", len(raw), r.body)
	}
	wantKeys := []string{"at", "body_sha256", "idempotency_key", "method", "path", "query", "status", "vendor"}
	for i, c := range raw {
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("call %d keys = %v, want %v", i, keys, wantKeys)
		}
	}

	calls := decode[[]callJSON](t, r.body)
	sum := sha256.Sum256([]byte(gdpr))
	emptySum := sha256.Sum256(nil)
	want := []callJSON{
		{Vendor: "hubspot", Method: "POST", Path: "/hubspot/crm/v3/objects/contacts/gdpr-delete", Status: 204,
			At: "2026-03-14T08:26:53.589793Z", IdempotencyKey: "req-1", BodySHA256: hex.EncodeToString(sum[:])},
		{Vendor: "salesforce", Method: "DELETE", Path: "/salesforce/services/data/v60.0/sobjects/Contact/003A", Query: "x=1",
			Status: 401, At: "2026-03-14T08:26:55.089793Z", BodySHA256: hex.EncodeToString(emptySum[:])},
		{Vendor: "fullstory", Method: "GET", Path: "/fullstory/v2/users", Query: "uid=u1", Status: 200,
			At: "2026-03-14T08:26:56.089793Z", BodySHA256: hex.EncodeToString(emptySum[:])},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls =\n%+v\nwant\n%+v", calls, want)
	}
	if at, err := time.Parse(time.RFC3339Nano, calls[0].At); err != nil || !at.Equal(first) {
		t.Errorf("at %q parses to %v (%v), want %v", calls[0].At, at, err, first)
	}

	t.Run("body on request", func(t *testing.T) {
		calls := decode[[]callJSON](t, e.do(t, "GET", "/_sim/calls?body=1", "").body)
		if calls[0].Body == nil || *calls[0].Body != gdpr {
			t.Errorf("body = %v, want %q", calls[0].Body, gdpr)
		}
		if calls[1].Body == nil || *calls[1].Body != "" {
			t.Errorf("empty body = %v, want present and empty", calls[1].Body)
		}
	})
	t.Run("vendor filter", func(t *testing.T) {
		calls := decode[[]callJSON](t, e.do(t, "GET", "/_sim/calls?vendor=salesforce", "").body)
		if len(calls) != 1 || calls[0].Vendor != "salesforce" {
			t.Errorf("filtered calls = %+v, want only the salesforce one", calls)
		}
		r := e.do(t, "GET", "/_sim/calls?vendor=nope", "")
		if r.status != 400 || decode[map[string]string](t, r.body)["field"] != "vendor" {
			t.Errorf("unknown vendor filter: %d %s, want 400 naming vendor", r.status, r.body)
		}
	})
	t.Run("in process", func(t *testing.T) {
		got := e.sim.Calls()
		if len(got) != 3 || string(got[0].Body) != gdpr || got[0].IdempotencyKey != "req-1" || !got[0].At.Equal(first) {
			t.Errorf("Calls()[0] = %+v", got[0])
		}
	})
	t.Run("clear", func(t *testing.T) {
		if r := e.do(t, "DELETE", "/_sim/calls", ""); r.status != 204 {
			t.Fatalf("DELETE /_sim/calls = %d", r.status)
		}
		r := e.do(t, "GET", "/_sim/calls", "")
		if got := strings.TrimSpace(string(r.body)); got != "[]" {
			t.Errorf("after clear = %s, want []", got)
		}
	})
}

// TestCallsOrderByArrival checks a slow call that arrived first is listed first even
// though a quicker call was answered before it.
func TestCallsOrderByArrival(t *testing.T) {
	c := newClock()
	arrived := make(chan struct{}, 1)
	e := start(t, vendorsim.Options{Now: func() time.Time {
		select {
		case arrived <- struct{}{}:
		default:
		}
		return c.Now()
	}})
	e.clock = c
	if err := e.sim.SetFault(vendorsim.Fault{Vendor: "linkedin", Mode: "slow", DelayMS: 200}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.send(context.Background(), "POST", "/linkedin/rest/dmpSegments/1/users", "{}")
	}()
	<-arrived // the slow call has its arrival time; make a later, quick one
	e.clock.Advance(time.Second)
	e.do(t, "GET", "/fullstory/v2/users?uid=u", "", "Authorization", "Basic k")
	<-done
	calls := e.sim.Calls()
	if len(calls) != 2 || calls[0].Vendor != "linkedin" || calls[1].Vendor != "fullstory" {
		t.Errorf("order = %v, want linkedin then fullstory", vendors(calls))
	}
}

func vendors(calls []vendorsim.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Vendor)
	}
	return out
}

func TestRouting(t *testing.T) {
	e := start(t, vendorsim.Options{})
	run(t, e, []step{
		{name: "unknown vendor path", method: "GET", path: "/hubspot/nope", want: 404, check: func(t *testing.T, r resp) {
			b := decode[map[string]string](t, r.body)
			if b["category"] != "OBJECT_NOT_FOUND" || b["status"] != "error" {
				t.Errorf("body = %s, want HubSpot's error shape", r.body)
			}
		}},
		// Not contacts/gdpr-delete: a GET there is the contact read of record "gdpr-delete".
		{name: "wrong method", method: "GET", path: "/hubspot/communication-preferences/v3/unsubscribe", want: 405, check: func(t *testing.T, r resp) {
			if r.header.Get("Allow") != "POST" || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Allow = %q, Content-Type = %q", r.header.Get("Allow"), r.header.Get("Content-Type"))
			}
		}},
		{name: "unknown prefix", method: "GET", path: "/nope/x", want: 404, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{"error":"not found"}`)
		}},
		{name: "unknown admin path", method: "GET", path: "/_sim/nope", want: 404, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{"error":"not found"}`)
		}},
		{name: "admin wrong method", method: "PUT", path: "/_sim/calls", want: 405},
	})
	calls := e.sim.Calls()
	got := []int{}
	for _, c := range calls {
		got = append(got, c.Status)
	}
	// Admin calls are not recorded; the unknown prefix is, with no vendor.
	if !slices.Equal(got, []int{404, 405, 404}) || calls[2].Vendor != "" {
		t.Errorf("recorded statuses = %v (vendor of last %q), want [404 405 404] and \"\"", got, calls[2].Vendor)
	}
}

func TestReset(t *testing.T) {
	e := start(t, vendorsim.Options{})
	del := func() int {
		return e.do(t, "DELETE", "/salesforce/services/data/v60.0/sobjects/Contact/003A", "", "Authorization", "Bearer t").status
	}
	if a, b := del(), del(); a != 204 || b != 404 {
		t.Fatalf("delete twice = %d, %d; want 204, 404", a, b)
	}
	if err := e.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "5xx"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "POST", "/_sim/reset", ""); r.status != 204 {
		t.Fatalf("reset = %d", r.status)
	}
	if n := len(e.sim.Calls()); n != 0 {
		t.Errorf("calls after reset = %d, want 0", n)
	}
	if got := strings.TrimSpace(string(e.do(t, "GET", "/_sim/faults", "").body)); got != "[]" {
		t.Errorf("faults after reset = %s, want []", got)
	}
	if got := del(); got != 204 {
		t.Errorf("delete after reset = %d, want 204: state should be fresh", got)
	}
}

// TestConcurrentCalls is for -race: every call lands in the record exactly once.
func TestConcurrentCalls(t *testing.T) {
	e := start(t, vendorsim.Options{})
	paths := []struct{ method, path, body, auth string }{
		{"POST", "/hubspot/crm/v3/objects/contacts/gdpr-delete", `{"objectId":"a@b.c","idProperty":"email"}`, "Bearer t"},
		{"GET", "/fullstory/v2/users?uid=u", "", "Basic k"},
		{"DELETE", "/salesforce/services/data/v60.0/sobjects/Lead/00Q", "", "Bearer t"},
		{"POST", "/sendgrid/v3/asm/suppressions/global", `{"recipient_emails":["a@b.c"]}`, "Bearer t"},
	}
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		p := paths[i%len(paths)]
		wg.Go(func() {
			if _, err := e.send(context.Background(), p.method, p.path, p.body, "Authorization", p.auth); err != nil {
				t.Error(err)
			}
			e.sim.Calls()
		})
	}
	wg.Wait()
	if got := len(e.sim.Calls()); got != n {
		t.Errorf("recorded %d calls, want %d", got, n)
	}
}

// syncBuffer lets the server's goroutines log while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsHoldNoIdentifiers(t *testing.T) {
	var logs syncBuffer
	e := start(t, vendorsim.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	e.do(t, "POST", "/hubspot/communication-preferences/v4/statuses/secret.person@example.com/unsubscribe-all?channel=EMAIL", "",
		"Authorization", "Bearer t")
	got := logs.String()
	if !strings.Contains(got, `"vendor":"hubspot"`) || !strings.Contains(got, `"status":200`) || !strings.Contains(got, `"method":"POST"`) {
		t.Errorf("log = %s, want vendor, method and status", got)
	}
	if strings.Contains(got, "secret.person") || strings.Contains(got, "statuses") {
		t.Errorf("log leaks the path or email: %s", got)
	}
}

func TestCallsFromReturnsOnlyNewCalls(t *testing.T) {
	e := start(t, vendorsim.Options{})
	call := func(key string) {
		e.do(t, "POST", "/hubspot/crm/v3/objects/contacts/gdpr-delete", `{"objectId":"ann@example.com","idProperty":"email"}`,
			"Authorization", "Bearer t", "Idempotency-Key", key)
	}
	keys := func(calls []vendorsim.Call) []string {
		var out []string
		for _, c := range calls {
			if c.Body != nil {
				t.Errorf("call %s carries its body", c.IdempotencyKey)
			}
			out = append(out, c.IdempotencyKey)
		}
		return out
	}
	call("k1")
	call("k2")
	calls, next := e.sim.CallsFrom(0)
	if got := keys(calls); !slices.Equal(got, []string{"k1", "k2"}) || next != 2 {
		t.Fatalf("first read: %v, next %d", got, next)
	}
	call("k3")
	if calls, next = e.sim.CallsFrom(next); !slices.Equal(keys(calls), []string{"k3"}) || next != 3 {
		t.Fatalf("second read: %v, next %d", keys(calls), next)
	}
	if calls, _ = e.sim.CallsFrom(next); len(calls) != 0 {
		t.Fatalf("nothing new, yet %v", keys(calls))
	}
	e.sim.Reset()
	call("k4")
	if calls, next = e.sim.CallsFrom(next); !slices.Equal(keys(calls), []string{"k4"}) || next != 1 {
		t.Fatalf("after a reset: %v, next %d", keys(calls), next)
	}
}
