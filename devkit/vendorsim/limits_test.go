package vendorsim_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestLimitRateAndBatch(t *testing.T) {
	e := start(t, vendorsim.Options{})
	if err := e.sim.SetLimit(vendorsim.Limit{Vendor: "sendgrid", PerSecond: 10, MaxBatch: 100}); err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer SG.key"}
	const suppress = "/sendgrid/v3/asm/suppressions/global"
	emails := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `"p` + strconv.Itoa(i) + `@example.com"`
		}
		return `{"recipient_emails":[` + strings.Join(parts, ",") + `]}`
	}

	// A full batch is taken; one more item is refused whole, before any is applied.
	if r := e.do(t, "POST", suppress, emails(100), auth...); r.status != 201 {
		t.Fatalf("100 addresses: %d %s", r.status, r.body)
	}
	if r := e.do(t, "POST", suppress, emails(101), auth...); r.status != 400 || !strings.Contains(string(r.body), "at most 100") {
		t.Fatalf("101 addresses: %d %s, want 400 naming the maximum", r.status, r.body)
	}

	// Ten a second, with the clock still: the two calls above took two tokens (a refused
	// batch is refused after its size is checked, so it took none) — 1 + 8 more pass.
	for i := range 9 {
		if r := e.do(t, "POST", suppress, emails(1), auth...); r.status != 201 {
			t.Fatalf("call %d within the limit: %d %s", i+2, r.status, r.body)
		}
	}
	r := e.do(t, "POST", suppress, emails(1), auth...)
	if r.status != 429 {
		t.Fatalf("11th call in a second: %d %s, want 429", r.status, r.body)
	}
	// SendGrid documents X-RateLimit-Reset, not Retry-After (docs/vendors/sendgrid.md).
	if r.header.Get("Retry-After") != "" || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("throttle headers = %v, want SendGrid's reset headers and no Retry-After", r.header)
	}
	// A tenth of a second later one token is back, and only one.
	e.clock.Advance(100 * time.Millisecond)
	if r := e.do(t, "POST", suppress, emails(1), auth...); r.status != 201 {
		t.Fatalf("after 100 ms: %d %s", r.status, r.body)
	}
	if r := e.do(t, "POST", suppress, emails(1), auth...); r.status != 429 {
		t.Fatalf("second call after 100 ms: %d, want 429", r.status)
	}
	// Other vendors are not limited.
	if r := e.do(t, "POST", "/webhook/x", `{}`); r.status == 429 {
		t.Fatalf("webhook throttled by SendGrid's limit")
	}

	// Clearing the limit (and Reset) lets everything through again.
	if err := e.sim.SetLimit(vendorsim.Limit{Vendor: "sendgrid"}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if r := e.do(t, "POST", suppress, emails(200), auth...); r.status != 201 {
			t.Fatalf("after clearing: %d %s", r.status, r.body)
		}
	}
}

func TestLimitRetryAfterWhereDocumented(t *testing.T) {
	e := start(t, vendorsim.Options{})
	if err := e.sim.SetLimit(vendorsim.Limit{Vendor: "fullstory", PerSecond: 0.5}); err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Basic k"}
	e.do(t, "DELETE", "/fullstory/v2/users?uid=a", "", auth...)
	r := e.do(t, "DELETE", "/fullstory/v2/users?uid=b", "", auth...)
	// Half a request a second: the next token is two seconds away.
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("over the limit: %d, Retry-After %q, want 429 and 2", r.status, r.header.Get("Retry-After"))
	}
	e.sim.Reset()
	if r := e.do(t, "DELETE", "/fullstory/v2/users?uid=c", "", auth...); r.status == 429 {
		t.Fatal("Reset kept the limit")
	}
}

func TestLimitValidation(t *testing.T) {
	sim := vendorsim.New(vendorsim.Options{})
	for _, tc := range []struct {
		l     vendorsim.Limit
		field string
	}{
		{vendorsim.Limit{Vendor: "nope", PerSecond: 1}, "unknown vendor"},
		{vendorsim.Limit{Vendor: "sendgrid", PerSecond: -1}, "per_second"},
		{vendorsim.Limit{Vendor: "sendgrid", PerSecond: 1, MaxBatch: -1}, "max_batch"},
	} {
		err := sim.SetLimit(tc.l)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("SetLimit(%+v) = %v, want an error naming %s", tc.l, err, tc.field)
		}
	}
}
