package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/csrf"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

// issueLink asks the service for a link and returns its local unsubscribe URL.
func issueLink(t *testing.T, svc *testkit.Service, body string) string {
	t.Helper()
	var link struct {
		URL string `json:"url"`
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/unsubscribe-links", testkit.APIKey, body, &link); s != http.StatusOK {
		t.Fatalf("issuing a link: %d", s)
	}
	return localURL(svc, link.URL)
}

func prefsURL(unsubscribeURL string) string {
	return strings.Replace(unsubscribeURL, "/u/", "/preferences/", 1)
}

func get(t *testing.T, u string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postPrefs(t *testing.T, u string, form url.Values, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%s", page)
	}
	return m[1]
}

func TestPreferenceCenterEmitsChangedPurposesOnly(t *testing.T) {
	stack, svc, box := startWithMailbox(t, nil)
	key := stack.Pepper.SubjectKey("consumer", "u_pref")
	// What consent-ingest published earlier: the page must show it.
	testkit.Publish(t, stack, stack.Kafka.Topics.Consents, key, &schemas.ConsentChanged{Header: schemas.Header{
		EventID: testkit.NewEventID(t), Tenant: "consumer", SubjectKey: key, OccurredAt: time.Now().UTC().Add(-time.Hour),
		RecordedAt: time.Now().UTC(), Source: "cmp", PolicyVersion: "2025-04-09"},
		Purposes: map[string]string{"advertising": "denied", "analytics": "denied"}})
	u := prefsURL(issueLink(t, svc, `{"tenant":"consumer","subject_id":"u_pref","email":"pref@example.com","list":"weekly_digest"}`))

	var page string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var status int
		status, page = get(t, u)
		if status != 200 {
			t.Fatalf("preference page: %d\n%s", status, page)
		}
		if strings.Contains(page, `id="purpose-advertising-denied" name="purpose.advertising" value="denied" checked`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the consumer has not recorded the cmp event yet
	}
	for _, want := range []string{
		`<html lang="en">`,
		`<legend>Targeted advertising</legend>`,
		`<label for="purpose-marketing_email-granted">Allow</label>`,
		`id="purpose-analytics-denied" name="purpose.analytics" value="denied" checked`,
		`<label for="topic-newsletter">Newsletter</label>`,
		`id="topic-weekly_digest" name="topic.weekly_digest" value="on" checked`, // the link's own list
		"LinkedIn Insight Tag",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(page, "<fieldset"); n != 6 {
		t.Errorf("%d fieldsets, want one per purpose and one for topics", n)
	}
	if strings.Contains(page, `id="purpose-personalization-granted" name="purpose.personalization" value="granted" checked`) {
		t.Error("a purpose without a recorded choice shows one")
	}

	form := url.Values{
		"csrf":                    {csrfOf(t, page)},
		"purpose.analytics":       {"granted"}, // changed
		"purpose.advertising":     {"denied"},  // as it was
		"purpose.marketing_email": {"granted"}, // no record yet: granted now counts as a change
		"topics_shown":            {"1"},
		"topic.product_updates":   {"on"},
		"topic.events":            {"on"},
		"topic.weekly_digest":     {"on"},
		// newsletter unticked: a per-topic opt-out
	}
	status, body := postPrefs(t, u, form)
	if status != 200 || !strings.Contains(body, "we have sent you an email") {
		t.Fatalf("saving: %d\n%s", status, body)
	}
	// The grants wait for the mailed confirmation; the topic opt-out is at once.
	mail := box.wait(t, 1)
	if fmt.Sprint(mail["purposes"]) != "[analytics marketing_email]" || fmt.Sprint(mail["topics"]) != "[]" {
		t.Errorf("confirmation mail %v", mail)
	}
	if s, _ := postForm(t, localURL(svc, mail["confirm_url"].(string)), "confirm=yes"); s != 200 {
		t.Fatalf("confirming: %d", s)
	}
	// Confirmed, a double submit of the same form changes nothing and says so.
	if status, body := postPrefs(t, u, form); status != 200 || !strings.Contains(body, "nothing needed to change") {
		t.Fatalf("second submit: %d\n%s", status, body)
	}

	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	c := consents[1].Event.(*schemas.ConsentChanged)
	if c.Source != "preference_center" || c.SubjectKey != key || len(c.Purposes) != 2 ||
		c.Purposes["analytics"] != "granted" || c.Purposes["marketing_email"] != "granted" {
		t.Errorf("preference center event %+v", c)
	}
	if ids := open(t, stack, c.Header); ids.Email != "pref@example.com" {
		t.Errorf("the event's identifiers open to %+v", ids)
	}
	sup := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions, 1, 60*time.Second)
	s := sup[0].Event.(*schemas.SuppressionChanged)
	hash := s.EmailSHA256
	if string(sup[0].Msg.Key) != hash+":newsletter" || s.Scope != "topic" || s.Topic != "newsletter" || s.Source != "preference_center" {
		t.Errorf("topic suppression %q %+v", sup[0].Msg.Key, s)
	}

	// Ticking the topic again is a grant too: once confirmed, a tombstone under the same key.
	_, page = get(t, u)
	form.Set("topic.newsletter", "on")
	form.Set("csrf", csrfOf(t, page))
	if status, body := postPrefs(t, u, form); status != 200 || !strings.Contains(body, "we have sent you an email") {
		t.Fatalf("re-subscribing: %d\n%s", status, body)
	}
	mail = box.wait(t, 2)
	if fmt.Sprint(mail["topics"]) != "[newsletter]" || fmt.Sprint(mail["purposes"]) != "[]" {
		t.Errorf("second confirmation mail %v", mail)
	}
	if s, _ := postForm(t, localURL(svc, mail["confirm_url"].(string)), "confirm=yes"); s != 200 {
		t.Fatalf("confirming: %d", s)
	}
	all := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions, 2, 20*time.Second)
	if len(all) != 2 || all[1].Event != nil || string(all[1].Msg.Key) != hash+":newsletter" {
		t.Errorf("after re-subscribing, %d suppression records; want the topic's suppression then its tombstone", len(all))
	}
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 2 {
		t.Errorf("%d consent events, want 2 (the cmp one and one confirmed save)", n)
	}
}

