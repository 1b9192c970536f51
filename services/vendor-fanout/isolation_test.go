package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
)

// TestBreakerOpensAndProbesSparingly: against a vendor answering 5xx, the breaker opens
// after at most five failures (plus what was already in flight), then lets through no
// more than MaxRequests (3) probes each time it half-opens — while retries alone would
// call it every few hundred milliseconds. The bound is counted against the breaker's own
// state changes, not against gaps between calls, so a slow machine cannot blur it.
func TestBreakerOpensAndProbesSparingly(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "fullstory", Mode: "5xx"}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		f.publish("b"+string(rune('a'+i)), "b@example.com", f.deny("analytics"))
	}
	f.waitFor("fullstory's probes to fail twice", 60*time.Second, func() bool {
		return f.breakerChanges("fullstory")["half-open>open"] >= 2
	})
	// Every call was let through while the breaker was closed (before it first opened) or
	// half-open; counting the half-openings after the calls keeps every call's own
	// half-opening in the count.
	calls := f.callsTo("fullstory")
	halfOpenings := f.breakerChanges("fullstory")["open>half-open"]
	if max := 5 + 2 + 3*halfOpenings; calls > max { // five failures trip it; the lane's concurrency (2) may have one more in flight
		t.Errorf("fullstory was called %d times over %d half-openings, want at most %d; simulator calls:\n%s", calls, halfOpenings, max, f.summary())
	}
	var vs vendorsResponse
	testkit.Call(t, "GET", f.svc.URL+"/v1/vendors", testkit.OperatorKey, nil, &vs)
	for _, v := range vs.Vendors {
		if v.Name == "fullstory" && (v.Breaker == "closed" || v.QueueDepth != 10 || !strings.Contains(v.LastError, "503")) {
			t.Errorf("fullstory lane %+v: want a tripped breaker, all 10 deliveries held, the 503 as last error", v)
		}
	}
}

// callsTo counts the simulator's calls to vendor, whatever their answer.
func (f *fixture) callsTo(vendor string) int {
	n := 0
	for _, c := range f.sim.Calls() {
		if c.Vendor == vendor {
			n++
		}
	}
	return n
}

// breakerChanges counts the service's logged breaker state changes for vendor, keyed
// "from>to".
func (f *fixture) breakerChanges(vendor string) map[string]int {
	f.t.Helper()
	n := map[string]int{}
	for _, line := range strings.Split(f.svc.Logs.String(), "\n") {
		var e struct {
			Msg, Vendor, From, To string
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "breaker state changed" && e.Vendor == vendor {
			n[e.From+">"+e.To]++
		}
	}
	return n
}

// TestTenantCredentialsReachOnlyThatTenant: an enterprise Customer's own HubSpot (its own
// account and token, here its own simulator) receives its subjects' actions and no one
// else's; the shared HubSpot never sees the Customer's subjects.
func TestTenantCredentialsReachOnlyThatTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testkit.NewStack(t))
	acmeSim := vendorsim.New(vendorsim.Options{})
	acmeSrv := httptest.NewServer(acmeSim.Handler())
	t.Cleanup(acmeSrv.Close)
	routes := filepath.Join(t.TempDir(), "routing.json")
	if err := os.WriteFile(routes, []byte(`{
	  "instances": [
	    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 2},
	    {"name": "acme-hubspot", "type": "hubspot", "tenants": ["acme"], "rate_per_second": 50, "burst": 50, "concurrency": 2}
	  ],
	  "denied": {"marketing_email": {"hubspot": "opt_out"}},
	  "requests": {"erasure": {"hubspot": "delete_user"}}
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(map[string]string{
		"CONSENTRY_ROUTING_FILE":                 routes,
		"CONSENTRY_VENDOR_ACME_HUBSPOT_BASE_URL": acmeSrv.URL + "/hubspot",
		"CONSENTRY_VENDOR_ACME_HUBSPOT_TOKEN":    "acme-own-token",
	})
	f.publishAs("consumer", "c1", "c1@example.com", f.deny("marketing_email"))
	f.publishAs("acme", "a1", "a1@acme.example", f.deny("marketing_email"))
	f.publishAs("acme", "a2", "a2@acme.example", f.erase)

	paths := func(sim *vendorsim.Simulator) string {
		var p []string
		for _, c := range sim.Calls() {
			p = append(p, c.Path)
		}
		sort.Strings(p)
		return strings.Join(p, " ")
	}
	f.waitFor("both tenants' deliveries", 60*time.Second, func() bool {
		return len(f.sim.Calls()) == 1 && len(acmeSim.Calls()) == 2
	})
	if got := paths(f.sim); !strings.Contains(got, "c1@example.com") || strings.Contains(got, "acme.example") {
		t.Errorf("the shared HubSpot saw %s", got)
	}
	if got := paths(acmeSim); !strings.Contains(got, "a1@acme.example") || strings.Contains(got, "c1@example.com") {
		t.Errorf("acme's HubSpot saw %s", got)
	}
}
