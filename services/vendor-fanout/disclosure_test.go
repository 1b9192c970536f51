package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/schemas"
)

const consoleKey = "console-key-0123456789abc"

// TestIdentifierDisclosureIsRecordedWithItsActor: opening a task's identifiers through a
// front end that names its signed-in person records who, in the task's disclosures and as
// a receipt on the audit topic, before the identifiers are returned. The attack: a key
// without the actor permission naming someone else is refused and records nothing.
func TestIdentifierDisclosureIsRecordedWithItsActor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testkit.NewStack(t))
	f.run(map[string]string{"CONSENTRY_ROUTING": "seed", "CONSENTRY_API_KEYS": f.stack.Env["CONSENTRY_API_KEYS"] +
		",console:" + consoleKey + ":*:tasks:read|identifiers:read|tasks:write|actor"})
	f.publish("u_prospect", "pro@example.com", f.deny("sales_outreach"))
	var tasks tasksResponse
	f.waitFor("open tasks", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open", testkit.OperatorKey, nil, &tasks)
		return len(tasks.Tasks) > 0
	})
	task := f.svc.URL + "/v1/manual-tasks/" + strconv.FormatInt(tasks.Tasks[0].ID, 10)
	type disclosures struct {
		Disclosures []struct {
			DisclosedTo string `json:"disclosed_to"`
		} `json:"disclosures"`
	}

	// The operator key holds identifiers:read but not actor.
	if s := testkit.Call(t, "GET", task+"/identifiers", testkit.OperatorKey, nil, nil, apikey.ActorHeader, "dana"); s != http.StatusForbidden {
		t.Errorf("a key without actor naming dana: %d, want 403", s)
	}
	var got disclosures
	testkit.Call(t, "GET", task+"/disclosures", testkit.OperatorKey, nil, &got)
	if len(got.Disclosures) != 0 {
		t.Fatalf("the refused call recorded %+v", got.Disclosures)
	}

	var ids struct {
		Email string `json:"email"`
	}
	if s := testkit.Call(t, "GET", task+"/identifiers", consoleKey, nil, &ids, apikey.ActorHeader, "dana"); s != http.StatusOK || ids.Email != "pro@example.com" {
		t.Fatalf("the console opening identifiers for dana: %d", s)
	}
	testkit.Call(t, "GET", task+"/disclosures", testkit.OperatorKey, nil, &got)
	if len(got.Disclosures) != 1 || got.Disclosures[0].DisclosedTo != "dana via console" {
		t.Errorf("disclosures = %+v, want one to dana via console", got.Disclosures)
	}
	f.waitFor("the disclosure's receipt", 60*time.Second, func() bool {
		for _, d := range testkit.ReadAll(t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts) {
			r := d.Event.(*schemas.VendorReceipt)
			if r.Outcome == OutcomeIdentifiersDisclosed {
				if !strings.Contains(r.Detail, "dana via console") || strings.Contains(r.Detail, "pro@example.com") {
					t.Fatalf("the receipt's detail: %q", r.Detail)
				}
				return true
			}
		}
		return false
	})

	// Completing through the console records the person, not what the body claims.
	if s := testkit.Call(t, "POST", task+"/complete", consoleKey, `{"completed_by":"someone else"}`, nil, apikey.ActorHeader, "dana"); s != http.StatusOK {
		t.Fatalf("complete: %d", s)
	}
	var done struct {
		CompletedBy string `json:"completed_by"`
	}
	testkit.Call(t, "GET", task, testkit.OperatorKey, nil, &done)
	if done.CompletedBy != "dana via console" {
		t.Errorf("completed_by = %q", done.CompletedBy)
	}
}
