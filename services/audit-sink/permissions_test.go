package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/schemas"
)

const (
	subjectsReader = "subjects-read-key-0123456"
	exportsReader  = "exports-read-key-01234567"
)

// The attack: a key meant to post consents, or a tenant's product key, reads a subject's
// history and consent proof, or downloads a request's export. Each is refused naming the
// permission it lacks; the permission lets its holder through.
func TestSubjectsAndExportsNeedTheirPermissions(t *testing.T) {
	stack := testkit.NewStack(t)
	key := stack.Pepper.SubjectKey("consumer", "u_perm")
	now := time.Now().UTC()
	testkit.Publish(t, stack, stack.Kafka.Topics.Consents, key, &schemas.ConsentChanged{Header: schemas.Header{EventID: testkit.NewEventID(t),
		Tenant: "consumer", SubjectKey: key, OccurredAt: now, RecordedAt: now, Source: "cmp", PolicyVersion: "2025-04-09"},
		Purposes: map[string]string{"analytics": "granted"}})
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_API_KEYS": stack.Env["CONSENTRY_API_KEYS"] +
		",sr:" + subjectsReader + ":consumer:subjects:read,er:" + exportsReader + ":consumer:exports:read"})

	history := svc.URL + "/v1/subjects/consumer/u_perm/history"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var h struct {
			Events []any `json:"events"`
		}
		testkit.Call(t, "GET", history, testkit.OperatorKey, nil, &h)
		if len(h.Events) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history has %d events, want 1", len(h.Events))
		}
	}
	export := svc.URL + "/v1/privacy-requests/0b6f1c9e-2c57-4d0a-9d0e-6f3f4a0c1d2e/export"
	for _, k := range []string{testkit.ConsentsKey, testkit.PlainKey, testkit.APIKey, exportsReader} {
		testkit.WantForbidden(t, "GET", history, k, nil, "subjects:read")
		testkit.WantForbidden(t, "GET", svc.URL+"/v1/subjects/consumer/u_perm/consent", k, nil, "subjects:read")
	}
	for _, k := range []string{testkit.ConsentsKey, testkit.PlainKey, testkit.APIKey, subjectsReader} {
		testkit.WantForbidden(t, "GET", export, k, nil, "exports:read")
		testkit.WantForbidden(t, "GET", svc.URL+"/v1/audit/verify", k, nil, "operator")
	}
	testkit.WantForbidden(t, "GET", svc.URL+"/v1/privacy-requests", testkit.ConsentsKey, nil, "requests:read")

	if s := testkit.Call(t, "GET", history, subjectsReader, nil, nil); s != http.StatusOK {
		t.Errorf("subjects:read reads the history: %d", s)
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_perm/consent", subjectsReader, nil, nil); s != http.StatusOK {
		t.Errorf("subjects:read reads the consent proof: %d", s)
	}
	// Past the permission, the export is looked up: this request does not exist.
	if s := testkit.Call(t, "GET", export, exportsReader, nil, nil); s != http.StatusNotFound {
		t.Errorf("exports:read asks for an unknown request's export: %d, want 404", s)
	}
}
