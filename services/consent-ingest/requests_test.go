package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
)

// receiver is a signed-webhook endpoint (the verification sender, a Customer's request
// endpoint) that checks every signature with the public keys the service serves and keeps
// what it was sent.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []webhooksig.PublicKey
	bodies   []map[string]any
	received []signedRequest
	bad      int
}

// signedRequest is a webhook as its receiver got it.
type signedRequest struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if webhooksig.Verify(rc.keys, r.Header, raw, time.Now(), time.Minute) != nil {
			rc.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		rc.bodies = append(rc.bodies, body)
		rc.received = append(rc.received, signedRequest{r.Header.Clone(), raw})
	}))
	t.Cleanup(rc.Close)
	return rc
}

// trust makes the receiver verify with the keys svc serves, as a Customer's would.
func (rc *receiver) trust(t *testing.T, svc *testkit.Service) {
	t.Helper()
	var set webhooksig.KeySet
	if status := testkit.Call(t, "GET", svc.URL+"/.well-known/webhook-keys", "", nil, &set); status != http.StatusOK || len(set.Keys) == 0 {
		t.Fatalf("webhook keys: %d %+v", status, set)
	}
	rc.mu.Lock()
	rc.keys = set.Keys
	rc.mu.Unlock()
}

// waitFor returns the first body sent for requestID.
func (rc *receiver) waitFor(t *testing.T, requestID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		for _, b := range rc.bodies {
			if b["request_id"] == requestID {
				rc.mu.Unlock()
				return b
			}
		}
		bad := rc.bad
		rc.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d webhooks with a bad signature", bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no webhook for request %s", requestID)
	return nil
}

type requestAnswerJSON struct {
	RequestID    string    `json:"request_id"`
	EventIDs     []string  `json:"event_ids"`
	Status       string    `json:"status"`
	Jurisdiction string    `json:"jurisdiction"`
	ReceivedAt   time.Time `json:"received_at"`
	DeadlineAt   time.Time `json:"deadline_at"`
	Error        struct {
		Code   string `json:"code"`
		Fields []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// statuses waits until the requests topic holds want's statuses for id, in order, and
// returns the request's events. A record sent twice (a retry) counts once, as every
// consumer dedupes by event id.
func statuses(t *testing.T, stack *testkit.Stack, id string, want ...string) []*schemas.PrivacyRequest {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []*schemas.PrivacyRequest
		var names []string
		seen := map[string]bool{}
		for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Requests) {
			if pr, ok := d.Event.(*schemas.PrivacyRequest); ok && pr.RequestID == id && !seen[pr.EventID] {
				seen[pr.EventID] = true
				got = append(got, pr)
				names = append(names, pr.Status)
			}
		}
		if strings.Join(names, ",") == strings.Join(want, ",") {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s: statuses %v, want %v", id, names, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func submit(t *testing.T, svc *testkit.Service, key, body string) (int, requestAnswerJSON) {
	t.Helper()
	var out requestAnswerJSON
	status := testkit.Call(t, "POST", svc.URL+"/v1/privacy-requests", key, body, &out)
	return status, out
}

const erasure = `{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"ada@example.com"},"type":"erasure","reason":"user_request"`

func TestVerifiedRequestStartsAtOnceWithItsDeadline(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)

	status, got := submit(t, svc, testkit.APIKey, erasure+`,"verified":true}`)
	if status != http.StatusAccepted || got.Status != "in_progress" || got.Jurisdiction != "gdpr" {
		t.Fatalf("status %d, %+v", status, got)
	}
	// GDPR: one month from receipt, to the end of that day (UTC here).
	y, m, d := got.ReceivedAt.AddDate(0, 1, 0).Date()
	if want := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC); !got.DeadlineAt.Equal(want) && !got.DeadlineAt.Before(want) {
		t.Errorf("deadline %v, want by %v", got.DeadlineAt, want)
	}
	events := statuses(t, stack, got.RequestID, "received", "in_progress")
	for _, e := range events {
		if e.DeadlineAt == nil || !e.DeadlineAt.Equal(got.DeadlineAt) || e.Jurisdiction != "gdpr" || e.Type != "erasure" ||
			e.Identifiers == nil || e.SubjectKey != stack.Pepper.SubjectKey("consumer", "u_8d41") {
			t.Errorf("%s event %+v", e.Status, e)
		}
	}
	if events[0].EventID != got.RequestID || events[1].EventID == got.RequestID {
		t.Errorf("event ids %s, %s: the first is the request's", events[0].EventID, events[1].EventID)
	}

	// Only a key with the verify permission may vouch for the person.
	if status, _ := submit(t, svc, testkit.PlainKey, erasure+`,"verified":true}`); status != http.StatusForbidden {
		t.Errorf("verified asserted by a key without the permission: %d", status)
	}
	// With no verification sender configured, an unverified request cannot be taken.
	if status, got := submit(t, svc, testkit.APIKey, erasure+`}`); status != http.StatusBadRequest || len(got.Error.Fields) != 1 || got.Error.Fields[0].Field != "verified" {
		t.Errorf("unverified request without a sender: %d %+v", status, got.Error)
	}
	// CCPA, chosen by the request: 45 days.
	status, ccpa := submit(t, svc, testkit.APIKey, erasure+`,"verified":true,"jurisdiction":"ccpa"}`)
	if status != http.StatusAccepted || ccpa.DeadlineAt.Sub(ccpa.ReceivedAt) > 46*24*time.Hour || ccpa.DeadlineAt.Sub(ccpa.ReceivedAt) < 45*24*time.Hour {
		t.Errorf("ccpa: %d, received %v due %v", status, ccpa.ReceivedAt, ccpa.DeadlineAt)
	}
}

