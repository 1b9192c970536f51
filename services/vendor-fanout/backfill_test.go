package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/schemas"
)

// withSendgrid is the default routing plus SendGrid for marketing email and erasure.
// Amplitude keeps its documented one request a second: the simulator refuses more.
const withSendgrid = `{
  "instances": [
    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 4},
    {"name": "amplitude", "type": "amplitude", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
    {"name": "posthog", "type": "posthog", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 2},
    {"name": "fullstory", "type": "fullstory", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 2},
    {"name": "sendgrid", "type": "sendgrid", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 2}
  ],
  "denied": {
    "analytics": {"amplitude": "delete_user", "posthog": "delete_user", "fullstory": "delete_user"},
    "marketing_email": {"hubspot": "opt_out", "sendgrid": "suppress_email"}
  },
  "requests": {"erasure": {"hubspot": "delete_user", "amplitude": "delete_user", "posthog": "delete_user",
                           "fullstory": "delete_user", "sendgrid": "delete_user"}}
}`

func (f *fixture) grant(purposes ...string) func(schemas.Header) (string, schemas.Event) {
	return func(h schemas.Header) (string, schemas.Event) {
		p := map[string]string{}
		for _, x := range purposes {
			p[x] = "granted"
		}
		return f.stack.Kafka.Topics.Consents, &schemas.ConsentChanged{Header: h, Purposes: p}
	}
}

// sendgridCalls returns the simulator's SendGrid calls as "METHOD path" strings.
func (f *fixture) sendgridCalls() []string {
	var out []string
	for _, c := range f.sim.Calls() {
		if c.Vendor == "sendgrid" {
			out = append(out, c.Method+" "+c.Path)
		}
	}
	return out
}

// TestEnablingAVendorBackfillsItOnce: a vendor added later receives the opt-outs still
// in force and the erasures already requested — not an opt-out that was withdrawn — and
// back-filling again has no second effect.
func TestEnablingAVendorBackfillsItOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testkit.NewStack(t))
	// The erasure must still be open when SendGrid is back-filled: its completion
	// destroys the subject's key, and a delivery back-filled after that has no address to
	// send (it ends unverifiable, with no call). Amplitude, down until then, holds it
	// open; without that the erasure sometimes completed first (1 run in 4 under load).
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "amplitude", Mode: vendorsim.ModeDown}); err != nil {
		t.Fatal(err)
	}
	f.run(nil) // the default routing: no SendGrid
	f.publish("still-out", "out@example.com", f.deny("marketing_email"))
	f.publish("came-back", "back@example.com", f.deny("marketing_email"))
	f.publish("came-back", "back@example.com", f.grant("marketing_email"))
	erasedID := f.publish("erased", "gone@example.com", f.erase)
	f.waitFor("the first run's deliveries", 60*time.Second, func() bool {
		return f.successes("hubspot", "unsubscribe-all") == 2 && f.successes("hubspot", "gdpr-delete") == 1
	})
	if err := f.svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sendgridCalls()); n != 0 {
		t.Fatalf("sendgrid was called %d times before it was enabled", n)
	}

	routes := filepath.Join(t.TempDir(), "routing.json")
	if err := os.WriteFile(routes, []byte(withSendgrid), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(map[string]string{"CONSENTRY_ROUTING_FILE": routes})
	defer func() {
		if t.Failed() {
			t.Log(f.svc.Logs.String())
		}
	}()
	f.waitFor("the back-fill to reach sendgrid", 60*time.Second, func() bool {
		suppressed, deleted := 0, 0
		for _, c := range f.sendgridCalls() {
			if strings.HasSuffix(c, "/suppressions/global") {
				suppressed++
			}
			if strings.HasPrefix(c, "DELETE ") {
				deleted++
			}
		}
		return suppressed == 1 && deleted == 1
	})
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "amplitude", Mode: vendorsim.ModeOK}); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.sim.Calls() {
		if c.Vendor == "sendgrid" && strings.Contains(string(c.Body), "back@example.com") {
			t.Errorf("sendgrid got %s for a person who opted back in", c.Path)
		}
	}

	f.idle("sendgrid")
	before := len(f.sendgridCalls())
	var resp struct {
		Planned       int `json:"planned"`
		NewDeliveries int `json:"new_deliveries"`
	}
	if s := testkit.Call(t, "POST", f.svc.URL+"/v1/vendors/sendgrid/backfill", testkit.OperatorKey, nil, &resp); s != http.StatusOK {
		t.Fatalf("back-fill: %d", s)
	}
	if resp.Planned != 2 || resp.NewDeliveries != 0 {
		t.Errorf("a second back-fill planned %d and added %d, want 2 and 0", resp.Planned, resp.NewDeliveries)
	}
	f.idle("sendgrid")
	if after := len(f.sendgridCalls()); after != before {
		t.Errorf("a second back-fill made %d more sendgrid calls", after-before)
	}
	// The erasure was announced completed once: its back-filled delivery to SendGrid
	// leaves a receipt, not a second completion.
	if c := f.completion(erasedID); c.Type != "erasure" {
		t.Errorf("completion %+v", c)
	}
	if s := testkit.Call(t, "POST", f.svc.URL+"/v1/vendors/sendgrid/backfill", testkit.TenantKey, nil, nil); s != http.StatusForbidden {
		t.Errorf("a tenant key ran a back-fill: %d", s)
	}
}
