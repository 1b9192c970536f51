package vendorsim_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

// setFault posts a fault the way an out-of-process test would.
func (e *env) setFault(t testing.TB, body string) {
	t.Helper()
	if r := e.do(t, "POST", "/_sim/faults", body); r.status != 200 {
		t.Fatalf("POST /_sim/faults %s = %d %s", body, r.status, r.body)
	}
}

const gdprPath = "/hubspot/crm/v3/objects/contacts/gdpr-delete"

func TestFaultDown(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"hubspot","mode":"down"}`)
	_, err := e.send(context.Background(), "POST", gdprPath, `{"objectId":"a@b.c","idProperty":"email"}`, "Authorization", "Bearer t")
	if err == nil {
		t.Fatal("request succeeded, want a connection error")
	}
	calls := e.sim.Calls()
	if len(calls) != 1 || calls[0].Status != 0 || calls[0].Vendor != "hubspot" {
		t.Errorf("calls = %+v, want one hubspot call with status 0", calls)
	}
	// Other vendors are unaffected: faults are per vendor.
	if r := e.do(t, "GET", "/fullstory/v2/users?uid=u", "", "Authorization", "Basic k"); r.status != 200 {
		t.Errorf("fullstory = %d, want 200", r.status)
	}
}

func TestFaultThrottle(t *testing.T) {
	tests := []struct {
		name, fault, method, path, auth string
		want                            int
		retryAfter                      string
		check                           func(*testing.T, resp)
	}{
		{
			name: "hubspot", fault: `{"vendor":"hubspot","mode":"429","retry_after_s":7}`,
			method: "POST", path: gdprPath, auth: "Bearer t", want: 429, retryAfter: "7",
			check: func(t *testing.T, r resp) {
				b := decode[map[string]string](t, r.body)
				if b["errorType"] != "RATE_LIMIT" || b["policyName"] != "TEN_SECONDLY_ROLLING" || b["status"] != "error" {
					t.Errorf("body = %s", r.body)
				}
			},
		},
		{
			name: "fullstory", fault: `{"vendor":"fullstory","mode":"429","retry_after_s":3}`,
			method: "GET", path: "/fullstory/v2/users?uid=u", auth: "Basic k", want: 429, retryAfter: "3",
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"message":"too many requests","code":"too_many_requests"}`)
			},
		},
		{
			name: "salesforce throttles with 403", fault: `{"vendor":"salesforce","mode":"429","retry_after_s":5}`,
			method: "DELETE", path: "/salesforce/services/data/v60.0/sobjects/Contact/003A", auth: "Bearer t", want: 403, retryAfter: "",
			check: func(t *testing.T, r resp) {
				b := decode[[]map[string]string](t, r.body)
				if len(b) != 1 || b[0]["errorCode"] != "REQUEST_LIMIT_EXCEEDED" {
					t.Errorf("body = %s", r.body)
				}
				if r.header.Get("Sforce-Limit-Info") == "" {
					t.Error("Sforce-Limit-Info missing on the throttled reply")
				}
			},
		},
		{
			name: "sendgrid without retry-after", fault: `{"vendor":"sendgrid","mode":"429"}`,
			method: "POST", path: "/sendgrid/v3/asm/suppressions/global", auth: "Bearer t", want: 429, retryAfter: "",
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"errors":[{"field":null,"message":"too many requests"}]}`)
				if r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
					t.Errorf("rate-limit headers = %v", r.header)
				}
			},
		},
		{
			name: "posthog", fault: `{"vendor":"posthog","mode":"429","retry_after_s":2}`,
			method: "GET", path: "/posthog/api/projects/1/persons/deletion_status/", auth: "Bearer t", want: 429, retryAfter: "2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, vendorsim.Options{})
			e.setFault(t, tc.fault)
			r := e.do(t, tc.method, tc.path, "", "Authorization", tc.auth)
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.want, r.body)
			}
			if got := r.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if calls := e.sim.Calls(); len(calls) != 1 || calls[0].Status != tc.want {
				t.Errorf("recorded %+v, want one call with status %d", calls, tc.want)
			}
		})
	}
}

func TestFaultSendGridResetHeader(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"sendgrid","mode":"429","retry_after_s":30}`)
	r := e.do(t, "POST", "/sendgrid/v3/asm/suppressions/global", "", "Authorization", "Bearer t")
	want := strconv.FormatInt(e.clock.Now().Add(30*time.Second).Unix(), 10)
	if r.header.Get("X-RateLimit-Reset") != want || r.header.Get("Retry-After") != "30" {
		t.Errorf("X-RateLimit-Reset = %q (want %s), Retry-After = %q (want 30)",
			r.header.Get("X-RateLimit-Reset"), want, r.header.Get("Retry-After"))
	}
}