func TestUnverifiedRequestWaitsForThePersonsLink(t *testing.T) {
	stack := testkit.NewStack(t)
	sender := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL})
	sender.trust(t, svc)
	putOnFile(t, svc, testkit.APIKey, designExample)

	status, got := submit(t, svc, testkit.PlainKey, erasure+`}`)
	if status != http.StatusAccepted || got.Status != "verifying" {
		t.Fatalf("status %d %+v", status, got)
	}
	sent := sender.waitFor(t, got.RequestID)
	if sent["email"] != "ada@example.com" || sent["kind"] != "privacy_request_verification" {
		t.Errorf("sender got %v", sent)
	}
	link, _ := sent["verify_url"].(string)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/verify/") {
		t.Fatalf("verify_url %q", link)
	}
	page := svc.URL + u.Path
	statuses(t, stack, got.RequestID, "received", "verifying")

	// Opening the link changes nothing (mail scanners open links); the button does.
	body := fetch(t, "GET", page)
	if !strings.Contains(body, `method="post"`) || strings.Contains(body, "ada@example.com") {
		t.Errorf("confirmation page: %s", body)
	}
	statuses(t, stack, got.RequestID, "received", "verifying")
	if body := fetch(t, "POST", page); !strings.Contains(body, "confirmed") {
		t.Errorf("after confirming: %s", body)
	}
	statuses(t, stack, got.RequestID, "received", "verifying", "in_progress")
	// A second press is answered kindly and moves nothing.
	if body := fetch(t, "POST", page); !strings.Contains(body, "confirmed") {
		t.Errorf("second confirmation: %s", body)
	}
	// A forged link opens nothing and says nothing about the request.
	tampered := page[:len(page)-3] + "AAA"
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, tampered, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s forged link: %d", method, resp.StatusCode)
		}
	}
	statuses(t, stack, got.RequestID, "received", "verifying", "in_progress")
	if strings.Contains(svc.Logs.String(), "ada@example.com") {
		t.Error("a log line holds the email")
	}
}

// putOnFile reports a consent, whose email is then on file for its subject.
func putOnFile(t *testing.T, svc *testkit.Service, key, consent string) {
	t.Helper()
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", key, consent, nil); status != http.StatusAccepted {
		t.Fatalf("consent: %d", status)
	}
}

// refusedOnEmail checks that a request was refused naming identifiers.email.
func refusedOnEmail(t *testing.T, what string, status int, got requestAnswerJSON) {
	t.Helper()
	if status != http.StatusBadRequest || len(got.Error.Fields) != 1 || got.Error.Fields[0].Field != "identifiers.email" {
		t.Errorf("%s: %d %+v, want 400 naming identifiers.email", what, status, got)
	}
}

