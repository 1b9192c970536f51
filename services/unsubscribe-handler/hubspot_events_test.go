package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

const (
	hubSpotSecret     = "3f1c2b7e-consumer-app-client-secret"
	hubSpotAcmeSecret = "9d8e7f6a-acme-app-client-secret-00"
	hubSpotPublicURL  = "https://prefs.example.test"
	hubSpotPath       = "/v1/email-events/hubspot?tenant="
)

// startHubSpot starts the service with HubSpot apps for tenants consumer and acme, their
// contacts read from a simulated HubSpot that holds contact 501 (the known subject's
// address) and 502 (an address with no known subject).
func startHubSpot(t *testing.T) (*testkit.Stack, *testkit.Service, *vendorsim.Simulator) {
	t.Helper()
	sim := vendorsim.New(vendorsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.AddHubSpotContact("501", "Ada@Example.com")
	sim.AddHubSpotContact("502", "stranger@example.com")
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_LINK_KEYS":               "k1:" + strings.Repeat("A", 43) + "=",
		"CONSENTRY_PUBLIC_URL":              hubSpotPublicURL,
		"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=" + hubSpotSecret + ",acme=" + hubSpotAcmeSecret,
		"CONSENTRY_HUBSPOT_TOKENS":          "consumer=pat-na1-consumer,acme=pat-na1-acme",
		"CONSENTRY_HUBSPOT_BASE_URL":        srv.URL + "/hubspot",
		"CONSENTRY_HUBSPOT_PROPERTIES":      "consentry_email_optout",
	})
	return stack, svc, sim
}

// hubSpotOptOuts is a batch as HubSpot posts it; attempt is attemptNumber, all that a
// redelivery changes.
func hubSpotOptOuts(attempt int) string {
	return strings.ReplaceAll(`[
 {"eventId":4001,"subscriptionId":77,"portalId":62515,"appId":54321,"occurredAt":1764363845123,"subscriptionType":"contact.propertyChange",
  "attemptNumber":ATTEMPT,"objectId":501,"propertyName":"hs_email_optout","propertyValue":"true","changeSource":"EMAIL"},
 {"eventId":4002,"subscriptionId":78,"portalId":62515,"appId":54321,"occurredAt":1764363846000,"subscriptionType":"contact.propertyChange",
  "attemptNumber":ATTEMPT,"objectId":502,"propertyName":"consentry_email_optout","propertyValue":"true","changeSource":"AUTOMATION_PLATFORM"},
 {"eventId":4003,"subscriptionId":77,"portalId":62515,"appId":54321,"occurredAt":1764363847000,"subscriptionType":"contact.propertyChange",
  "attemptNumber":ATTEMPT,"objectId":503,"propertyName":"hs_email_optout","propertyValue":"true","changeSource":"CRM_UI"},
 {"eventId":4004,"subscriptionId":77,"portalId":62515,"appId":54321,"occurredAt":1764363848000,"subscriptionType":"contact.propertyChange",
  "attemptNumber":ATTEMPT,"objectId":501,"propertyName":"hs_email_optout","propertyValue":"false","changeSource":"CRM_UI"},
 {"eventId":4005,"subscriptionId":79,"portalId":62515,"appId":54321,"occurredAt":1764363849000,"subscriptionType":"contact.creation",
  "attemptNumber":ATTEMPT,"objectId":504,"changeFlag":"NEW","changeSource":"CRM_UI"}]`, "ATTEMPT", strconv.Itoa(attempt))
}

// postHubSpot posts body to tenant's route, signed as HubSpot signs it: with secret, for
// signedTenant's URL, at time at. An empty secret sends no signature headers.
func postHubSpot(t *testing.T, svc *testkit.Service, tenant, secret, signedTenant string, at time.Time, signed, sent string, out any) int {
	t.Helper()
	var headers []string
	if secret != "" {
		for k, v := range vendorsim.HubSpotWebhookHeaders(secret, "POST", hubSpotPublicURL+hubSpotPath+signedTenant, []byte(signed), at) {
			headers = append(headers, k, v)
		}
	}
	return testkit.Call(t, "POST", svc.URL+hubSpotPath+tenant, "", sent, out, headers...)
}

