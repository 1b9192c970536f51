package backfill_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/services/vendor-fanout/internal/backfill"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func consent(id string, hours int, purposes map[string]string) fanout.Decision {
	return fanout.Decision{EventID: id, Tenant: "consumer", SubjectKey: "s", Kind: "consent", Purposes: purposes, OccurredAt: t0.Add(time.Duration(hours) * time.Hour)}
}

func erasure(id string, hours int) fanout.Decision {
	return fanout.Decision{EventID: id, Tenant: "consumer", SubjectKey: "s", Kind: "request", RequestType: "erasure", OccurredAt: t0.Add(time.Duration(hours) * time.Hour)}
}

func restriction(id string, hours int, scope string) fanout.Decision {
	d := erasure(id, hours)
	d.RequestType, d.Scope = "restriction", scope
	return d
}

func request(id string, hours int, typ string) fanout.Decision {
	d := erasure(id, hours)
	d.RequestType = typ
	return d
}

func plan(t *testing.T, instance string, ds ...fanout.Decision) []string {
	t.Helper()
	tab, err := routing.Seed()
	if err != nil {
		t.Fatal(err)
	}
	in, ok := tab.Instance(instance)
	if !ok {
		t.Fatalf("no instance %s", instance)
	}
	var out []string
	for _, it := range backfill.Plan(tab, in, ds) {
		out = append(out, it.Decision.EventID+":"+string(it.Action))
	}
	return out
}

func TestBackfillOwesTheCurrentOptOutsAndEveryErasure(t *testing.T) {
	cases := []struct {
		name     string
		instance string
		ds       []fanout.Decision
		want     []string
	}{
		{"a denial still in force", "sendgrid", []fanout.Decision{consent("e1", 1, map[string]string{"marketing_email": "denied"})}, []string{"e1:suppress_email"}},
		{"opted back in: nothing owed", "sendgrid", []fanout.Decision{
			consent("e1", 1, map[string]string{"marketing_email": "denied"}),
			consent("e2", 2, map[string]string{"marketing_email": "granted"})}, nil},
		{"an older denial arriving late does not count", "sendgrid", []fanout.Decision{
			consent("e1", 1, map[string]string{"marketing_email": "denied"}),
			consent("e3", 3, map[string]string{"marketing_email": "granted"}),
			consent("e2", 2, map[string]string{"marketing_email": "denied"})}, nil},
		{"two purposes, one action: the latest decision", "linkedin", []fanout.Decision{
			consent("e1", 1, map[string]string{"advertising": "denied"}),
			consent("e2", 2, map[string]string{"sale_share": "denied"})}, []string{"e2:opt_out"}},
		{"purposes the vendor does not serve", "sendgrid", []fanout.Decision{consent("e1", 1, map[string]string{"analytics": "denied"})}, nil},
		{"erasure after opting back in", "sendgrid", []fanout.Decision{
			consent("e1", 1, map[string]string{"marketing_email": "granted"}), erasure("r1", 2)}, []string{"r1:delete_user"}},
		{"a manual vendor", "zoominfo", []fanout.Decision{consent("e1", 1, map[string]string{"sales_outreach": "denied"}), erasure("r1", 2)},
			[]string{"e1:opt_out", "r1:delete_user"}},
		{"a restriction in force", "sendgrid", []fanout.Decision{restriction("r1", 1, "apply")}, []string{"r1:suppress_email"}},
		{"a restriction in force at a vendor without an API", "zoominfo", []fanout.Decision{restriction("r1", 1, "")}, []string{"r1:restrict"}},
		{"a lifted restriction: nothing owed", "sendgrid", []fanout.Decision{restriction("r1", 1, "apply"), restriction("r2", 2, "lift")}, nil},
		{"restricted again after a lift", "salesforce", []fanout.Decision{
			restriction("r1", 1, "apply"), restriction("r2", 2, "lift"), restriction("r3", 3, "apply")}, []string{"r3:opt_out"}},
		{"rectifications and lifts are not replayed", "zoominfo", []fanout.Decision{
			request("r1", 1, "rectification"), restriction("r2", 2, "lift")}, nil},
		{"requests no vendor serves", "hubspot", []fanout.Decision{request("r1", 1, "access"), request("r2", 2, "objection")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, plan(t, c.instance, c.ds...)); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestBackfillSkipsTenantsThatDoNotUseTheInstance(t *testing.T) {
	tab, err := routing.Parse([]byte(`{"instances": [
		{"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 1, "burst": 1, "concurrency": 1},
		{"name": "acme-hubspot", "type": "hubspot", "tenants": ["acme"], "rate_per_second": 1, "burst": 1, "concurrency": 1}],
		"denied": {"marketing_email": {"hubspot": "opt_out"}}, "requests": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	shared, _ := tab.Instance("hubspot")
	d := consent("e1", 1, map[string]string{"marketing_email": "denied"})
	d.Tenant = "acme"
	if got := backfill.Plan(tab, shared, []fanout.Decision{d}); len(got) != 0 {
		t.Errorf("acme has its own HubSpot, yet the shared one was back-filled: %v", got)
	}
}
