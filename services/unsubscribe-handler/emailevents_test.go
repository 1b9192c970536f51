package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

type intake struct {
	Suppressed        int `json:"suppressed"`
	AlreadySuppressed int `json:"already_suppressed"`
	Ignored           int `json:"ignored"`
}

func TestBouncesAndComplaintsSuppress(t *testing.T) {
	stack, svc := start(t)
	simple := `{"events":[
		{"tenant":"consumer","email":"Gone@Example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"},
		{"tenant":"acme","email":"angry@example.com","type":"spam_complaint","occurred_at":"2026-11-28T21:05:00Z"},
		{"tenant":"acme","email":"full@example.com","type":"soft_bounce","occurred_at":"2026-11-28T21:05:00Z"}]}`
	var got intake
	if s := testkit.Call(t, "POST", svc.URL+"/v1/email-events", testkit.APIKey, simple, &got); s != 200 || got != (intake{2, 0, 1}) {
		t.Fatalf("simple shape: %d %+v", s, got)
	}
	sendgrid := `[
		{"email":"sg-bounce@example.com","timestamp":1764363845,"event":"bounce","type":"bounce","sg_event_id":"sg-1","sg_message_id":"m1","reason":"550 5.1.1"},
		{"email":"sg-blocked@example.com","timestamp":1764363846,"event":"bounce","type":"blocked","sg_event_id":"sg-2"},
		{"email":"sg-spam@example.com","timestamp":1764363847,"event":"spamreport","sg_event_id":"sg-3"},
		{"email":"gone@example.com","timestamp":1764363848,"event":"dropped","reason":"Bounced Address","sg_event_id":"sg-4"},
		{"email":"sg-open@example.com","timestamp":1764363849,"event":"open","sg_event_id":"sg-5"}]`
	u := svc.URL + "/v1/email-events?tenant=consumer"
	if s := testkit.Call(t, "POST", u, testkit.APIKey, sendgrid, &got); s != 200 || got != (intake{2, 1, 2}) {
		t.Fatalf("SendGrid shape: %d %+v", s, got)
	}
	// SendGrid retries a webhook it thinks failed: the second delivery changes nothing.
	if s := testkit.Call(t, "POST", u+"&format=sendgrid", testkit.APIKey, sendgrid, &got); s != 200 || got != (intake{0, 3, 2}) {
		t.Fatalf("SendGrid redelivery: %d %+v", s, got)
	}

	records := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions, 4, 60*time.Second)
	// The route answers only once Kafka has acknowledged what it published, so a fifth
	// record, had there been one, is already there.
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)); n != 4 {
		t.Errorf("%d suppression records, want 4", n)
	}
	want := map[string]string{
		pseudonym.EmailSHA256("gone@example.com"):      "consumer/hard_bounce/email_events",
		pseudonym.EmailSHA256("angry@example.com"):     "acme/spam_complaint/email_events",
		pseudonym.EmailSHA256("sg-bounce@example.com"): "consumer/hard_bounce/sendgrid",
		pseudonym.EmailSHA256("sg-spam@example.com"):   "consumer/spam_complaint/sendgrid",
	}
	for _, r := range records {
		s := r.Event.(*schemas.SuppressionChanged)
		if w := want[string(r.Msg.Key)]; w != s.Tenant+"/"+s.Reason+"/"+s.Source || s.Scope != "all" || s.SourceEventID == "" {
			t.Errorf("record %s: %s/%s/%s scope %s, want %s", r.Msg.Key, s.Tenant, s.Reason, s.Source, s.Scope, w)
		}
		if string(r.Msg.Key) == pseudonym.EmailSHA256("gone@example.com") && !s.OccurredAt.Equal(time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)) {
			t.Errorf("occurred_at %v, want the bounce's time", s.OccurredAt)
		}
		delete(want, string(r.Msg.Key))
	}
	if len(want) != 0 {
		t.Errorf("no suppression for %v", want)
	}
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if st := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+pseudonym.EmailSHA256("sg-spam@example.com"), testkit.APIKey, nil, &state); st != 200 || !state.Suppressed {
		t.Errorf("lookup after a complaint: %d %+v", st, state)
	}
	if strings.Contains(svc.Logs.String(), "@example.com") {
		t.Error("a log line holds an address")
	}
}