// contactReads counts the simulator's contact reads.
func contactReads(sim *vendorsim.Simulator) int {
	n := 0
	for _, c := range sim.Calls() {
		if c.Method == "GET" && strings.HasPrefix(c.Path, "/hubspot/crm/v3/objects/contacts/") {
			n++
		}
	}
	return n
}

// TestHubSpotSignedOptOutWithdrawsOnce: a signed opt-out of a contact whose subject is
// known publishes one marketing_email withdrawal of source hubspot and suppresses the
// address; an opt-out through a configured property suppresses too; a contact HubSpot
// does not have, a property set back to false and other event types change nothing; and
// the same batch redelivered publishes nothing new.
func TestHubSpotSignedOptOutWithdrawsOnce(t *testing.T) {
	stack, svc, sim := startHubSpot(t)
	subjectKey, hash := knownSubject(t, stack, svc)

	var got hubSpotResult
	if s := postHubSpot(t, svc, "consumer", hubSpotSecret, "consumer", time.Now(), hubSpotOptOuts(0), hubSpotOptOuts(0), &got); s != 200 ||
		got != (hubSpotResult{Suppressed: 2, Ignored: 2, ConsentEvents: 1, UnknownContacts: 1}) {
		t.Fatalf("signed post: %d %+v", s, got)
	}
	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	c := consents[1].Event.(*schemas.ConsentChanged)
	if c.Source != "hubspot" || c.SubjectKey != subjectKey || len(c.Purposes) != 1 ||
		c.Purposes[schemas.PurposeMarketingEmail] != schemas.Denied || !c.OccurredAt.Equal(time.UnixMilli(1764363845123)) {
		t.Errorf("withdrawal %+v", c)
	}
	if ids := open(t, stack, c.Header); ids.Email != "Ada@Example.com" {
		t.Errorf("the withdrawal's identifiers open to %+v", ids)
	}
	for _, call := range sim.Calls() {
		if call.Query != "properties=email" {
			t.Errorf("contact read %s?%s, want ?properties=email", call.Path, call.Query)
		}
	}

	// HubSpot redelivers what it thinks failed, with the next attemptNumber, freshly signed.
	if s := postHubSpot(t, svc, "consumer", hubSpotSecret, "consumer", time.Now(), hubSpotOptOuts(1), hubSpotOptOuts(1), &got); s != 200 ||
		got != (hubSpotResult{AlreadySuppressed: 2, Ignored: 2, UnknownContacts: 1}) {
		t.Fatalf("redelivery: %d %+v", s, got)
	}
	waitConsumed(t, stack)
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 2 {
		t.Errorf("%d consent events after a redelivery, want the grant and one withdrawal", n)
	}
	want := map[string]bool{hash: true, pseudonym.EmailSHA256("stranger@example.com"): true}
	seen := map[string]string{}
	for _, r := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions) {
		s := r.Event.(*schemas.SuppressionChanged)
		key := string(r.Msg.Key)
		if !want[key] || s.Scope != "all" || s.Reason != reasonOptOut || s.Source != "hubspot" {
			t.Errorf("suppression %s: %+v", key, s)
		}
		if key == hash && s.SourceEventID != c.EventID {
			t.Errorf("the address's suppression is caused by %s, not the withdrawal %s", s.SourceEventID, c.EventID)
		}
		if prev, dup := seen[key]; dup {
			t.Errorf("a second suppression event for %s: %s after %s", key, s.EventID, prev)
		}
		seen[key] = s.EventID
	}
	if len(seen) != len(want) {
		t.Errorf("suppressions for %v, want %v", seen, want)
	}
}