// The attack: a key of the tenant without the verify permission asks to erase another
// person's data and gives its own address, to receive and confirm the link itself.
func TestConfirmationLinkGoesOnlyToTheAddressOnFile(t *testing.T) {
	stack := testkit.NewStack(t)
	sender := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL})
	sender.trust(t, svc)
	putOnFile(t, svc, testkit.APIKey, designExample) // Ada, u_8d41, ada@example.com

	const attack = `{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"mallory@example.net"},"type":"erasure","reason":"user_request"}`
	status, got := submit(t, svc, testkit.PlainKey, attack)
	refusedOnEmail(t, "an erasure of Ada's data with another address", status, got)
	if len(got.Error.Fields) > 0 && strings.Contains(got.Error.Fields[0].Message+svc.Logs.String(), "ada@example.com") {
		t.Error("the refusal or a log line gives away the address on file")
	}
	// Reporting a consent with its own address first does not put it on file in Ada's
	// place: only a key that may vouch for a person replaces an address on file.
	putOnFile(t, svc, testkit.PlainKey, strings.Replace(designExample, "ada@example.com", "mallory@example.net", 1))
	status, got = submit(t, svc, testkit.PlainKey, attack)
	refusedOnEmail(t, "the attack after a consent with the attacker's address", status, got)

	// Ada's own request, naming her address or none, gets the link at her address.
	status, named := submit(t, svc, testkit.PlainKey, strings.Replace(erasure, "ada@example.com", " Ada@Example.com", 1)+`}`)
	if status != http.StatusAccepted || named.Status != "verifying" {
		t.Fatalf("a request naming the address on file: %d %+v", status, named)
	}
	status, unnamed := submit(t, svc, testkit.PlainKey, `{"tenant":"consumer","subject_id":"u_8d41","type":"access","reason":"user_request"}`)
	if status != http.StatusAccepted || unnamed.Status != "verifying" {
		t.Fatalf("a request naming no address: %d %+v", status, unnamed)
	}
	for _, id := range []string{named.RequestID, unnamed.RequestID} {
		if sent := sender.waitFor(t, id); sent["email"] != "ada@example.com" {
			t.Errorf("request %s: the link went to %v, want the address on file", id, sent["email"])
		}
	}
	sender.mu.Lock()
	for _, b := range sender.bodies {
		if b["email"] == "mallory@example.net" {
			t.Errorf("a link went to the attacker: %v", b)
		}
	}
	sender.mu.Unlock()
	// The attack left no request behind that a link could move past verifying.
	if n := requestsOf(t, stack, "consumer", "u_8d41"); n != 2 {
		t.Errorf("%d requests stored for Ada, want her own 2", n)
	}

	// A key that may vouch for the person replaces the address on file.
	putOnFile(t, svc, testkit.APIKey, strings.Replace(designExample, "ada@example.com", "ada.new@example.com", 1))
	status, moved := submit(t, svc, testkit.PlainKey, strings.Replace(erasure, "ada@example.com", "ada.new@example.com", 1)+`}`)
	if status != http.StatusAccepted {
		t.Fatalf("a request naming the replaced address: %d %+v", status, moved)
	}
	if sent := sender.waitFor(t, moved.RequestID); sent["email"] != "ada.new@example.com" {
		t.Errorf("the link went to %v, want the replaced address", sent["email"])
	}
}

func TestSubjectWithNothingOnFileIsRefused(t *testing.T) {
	stack := testkit.NewStack(t)
	sender := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL})
	sender.trust(t, svc)
	// A consent without an email puts nothing on file.
	putOnFile(t, svc, testkit.APIKey, strings.Replace(designExample, `"email": "ada@example.com", `, "", 1))

	for what, body := range map[string]string{
		"naming an address":    erasure + `}`,
		"naming none":          `{"tenant":"consumer","subject_id":"u_8d41","type":"erasure","reason":"user_request"}`,
		"a subject never seen": `{"tenant":"consumer","subject_id":"u_new","identifiers":{"email":"new@example.com"},"type":"access","reason":"user_request"}`,
	} {
		status, got := submit(t, svc, testkit.PlainKey, body)
		refusedOnEmail(t, what, status, got)
	}
	if n := requestsOf(t, stack, "consumer", "u_8d41") + requestsOf(t, stack, "consumer", "u_new"); n != 0 {
		t.Errorf("%d requests stored", n)
	}
	// A key that may vouch for the person still submits it verified.
	if status, got := submit(t, svc, testkit.APIKey, erasure+`,"verified":true}`); status != http.StatusAccepted || got.Status != "in_progress" {
		t.Errorf("verified by a key with the permission: %d %+v", status, got)
	}
}

