package main

import (
	"net/http"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
)

const requestsManager = "requests-manage-key-01234"

// The attack: a key meant to post consents, or a tenant's product key, rejects, extends or
// approves a person's privacy request. Each is refused naming requests:manage; a key
// holding it moves the request; a consents-only key files no request either.
func TestMovingARequestNeedsRequestsManage(t *testing.T) {
	stack := testkit.NewStack(t)
	sender := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL,
		"CONSENTRY_API_KEYS": stack.Env["CONSENTRY_API_KEYS"] + ",rm:" + requestsManager + ":consumer:requests:manage"})
	sender.trust(t, svc)

	putOnFile(t, svc, testkit.APIKey, designExample)
	testkit.WantForbidden(t, "POST", svc.URL+"/v1/privacy-requests", testkit.ConsentsKey, erasure+`}`, "requests:write")
	status, waiting := submit(t, svc, testkit.PlainKey, erasure+`}`)
	if status != http.StatusAccepted || waiting.Status != "verifying" {
		t.Fatalf("submit: %d %+v", status, waiting)
	}
	status, started := submit(t, svc, testkit.APIKey, erasure+`,"verified":true}`)
	if status != http.StatusAccepted || started.Status != "in_progress" {
		t.Fatalf("submit verified: %d %+v", status, started)
	}
	base := svc.URL + "/v1/privacy-requests/"
	for _, k := range []string{testkit.ConsentsKey, testkit.PlainKey, testkit.APIKey} {
		testkit.WantForbidden(t, "POST", base+waiting.RequestID+"/reject", k, `{"reason":"no such account"}`, "requests:manage")
		testkit.WantForbidden(t, "POST", base+waiting.RequestID+"/approve", k, nil, "requests:manage")
		testkit.WantForbidden(t, "POST", base+started.RequestID+"/extend", k, `{"reason":"complex"}`, "requests:manage")
	}
	statuses(t, stack, waiting.RequestID, "received", "verifying")
	statuses(t, stack, started.RequestID, "received", "in_progress")

	if s := testkit.Call(t, "POST", base+started.RequestID+"/extend", requestsManager, `{"reason":"complex"}`, nil); s != http.StatusOK {
		t.Errorf("requests:manage extends: %d", s)
	}
	if s := testkit.Call(t, "POST", base+waiting.RequestID+"/reject", requestsManager, `{"reason":"no such account"}`, nil); s != http.StatusOK {
		t.Errorf("requests:manage rejects: %d", s)
	}
	statuses(t, stack, waiting.RequestID, "received", "verifying", "rejected")
}
