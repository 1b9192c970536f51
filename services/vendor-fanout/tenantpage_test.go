package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
)

// TestScopedKeyGetsAFullPageOfItsTenant: another tenant's dead letters and manual tasks
// come first in the listings' order and outnumber a page; acme's key still lists every
// one of acme's, because the tenant is filtered in the query before its LIMIT.
func TestScopedKeyGetsAFullPageOfItsTenant(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	ctx := context.Background()
	db := f.db()
	insert := func(tenant string, n int, deadSince, due string) {
		t.Helper()
		if _, err := db.Exec(ctx, `INSERT INTO fanout.deliveries (event_id, instance, action, tenant, subject_key, occurred_at,
				policy_version, state, deadline_at, last_error, updated_at)
			SELECT gen_random_uuid(), 'hubspot', 'opt_out', $1, 's' || g, now(), 'v1', 'dead', now(), 'rejected', now() + $3::interval
			FROM generate_series(1, $2) AS g`, tenant, n, deadSince); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO fanout.manual_tasks (delivery_key, instance, action, tenant, subject_key, event_id,
				owner, instructions, due_at)
			SELECT $1 || '-' || g, 'privacy-desk', 'delete_user', $1, 's' || g, gen_random_uuid(), 'privacy', 'do it', now() + $3::interval
			FROM generate_series(1, $2) AS g`, tenant, n, due); err != nil {
			t.Fatal(err)
		}
	}
	// Dead letters list newest first and tasks soonest due first: globex's are both.
	insert("acme", 3, "0 s", "30 days")
	insert("globex", 150, "1 hour", "1 day")

	var dead struct {
		DeadLetters []struct{ Tenant string } `json:"dead_letters"`
	}
	if code := testkit.Call(t, "GET", f.svc.URL+"/v1/dead-letters?limit=100", testkit.AcmeDeskKey, nil, &dead); code != http.StatusOK {
		t.Fatalf("dead letters: %d", code)
	}
	var tasks struct {
		Tasks []struct{ Tenant string } `json:"manual_tasks"`
	}
	if code := testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open&limit=100", testkit.AcmeDeskKey, nil, &tasks); code != http.StatusOK {
		t.Fatalf("manual tasks: %d", code)
	}
	for what, tenants := range map[string][]string{"dead letters": tenantsOf(dead.DeadLetters), "manual tasks": tenantsOf(tasks.Tasks)} {
		if fmt.Sprint(tenants) != "[acme acme acme]" {
			t.Errorf("acme's key listed %s of %v, want acme's three", what, tenants)
		}
	}
}

func tenantsOf[T ~struct{ Tenant string }](rows []T) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, struct{ Tenant string }(r).Tenant)
	}
	return out
}
