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

// TestRequestsRouteByTypeAndScope: what each privacy request type asks of each vendor,
// in both built-in tables. Types absent here (access, portability, objection,
// account_termination) reach no vendor: they complete as soon as they are in progress.
func TestRequestsRouteByTypeAndScope(t *testing.T) {
	manual := func(action vendor.Action, names ...string) []routing.Delivery {
		var out []routing.Delivery
		for _, n := range names {
			out = append(out, routing.Delivery{Instance: n, Action: action})
		}
		return out
	}
	cases := []struct {
		table, typ, scope string
		want              []routing.Delivery
	}{
		{"default", "restriction", "", []routing.Delivery{{Instance: "hubspot", Action: vendor.OptOut}}},
		{"default", "restriction", "apply", []routing.Delivery{{Instance: "hubspot", Action: vendor.OptOut}}},
		{"default", "restriction", "lift", manual(vendor.LiftRestriction, "privacy-desk")},
		{"default", "rectification", "", manual(vendor.Rectify, "privacy-desk")},
		{"seed", "restriction", "apply", append(manual(vendor.Restrict, "11x"),
			routing.Delivery{Instance: "hubspot", Action: vendor.OptOut}, routing.Delivery{Instance: "linkedin", Action: vendor.OptOut},
			routing.Delivery{Instance: "lusha", Action: vendor.Restrict}, routing.Delivery{Instance: "rb2b", Action: vendor.Restrict},
			routing.Delivery{Instance: "salesforce", Action: vendor.OptOut}, routing.Delivery{Instance: "sendgrid", Action: vendor.SuppressEmail},
			routing.Delivery{Instance: "zoominfo", Action: vendor.Restrict})},
		{"seed", "restriction", "lift", manual(vendor.LiftRestriction, "11x", "lusha", "privacy-desk", "rb2b", "zoominfo")},
		{"seed", "rectification", "", manual(vendor.Rectify, "11x", "lusha", "privacy-desk", "rb2b", "zoominfo")},
	}
	for _, table := range []string{"default", "seed"} {
		for _, typ := range []string{"access", "portability", "objection", "account_termination"} {
			cases = append(cases, struct {
				table, typ, scope string
				want              []routing.Delivery
			}{table, typ, "", []routing.Delivery{}})
		}
	}
	for _, c := range cases {
		t.Run(c.table+"/"+c.typ+"/"+c.scope, func(t *testing.T) {
			tab, err := routing.Builtin(c.table)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, tab.ForRequest("consumer", routing.RequestRoute(c.typ, c.scope))); diff != "" {
				t.Error(diff)
			}
		})
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

// TestSeveralInstancesOfOneType: a company with two HubSpot portals unsubscribes the
// person in both.
func TestSeveralInstancesOfOneType(t *testing.T) {
	tab, err := routing.Parse([]byte(`{
	  "instances": [
	    {"name": "hubspot-us", "type": "hubspot", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "hubspot-eu", "type": "hubspot", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1}
	  ],
	  "denied": {"marketing_email": {"hubspot": "opt_out"}},
	  "requests": {}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []routing.Delivery{{Instance: "hubspot-eu", Action: vendor.OptOut}, {Instance: "hubspot-us", Action: vendor.OptOut}}
	if diff := cmp.Diff(want, tab.ForConsent("consumer", map[string]string{"marketing_email": "denied"})); diff != "" {
		t.Error(diff)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := routing.Parse([]byte(`{
	  "instances": [
	    {"name": "Bad Name", "type": "", "tenants": [], "rate_per_second": 0, "burst": 1, "concurrency": 1},
	    {"name": "x", "type": "x", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "x", "type": "x", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
	    {"name": "y", "type": "x", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1, "max_batch": -1, "batch_window": "5s"}
	  ],
	  "denied": {"analytics": {"nosuchtype": "delete_user", "x": "explode"}},
	  "requests": {}
	}`))
	if err == nil {
		t.Fatal("accepted a broken table")
	}
	for _, want := range []string{"instances[0].name", "instances[0].type", "instances[0].tenants", "instances[0]: rate_per_second",
		`"x" appears twice`, "instances[3].max_batch", "instances[3].batch_window", `no instance has type "nosuchtype"`, `unknown action "explode"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestSeedRoutingIsDesignsTable: every vendor of the seed table (docs/architecture.md,
// "Vendors and routing") is reached, and the ones without an API get manual tasks whose
// instructions point to the vendor's page under docs/vendors/.
func TestSeedRoutingIsDesignsTable(t *testing.T) {
	tab, err := routing.Seed()
	if err != nil {
		t.Fatal(err)
	}
	names := func(ds []routing.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Instance+":"+string(d.Action))
		}
		return out
	}
	cases := map[string]struct {
		got  []routing.Delivery
		want []string
	}{
		"advertising": {tab.ForConsent("consumer", map[string]string{"advertising": "denied"}), []string{"linkedin:opt_out"}},
		"marketing_email": {tab.ForConsent("consumer", map[string]string{"marketing_email": "denied"}),
			[]string{"hubspot:opt_out", "salesforce:opt_out", "sendgrid:suppress_email"}},
		"sales_outreach": {tab.ForConsent("consumer", map[string]string{"sales_outreach": "denied"}),
			[]string{"11x:opt_out", "lusha:opt_out", "rb2b:opt_out", "salesforce:opt_out", "zoominfo:opt_out"}},
		"erasure": {tab.ForRequest("consumer", "erasure"), []string{"11x:delete_user", "amplitude:delete_user", "fullstory:delete_user",
			"hubspot:delete_user", "linkedin:delete_user", "linkedin-member-data:delete_user", "lusha:delete_user", "posthog:delete_user",
			"rb2b:delete_user", "salesforce:delete_user", "sendgrid:delete_user", "zoominfo:delete_user"}},
	}
	for name, c := range cases {
		if diff := cmp.Diff(c.want, names(c.got)); diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
	}
	for _, name := range []string{"zoominfo", "lusha", "rb2b", "11x", "linkedin-member-data"} {
		doc := "docs/vendors/manual.md"
		if name == "linkedin-member-data" {
			doc = "docs/vendors/linkedin.md"
		}
		in, ok := tab.Instance(name)
		if !ok || in.Manual == nil || in.Manual.Owner == "" || !strings.Contains(in.Manual.Instructions, doc) {
			t.Errorf("%s is not a manual vendor with an owner and instructions: %+v", name, in)
		}
	}
}
