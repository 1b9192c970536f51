package main

import (
	"net/http"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/apikey"
)

const acmeConsoleKey = "acme-console-key-01234567"

// TestTheConsolesPersonIsOnTheTransition: a decision taken in the console names the
// signed-in person on the transition's audit record. The attack: the Customer's key,
// which lacks the actor permission, naming someone is refused and moves nothing.
func TestTheConsolesPersonIsOnTheTransition(t *testing.T) {
	stack := testkit.NewStack(t)
	customer := newReceiver(t)
	env := map[string]string{"CONSENTRY_CONTROLLER_WEBHOOKS": "acme=" + customer.URL,
		"CONSENTRY_API_KEYS": stack.Env["CONSENTRY_API_KEYS"] + ",acme-console:" + acmeConsoleKey + ":acme:requests:read|requests:manage|controller|actor"}
	svc := testkit.StartService(t, run, stack.Env, env)
	customer.trust(t, svc)
	acme := `{"tenant":"acme","subject_id":"emp_9","identifiers":{"email":"ivy@acme.example"},"type":"erasure","reason":"user_request","verified":true}`
	status, got := submit(t, svc, testkit.AcmeAppKey, acme)
	if status != http.StatusAccepted || got.Status != "forwarded_to_controller" {
		t.Fatalf("status %d %+v", status, got)
	}
	approve := svc.URL + "/v1/privacy-requests/" + got.RequestID + "/approve"
	if s := testkit.Call(t, "POST", approve, testkit.TenantKey, nil, nil, apikey.ActorHeader, "mallory"); s != http.StatusForbidden {
		t.Errorf("the Customer's key naming an actor: %d, want 403", s)
	}
	if s := testkit.Call(t, "POST", approve, acmeConsoleKey, nil, nil, apikey.ActorHeader, "dana"); s != http.StatusOK {
		t.Fatalf("approve through the console: %d", s)
	}
	events := statuses(t, stack, got.RequestID, "received", "forwarded_to_controller", "in_progress")
	if want := "approved by the controller (by dana via acme-console)"; events[2].Detail != want {
		t.Errorf("detail %q, want %q", events[2].Detail, want)
	}
}