func TestPreferenceCenterRejectsCrossSiteAndStaleForms(t *testing.T) {
	stack, svc := start(t)
	u := prefsURL(issueLink(t, svc, `{"tenant":"consumer","subject_id":"u_csrf","email":"csrf@example.com"}`))
	_, page := get(t, u)
	good := csrfOf(t, page)
	tok := u[strings.LastIndex(u, "/")+1:]
	keys, err := token.ParseKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	guard := csrf.New(keys.Derive("csrf"), 30*time.Minute)
	other := issueLink(t, svc, `{"tenant":"consumer","subject_id":"u_other","email":"other@example.com"}`)
	_, otherPage := get(t, prefsURL(other))

	form := func(csrfToken string) url.Values {
		return url.Values{"csrf": {csrfToken}, "purpose.analytics": {"granted"}, "purpose.marketing_email": {"denied"}}
	}
	cases := []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", form(""), nil},
		{"stale token", form(guard.Issue(tok, time.Now().Add(-2*time.Hour))), nil},
		{"forged token", form("29424567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil},
		{"another link's token", form(csrfOf(t, otherPage)), nil},
		{"valid token from another site", form(good), []string{"Origin", "https://evil.example"}},
		{"valid token, cross-site fetch", form(good), []string{"Sec-Fetch-Site", "cross-site"}},
		{"valid token, opaque origin", form(good), []string{"Origin", "null"}},
	}
	for _, c := range cases {
		status, body := postPrefs(t, u, c.form, c.headers...)
		if status != http.StatusForbidden || !strings.Contains(body, "This form can no longer be sent") {
			t.Errorf("%s: %d", c.name, status)
		}
	}
	// Every answer came after Kafka acknowledged what its request published: nothing
	// refused can still be on its way.
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 0 {
		t.Errorf("%d consent events after rejected forms", n)
	}
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)); n != 0 {
		t.Errorf("%d suppression records after rejected forms", n)
	}
	// The same form from the page itself is accepted.
	if status, _ := postPrefs(t, u, form(good), "Origin", svc.URL); status != 200 {
		t.Errorf("the page's own form: %d", status)
	}
	// A bad link gets the invalid-link page, never a form.
	if status, body := get(t, svc.URL+"/preferences/not-a-token"); status != http.StatusBadRequest || !strings.Contains(body, "This link is not valid") {
		t.Errorf("bad link: %d", status)
	}
}

func TestPublicPagesAreRateLimited(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_PUBLIC_BURST": "3", "CONSENTRY_PUBLIC_RATE": "6"})
	u := svc.URL + "/u/not-a-token"
	for i := range 3 {
		if status, _ := get(t, u); status != http.StatusBadRequest {
			t.Fatalf("request %d of the burst: %d", i+1, status)
		}
	}
	resp, err := http.Get(svc.URL + "/preferences/not-a-token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after the burst: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Machine endpoints are not limited this way: they answer to their API key.
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions?tenant=consumer", testkit.APIKey, nil, nil); s != 200 {
		t.Errorf("the API after the burst: %d", s)
	}
	for _, line := range strings.Split(svc.Logs.String(), "\n") {
		// The only address a log may hold is the one the service listens on.
		if strings.Contains(line, "127.0.0.1") && !strings.Contains(line, `"msg":"ready"`) {
			t.Errorf("a log line holds the client address: %s", line)
		}
	}
}