// TestHubSpotForgedOrStalePostsApplyNothing: the route takes no API key, so a post that
// is unsigned, signed with another secret (an attacker's, or another tenant's), signed
// for another tenant's URL, replayed late, signed for the future, altered after signing,
// missing a header, or for a tenant without a HubSpot app must change nothing — and must
// not make Consentry call HubSpot.
func TestHubSpotForgedOrStalePostsApplyNothing(t *testing.T) {
	stack, svc, sim := startHubSpot(t)
	_, hash := knownSubject(t, stack, svc)
	now := time.Now()
	body := hubSpotOptOuts(0)
	cases := []struct {
		name, tenant, secret, signedTenant string
		at                                 time.Time
		signed                             string
		want                               int
	}{
		{"unsigned", "consumer", "", "consumer", now, body, 401},
		{"wrong signature", "consumer", "an-attackers-guess-at-the-secret", "consumer", now, body, 401},
		{"another tenant's secret", "consumer", hubSpotAcmeSecret, "consumer", now, body, 401},
		{"another tenant's secret and URL", "consumer", hubSpotAcmeSecret, "acme", now, body, 401},
		{"signed for another tenant's URL", "consumer", hubSpotSecret, "acme", now, body, 401},
		{"stale timestamp", "consumer", hubSpotSecret, "consumer", now.Add(-6 * time.Minute), body, 401},
		{"future timestamp", "consumer", hubSpotSecret, "consumer", now.Add(2 * time.Minute), body, 401},
		{"tampered body", "consumer", hubSpotSecret, "consumer", now, strings.Replace(body, `"objectId":502`, `"objectId":599`, 1), 401},
		{"unknown tenant", "nobody", hubSpotSecret, "nobody", now, body, 401},
		{"no tenant", "", hubSpotSecret, "", now, body, 401},
	}
	for _, c := range cases {
		if s := postHubSpot(t, svc, c.tenant, c.secret, c.signedTenant, c.at, c.signed, body, nil); s != c.want {
			t.Errorf("%s: %d, want %d", c.name, s, c.want)
		}
	}
	// Each header alone is not enough.
	h := vendorsim.HubSpotWebhookHeaders(hubSpotSecret, "POST", hubSpotPublicURL+hubSpotPath+"consumer", []byte(body), now)
	for _, drop := range []string{"X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"} {
		var hs []string
		for k, v := range h {
			if k != drop {
				hs = append(hs, k, v)
			}
		}
		if s := testkit.Call(t, "POST", svc.URL+hubSpotPath+"consumer", "", body, nil, hs...); s != 401 {
			t.Errorf("without %s: %d, want 401", drop, s)
		}
	}
	// Each refused post answered after any publish it would have made was acknowledged,
	// so the topics hold their final state for these posts already.
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 1 {
		t.Errorf("%d consent events, want only the grant", n)
	}
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)); n != 0 {
		t.Errorf("%d suppression records after refused posts", n)
	}
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || state.Suppressed {
		t.Errorf("after refused posts the address is %d %+v", s, state)
	}
	if n := contactReads(sim); n != 0 {
		t.Errorf("%d HubSpot contact reads for refused posts", n)
	}
}

// TestHubSpotUnavailableIsRetried: when HubSpot cannot answer the contact read (5xx, or
// its rate limit), the webhook is answered 503 — which HubSpot retries — with nothing
// applied; the retry, once HubSpot answers, applies the opt-out.
func TestHubSpotUnavailableIsRetried(t *testing.T) {
	stack, svc, sim := startHubSpot(t)
	_, hash := knownSubject(t, stack, svc)
	for i, mode := range []string{vendorsim.Mode5xx, vendorsim.Mode429} {
		if err := sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: mode}); err != nil {
			t.Fatal(err)
		}
		if s := postHubSpot(t, svc, "consumer", hubSpotSecret, "consumer", time.Now(), hubSpotOptOuts(i), hubSpotOptOuts(i), nil); s != http.StatusServiceUnavailable {
			t.Errorf("HubSpot %s: %d, want 503", mode, s)
		}
	}
	if n := contactReads(sim); n == 0 {
		t.Error("no contact read was tried")
	}
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || state.Suppressed {
		t.Errorf("after 503s the address is %d %+v", s, state)
	}
	if err := sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: vendorsim.ModeOK}); err != nil {
		t.Fatal(err)
	}
	var got hubSpotResult
	if s := postHubSpot(t, svc, "consumer", hubSpotSecret, "consumer", time.Now(), hubSpotOptOuts(2), hubSpotOptOuts(2), &got); s != 200 ||
		got != (hubSpotResult{Suppressed: 2, Ignored: 2, ConsentEvents: 1, UnknownContacts: 1}) {
		t.Fatalf("retry: %d %+v", s, got)
	}
	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	if c := consents[1].Event.(*schemas.ConsentChanged); c.Source != "hubspot" || c.Purposes[schemas.PurposeMarketingEmail] != schemas.Denied {
		t.Errorf("withdrawal after the retry %+v", c)
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || !state.Suppressed {
		t.Errorf("after the retry the address is %d %+v", s, state)
	}
}
