package routing_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

func TestDefaultRoutingIsDesignsPolicy(t *testing.T) {
	tab, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		purposes map[string]string
		want     []routing.Delivery
	}{
		{"analytics denial deletes at the analytics vendors", map[string]string{"analytics": "denied"}, []routing.Delivery{
			{Instance: "amplitude", Action: vendor.DeleteUser}, {Instance: "fullstory", Action: vendor.DeleteUser}, {Instance: "posthog", Action: vendor.DeleteUser}}},
		{"marketing_email denial unsubscribes at HubSpot", map[string]string{"marketing_email": "denied"}, []routing.Delivery{
			{Instance: "hubspot", Action: vendor.OptOut}}},
		{"grants reach nobody", map[string]string{"analytics": "granted", "marketing_email": "granted"}, []routing.Delivery{}},
		{"the design example", map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}, []routing.Delivery{
			{Instance: "amplitude", Action: vendor.DeleteUser}, {Instance: "fullstory", Action: vendor.DeleteUser},
			{Instance: "hubspot", Action: vendor.OptOut}, {Instance: "posthog", Action: vendor.DeleteUser}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, tab.ForConsent("consumer", c.purposes)); diff != "" {
				t.Error(diff)
			}
		})
	}
	want := []routing.Delivery{{Instance: "amplitude", Action: vendor.DeleteUser}, {Instance: "fullstory", Action: vendor.DeleteUser},
		{Instance: "hubspot", Action: vendor.DeleteUser}, {Instance: "posthog", Action: vendor.DeleteUser}}
	if diff := cmp.Diff(want, tab.ForRequest("consumer", "erasure")); diff != "" {
		t.Errorf("erasure: %s", diff)
	}
	if got := tab.ForRequest("consumer", "access"); len(got) != 0 {
		t.Errorf("an access request reached vendors: %v", got)
	}
}

// TestTenantsUseTheirOwnInstances: an enterprise's own HubSpot replaces the shared one for
// its subjects and is never used for anyone else's.
func TestTenantsUseTheirOwnInstances(t *testing.T) {
	tab, err := routing.Parse([]byte(`{
	  "instances": [
	    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "acme-hubspot", "type": "hubspot", "tenants": ["acme"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "acme-webhook", "type": "webhook", "tenants": ["acme"], "rate_per_second": 1, "burst": 1, "concurrency": 1}
	  ],
	  "denied": {"marketing_email": {"hubspot": "opt_out", "webhook": "opt_out"}},
	  "requests": {}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	denial := map[string]string{"marketing_email": "denied"}
	if diff := cmp.Diff([]routing.Delivery{{Instance: "acme-hubspot", Action: vendor.OptOut}, {Instance: "acme-webhook", Action: vendor.OptOut}},
		tab.ForConsent("acme", denial)); diff != "" {
		t.Errorf("acme: %s", diff)
	}
	if diff := cmp.Diff([]routing.Delivery{{Instance: "hubspot", Action: vendor.OptOut}}, tab.ForConsent("consumer", denial)); diff != "" {
		t.Errorf("consumer: %s", diff)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := routing.Parse([]byte(`{
	  "instances": [
	    {"name": "Bad Name", "type": "", "tenants": [], "rate_per_second": 0, "burst": 1, "concurrency": 1},
	    {"name": "x", "type": "x", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "x", "type": "x", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1}
	  ],
	  "denied": {"analytics": {"nosuchtype": "delete_user", "x": "explode"}},
	  "requests": {}
	}`))
	if err == nil {
		t.Fatal("accepted a broken table")
	}
	for _, want := range []string{"instances[0].name", "instances[0].type", "instances[0].tenants", "instances[0]: rate_per_second",
		`"x" appears twice`, `no instance has type "nosuchtype"`, `unknown action "explode"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}