func TestBadEmailEventsApplyNothing(t *testing.T) {
	stack, svc := start(t)
	type fieldErr struct {
		Error struct {
			Fields []struct {
				Field string `json:"field"`
			} `json:"fields"`
		} `json:"error"`
	}
	cases := []struct {
		name, url, key, body string
		status               int
		field                string
	}{
		{"second event has a bad time", "", testkit.APIKey, `{"events":[
			{"tenant":"consumer","email":"ok@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"},
			{"tenant":"consumer","email":"ok2@example.com","type":"hard_bounce","occurred_at":"last week"}]}`, 400, "events[1].occurred_at"},
		{"SendGrid without a tenant", "", testkit.APIKey, `[{"email":"ok@example.com","timestamp":1,"event":"spamreport","sg_event_id":"x"}]`, 400, "tenant"},
		{"SendGrid event without an id", "?tenant=consumer", testkit.APIKey,
			`[{"email":"ok@example.com","timestamp":1,"event":"spamreport","sg_event_id":"x"},{"email":"ok2@example.com","timestamp":1,"event":"bounce"}]`, 400, "[1].sg_event_id"},
		{"unknown format", "?format=mailgun", testkit.APIKey, `{}`, 400, "format"},
		{"another tenant's events", "", testkit.TenantKey, `{"events":[
			{"tenant":"acme","email":"ok@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"},
			{"tenant":"consumer","email":"ok2@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"}]}`, 403, ""},
		{"no key", "", "", `{"tenant":"consumer","email":"ok@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"}`, 401, ""},
	}
	for _, c := range cases {
		var e fieldErr
		s := testkit.Call(t, "POST", svc.URL+"/v1/email-events"+c.url, c.key, c.body, &e)
		if s != c.status || (c.field != "" && (len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != c.field)) {
			t.Errorf("%s: %d %+v, want %d naming %q", c.name, s, e, c.status, c.field)
		}
	}
	// Every answer came after Kafka acknowledged what its request published: nothing
	// refused can still be on its way.
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)); n != 0 {
		t.Errorf("%d suppression records after rejected batches", n)
	}
	if st := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+pseudonym.EmailSHA256("ok@example.com"), testkit.APIKey, nil, nil); st != 404 {
		t.Errorf("a rejected batch's first address is recorded: %d", st)
	}
}

func TestPagedSuppressionsKeepTenantsApart(t *testing.T) {
	_, svc := start(t)
	var events []string
	for i := range 5 {
		events = append(events, fmt.Sprintf(`{"tenant":"consumer","email":"c%d@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"}`, i))
	}
	for i := range 2 {
		events = append(events, fmt.Sprintf(`{"tenant":"acme","email":"a%d@example.com","type":"spam_complaint","occurred_at":"2026-11-28T21:04:05Z"}`, i))
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/email-events", testkit.APIKey, `{"events":[`+strings.Join(events, ",")+`]}`, nil); s != 200 {
		t.Fatalf("seeding: %d", s)
	}
	type page struct {
		Suppressions []struct {
			Key         string `json:"key"`
			EmailSHA256 string `json:"email_sha256"`
			Reason      string `json:"reason"`
		} `json:"suppressions"`
		Next string `json:"next"`
	}
	var keys []string
	after := ""
	for pages := 0; ; pages++ {
		var p page
		if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions?tenant=consumer&limit=2&after="+after, testkit.APIKey, nil, &p); s != 200 {
			t.Fatalf("page %d: %d", pages, s)
		}
		for _, e := range p.Suppressions {
			if e.Reason != "hard_bounce" || e.Key != e.EmailSHA256 {
				t.Errorf("entry %+v", e)
			}
			keys = append(keys, e.Key)
		}
		if p.Next == "" || pages > 5 {
			break
		}
		after = p.Next
	}
	if len(keys) != 5 {
		t.Fatalf("paged %d consumer suppressions, want 5", len(keys))
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("keys out of order or repeated: %v", keys)
		}
	}
	var acme page
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions?tenant=acme", testkit.TenantKey, nil, &acme); s != 200 || len(acme.Suppressions) != 2 || acme.Next != "" {
		t.Errorf("acme's own list: %d, %d entries, next %q", s, len(acme.Suppressions), acme.Next)
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions?tenant=consumer", testkit.TenantKey, nil, nil); s != http.StatusForbidden {
		t.Errorf("acme's key lists consumer's suppressions: %d", s)
	}
	for q, field := range map[string]string{"": "tenant", "tenant=acme&limit=0": "limit", "tenant=acme&after=zz": "after"} {
		var e struct {
			Error struct {
				Fields []struct {
					Field string `json:"field"`
				} `json:"fields"`
			} `json:"error"`
		}
		if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions?"+q, testkit.TenantKey, nil, &e); s != 400 || len(e.Error.Fields) != 1 || e.Error.Fields[0].Field != field {
			t.Errorf("?%s: %d %+v, want 400 naming %s", q, s, e, field)
		}
	}
}
