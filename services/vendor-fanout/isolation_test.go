package main

import (
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
// more than MaxRequests (3) probes per open period — while retries alone would call it
// every few hundred milliseconds.
func TestBreakerOpensAndProbesSparingly(t *testing.T) {
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "fullstory", Mode: "5xx"}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		f.publish("b"+string(rune('a'+i)), "b@example.com", f.deny("analytics"))
	}
	f.waitFor("at least three bursts of fullstory calls", 20*time.Second, func() bool { return len(bursts(f.fullstoryCalls())) >= 3 })
	b := bursts(f.fullstoryCalls())
	if b[0] > 5+2 { // five failures trip it; the lane's concurrency (2) may have one more in flight
		t.Errorf("the breaker let %d calls through before opening", b[0])
	}
	for i, n := range b[1 : len(b)-1] {
		if n > 3 {
			t.Errorf("open period %d let %d probes through, want at most 3", i+1, n)
		}
	}
	var vs vendorsResponse
	testkit.Call(t, "GET", f.svc.URL+"/v1/vendors", testkit.APIKey, nil, &vs)
	for _, v := range vs.Vendors {
		if v.Name == "fullstory" && (v.Breaker == "closed" || v.QueueDepth != 10 || !strings.Contains(v.LastError, "503")) {
			t.Errorf("fullstory lane %+v: want a tripped breaker, all 10 deliveries held, the 503 as last error", v)
		}
	}
}

func (f *fixture) fullstoryCalls() []time.Time {
	var at []time.Time
	for _, c := range f.sim.Calls() {
		if c.Vendor == "fullstory" {
			at = append(at, c.At)
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	return at
}

// bursts groups calls separated by less than 800 ms (the breaker stays open 1 s) and
// returns the size of each group.
func bursts(at []time.Time) []int {
	var out []int
	for i, t := range at {
		if i == 0 || t.Sub(at[i-1]) >= 800*time.Millisecond {
			out = append(out, 0)
		}
		out[len(out)-1]++
	}
	return out
}

// TestTenantCredentialsReachOnlyThatTenant: an enterprise Customer's own HubSpot (its own
// account and token, here its own simulator) receives its subjects' actions and no one
// else's; the shared HubSpot never sees the Customer's subjects.
func TestTenantCredentialsReachOnlyThatTenant(t *testing.T) {
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
	f.waitFor("both tenants' deliveries", 20*time.Second, func() bool {
		return len(f.sim.Calls()) == 1 && len(acmeSim.Calls()) == 2
	})
	if got := paths(f.sim); !strings.Contains(got, "c1@example.com") || strings.Contains(got, "acme.example") {
		t.Errorf("the shared HubSpot saw %s", got)
	}
	if got := paths(acmeSim); !strings.Contains(got, "a1@acme.example") || strings.Contains(got, "c1@example.com") {
		t.Errorf("acme's HubSpot saw %s", got)
	}
}