// requestsOf counts the requests consent-ingest stored for a subject.
func requestsOf(t *testing.T, stack *testkit.Stack, tenant, subjectID string) int {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), stack.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM ingest.requests WHERE subject_key = $1`,
		stack.Pepper.SubjectKey(tenant, subjectID)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUnconfirmedRequestExpiresRejected(t *testing.T) {
	stack := testkit.NewStack(t)
	sender := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL, "CONSENTRY_VERIFY_TTL": "1s"})
	sender.trust(t, svc)
	putOnFile(t, svc, testkit.APIKey, designExample)
	status, got := submit(t, svc, testkit.APIKey, erasure+`}`)
	if status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	link := sender.waitFor(t, got.RequestID)["verify_url"].(string)
	events := statuses(t, stack, got.RequestID, "received", "verifying", "rejected")
	if !strings.Contains(events[2].Detail, "verification_expired") {
		t.Errorf("rejection detail %q", events[2].Detail)
	}
	u, _ := url.Parse(link)
	req, _ := http.NewRequest("POST", svc.URL+u.Path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an expired link: %d", resp.StatusCode)
	}
}

func TestEnterpriseRequestRunsOnlyOnTheCustomersWord(t *testing.T) {
	stack := testkit.NewStack(t)
	customer := newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_CONTROLLER_WEBHOOKS": "acme=" + customer.URL})
	customer.trust(t, svc)
	acme := `{"tenant":"acme","subject_id":"emp_7","identifiers":{"email":"grace@acme.example"},"type":"erasure","reason":"user_request","verified":true}`

	status, got := submit(t, svc, testkit.AcmeAppKey, acme)
	if status != http.StatusAccepted || got.Status != "forwarded_to_controller" {
		t.Fatalf("status %d %+v", status, got)
	}
	fwd := customer.waitFor(t, got.RequestID)
	if fwd["subject_id"] != "emp_7" || fwd["type"] != "erasure" || !strings.HasSuffix(fwd["approve_url"].(string), "/v1/privacy-requests/"+got.RequestID+"/approve") {
		t.Errorf("forward %v", fwd)
	}
	approve := svc.URL + "/v1/privacy-requests/" + got.RequestID + "/approve"
	// Another Customer cannot tell the request exists; acme's product service is not the
	// controller; neither the product key of every tenant nor the operator key is the Customer.
	for key, want := range map[string]int{testkit.GlobexKey: http.StatusNotFound, testkit.AcmeAppKey: http.StatusForbidden, testkit.APIKey: http.StatusForbidden, testkit.OperatorKey: http.StatusForbidden} {
		if status := testkit.Call(t, "POST", approve, key, nil, nil); status != want {
			t.Errorf("approve with %.6s…: %d, want %d", key, status, want)
		}
	}
	statuses(t, stack, got.RequestID, "received", "forwarded_to_controller")
	var approved requestAnswerJSON
	if status := testkit.Call(t, "POST", approve, testkit.TenantKey, nil, &approved); status != http.StatusOK || approved.Status != "in_progress" {
		t.Fatalf("approve by the Customer: %d %+v", status, approved)
	}
	statuses(t, stack, got.RequestID, "received", "forwarded_to_controller", "in_progress")
	if status := testkit.Call(t, "POST", approve, testkit.TenantKey, nil, nil); status != http.StatusConflict {
		t.Errorf("second approval: %d", status)
	}

	// The Customer's own submission needs no approval; its refusal of another ends it.
	status, own := submit(t, svc, testkit.TenantKey, strings.Replace(acme, `,"verified":true`, "", 1))
	if status != http.StatusAccepted || own.Status != "in_progress" {
		t.Errorf("Customer's own request: %d %+v", status, own)
	}
	_, other := submit(t, svc, testkit.AcmeAppKey, acme)
	reject := svc.URL + "/v1/privacy-requests/" + other.RequestID + "/reject"
	if status := testkit.Call(t, "POST", reject, testkit.TenantKey, `{}`, nil); status != http.StatusBadRequest {
		t.Errorf("rejection without a reason: %d", status)
	}
	if status := testkit.Call(t, "POST", reject, testkit.TenantKey, `{"reason":"the person has no account with us"}`, nil); status != http.StatusOK {
		t.Errorf("rejection: %d", status)
	}
	events := statuses(t, stack, other.RequestID, "received", "forwarded_to_controller", "rejected")
	if events[2].Detail != "rejected: the person has no account with us" {
		t.Errorf("rejection detail %q", events[2].Detail)
	}
}

func TestExtensionObjectionAndChildRequests(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)

	_, got := submit(t, svc, testkit.APIKey, erasure+`,"verified":true}`)
	extend := svc.URL + "/v1/privacy-requests/" + got.RequestID + "/extend"
	var ext requestAnswerJSON
	if status := testkit.Call(t, "POST", extend, testkit.OperatorKey, `{"reason":"the request is complex"}`, &ext); status != http.StatusOK ||
		!ext.DeadlineAt.After(got.DeadlineAt.AddDate(0, 1, 27)) {
		t.Fatalf("extend: %d, deadline %v → %v", status, got.DeadlineAt, ext.DeadlineAt)
	}
	if status := testkit.Call(t, "POST", extend, testkit.OperatorKey, `{"reason":"again"}`, nil); status != http.StatusConflict {
		t.Errorf("second extension: %d", status)
	}
	events := statuses(t, stack, got.RequestID, "received", "in_progress", "in_progress")
	if events[2].Detail != "deadline_extended: the request is complex" || !events[2].DeadlineAt.Equal(ext.DeadlineAt) {
		t.Errorf("extension event: %q %v", events[2].Detail, events[2].DeadlineAt)
	}

	// vendor-fanout closes a request: it can no longer be extended.
	_, closing := submit(t, svc, testkit.APIKey, erasure+`,"verified":true}`)
	started := statuses(t, stack, closing.RequestID, "received", "in_progress")[1]
	completed := *started
	completed.EventID, completed.Status, completed.Source = testkit.NewEventID(t), "completed", "consentry"
	testkit.Publish(t, stack, stack.Kafka.Topics.Requests, completed.SubjectKey, &completed)
	waitForStatus(t, stack, closing.RequestID, "completed")
	if status := testkit.Call(t, "POST", svc.URL+"/v1/privacy-requests/"+closing.RequestID+"/extend", testkit.OperatorKey,
		`{"reason":"x"}`, nil); status != http.StatusConflict {
		t.Errorf("extending a completed request: %d, want 409", status)
	}

	_, obj := submit(t, svc, testkit.APIKey, `{"tenant":"consumer","subject_id":"u_9","type":"objection","reason":"user_request","verified":true}`)
	statuses(t, stack, obj.RequestID, "received", "in_progress")
	var denial *schemas.ConsentChanged
	for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents) {
		if c, ok := d.Event.(*schemas.ConsentChanged); ok && c.SubjectKey == stack.Pepper.SubjectKey("consumer", "u_9") {
			denial = c
		}
	}
	if denial == nil || denial.Purposes["marketing_email"] != "denied" || denial.Purposes["sales_outreach"] != "denied" || len(denial.Purposes) != 2 {
		t.Errorf("objection to direct marketing: consent %+v", denial)
	}

	_, child := submit(t, svc, testkit.APIKey, `{"tenant":"consumer","subject_id":"kid_1","type":"erasure","reason":"child_under_16","verified":true}`)
	statuses(t, stack, child.RequestID, "received", "in_progress")
	var termination *schemas.PrivacyRequest
	for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Requests) {
		if pr, ok := d.Event.(*schemas.PrivacyRequest); ok && pr.Type == "account_termination" {
			termination = pr
		}
	}
	if termination == nil || !strings.Contains(termination.Detail, child.RequestID) || termination.SubjectKey != stack.Pepper.SubjectKey("consumer", "kid_1") {
		t.Errorf("account termination %+v", termination)
	}
}

func fetch(t *testing.T, method, url string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return string(b)
}

// waitForStatus waits until consent-ingest's own record of a request has status.
func waitForStatus(t *testing.T, stack *testkit.Stack, id, status string) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), stack.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got string
		if err := pool.QueryRow(t.Context(), `SELECT status FROM ingest.requests WHERE request_id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s, want %s", id, got, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