func TestFaultErrors(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"posthog","mode":"5xx"}`)
	e.setFault(t, `{"vendor":"amplitude","mode":"4xx"}`)
	r := e.do(t, "GET", "/posthog/api/projects/1/persons/deletion_status/", "", "Authorization", "Bearer t")
	if b := decode[map[string]any](t, r.body); r.status != 503 || b["type"] != "server_error" {
		t.Errorf("5xx = %d %s, want 503 in PostHog's shape", r.status, r.body)
	}
	r = e.do(t, "GET", "/amplitude/api/2/deletions/users", "", basic("k", "s")...)
	if b := decode[map[string]any](t, r.body); r.status != 400 || b["code"] != 400.0 {
		t.Errorf("4xx = %d %s, want 400 in Amplitude's shape", r.status, r.body)
	}

	e.setFault(t, `{"vendor":"posthog","mode":"ok"}`)
	r = e.do(t, "GET", "/posthog/api/projects/1/persons/deletion_status/", "", "Authorization", "Bearer t")
	if r.status != 200 {
		t.Errorf("after ok = %d, want 200", r.status)
	}
	faults := decode[[]vendorsim.Fault](t, e.do(t, "GET", "/_sim/faults", "").body)
	want := vendorsim.Fault{Vendor: "amplitude", Mode: "4xx", Rate: 1}
	if len(faults) != 1 || faults[0] != want {
		t.Errorf("faults = %+v, want only %+v (rate defaulted to 1)", faults, want)
	}
}

func TestFaultSlow(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"linkedin","mode":"slow","delay_ms":30000}`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.send(ctx, "POST", "/linkedin/rest/dmpSegments/1/users", "{}")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline to expire first", err)
	}
	// The handler must notice the client left instead of sleeping 30s; polling its
	// record is the observable sign. srv.Close in cleanup would also hang otherwise.
	// The deadline stays under the fault's 30 s so that a handler that slept through it
	// cannot pass.
	deadline := time.Now().Add(20 * time.Second)
	for len(e.sim.Calls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if calls := e.sim.Calls(); len(calls) != 1 || calls[0].Status != 0 {
		t.Errorf("calls = %+v, want one with status 0 (nothing sent)", calls)
	}

	e.setFault(t, `{"vendor":"linkedin","mode":"slow","delay_ms":1}`)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := e.send(ctx, "POST", "/linkedin/rest/dmpSegments/1/users", "{}")
	if err != nil || r.status != 401 {
		t.Errorf("short delay = %v %v, want the normal answer (401: no auth)", r.status, err)
	}
}

func TestFaultRate(t *testing.T) {
	pattern := func() []int {
		e := start(t, vendorsim.Options{Random: rand.New(rand.NewPCG(42, 42)).Float64})
		e.setFault(t, `{"vendor":"fullstory","mode":"5xx","rate":0.5}`)
		var got []int
		for range 40 {
			got = append(got, e.do(t, "GET", "/fullstory/v2/users?uid=u", "", "Authorization", "Basic k").status)
		}
		return got
	}
	first := pattern()
	failed := 0
	for _, s := range first {
		switch s {
		case 503:
			failed++
		case 200:
		default:
			t.Fatalf("status %d, want 200 or 503", s)
		}
	}
	if failed == 0 || failed == len(first) {
		t.Errorf("%d of %d calls failed, want some but not all", failed, len(first))
	}
	if again := pattern(); !slices.Equal(first, again) {
		t.Errorf("same seed gave a different pattern:\n%v\n%v", first, again)
	}
}

func TestFaultValidation(t *testing.T) {
	e := start(t, vendorsim.Options{})
	tests := []struct{ body, field string }{
		{`{"vendor":"acme","mode":"down"}`, "vendor"},
		{`{"mode":"down"}`, "vendor"},
		{`{"vendor":"hubspot","mode":"broken"}`, "mode"},
		{`{"vendor":"hubspot","mode":"5xx","rate":1.5}`, "rate"},
		{`{"vendor":"hubspot","mode":"5xx","rate":-0.1}`, "rate"},
		{`{"vendor":"hubspot","mode":"5xx","rate":"half"}`, "rate"},
		{`{"vendor":"hubspot","mode":"429","retry_after_s":-1}`, "retry_after_s"},
		{`{"vendor":"hubspot","mode":"slow"}`, "delay_ms"},
		{`{"vendor":"hubspot","mode":"429","retry_after":5}`, "retry_after"},
		{`{"vendor":"amplitude","mode":"reject"}`, "item"},
		{`{"vendor":"hubspot","mode":"reject","item":"u1"}`, "mode"},
		{`{"vendor":"amplitude","mode":"5xx","item":"u1"}`, "item"},
		{`{"vendor":`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			r := e.do(t, "POST", "/_sim/faults", tc.body)
			b := decode[map[string]string](t, r.body)
			if r.status != 400 || b["field"] != tc.field || b["error"] == "" {
				t.Errorf("= %d %s, want 400 naming field %q", r.status, r.body, tc.field)
			}
		})
	}
	if err := e.sim.SetFault(vendorsim.Fault{Vendor: "acme", Mode: "down"}); err == nil {
		t.Error("SetFault accepted an unknown vendor")
	}
	if got := e.do(t, "GET", "/_sim/faults", "").body; string(got) != "[]\n" {
		t.Errorf("faults after rejected input = %s, want []", got)
	}
}
