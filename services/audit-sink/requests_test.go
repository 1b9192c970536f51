package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

func mustID(t *testing.T, s string) string {
	t.Helper()
	if s == "" {
		id, err := eventid.New()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	return s
}

func requestEvent(t *testing.T, tenant, key, requestID, typ, status string, recorded, due time.Time, detail string) *schemas.PrivacyRequest {
	t.Helper()
	h := schemas.Header{EventID: mustID(t, ""), Tenant: tenant, SubjectKey: key, OccurredAt: recorded, RecordedAt: recorded,
		Source: "api", PolicyVersion: "2025-04-09"}
	return &schemas.PrivacyRequest{Header: h, RequestID: requestID, Type: typ, Reason: "user_request", Status: status,
		DeadlineAt: &due, Detail: detail, Jurisdiction: "gdpr"}
}

func receiptEvent(t *testing.T, key, requestID, vendor, outcome string, attempts, httpStatus int, at time.Time) *schemas.VendorReceipt {
	t.Helper()
	h := schemas.Header{EventID: mustID(t, ""), Tenant: "consumer", SubjectKey: key, OccurredAt: at, RecordedAt: at, Source: "api",
		PolicyVersion: "2025-04-09"}
	return &schemas.VendorReceipt{Header: h, SourceEventID: requestID, RequestID: requestID, Vendor: vendor, Action: "delete_user",
		Outcome: outcome, Attempts: attempts, HTTPStatus: httpStatus}
}

func getRaw(t *testing.T, url, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type listed struct {
	Requests []struct {
		RequestID      string `json:"request_id"`
		Tenant         string `json:"tenant"`
		DeadlineStatus string `json:"deadline_status"`
	} `json:"requests"`
	NextAfter string `json:"next_after"`
}

func (l listed) ids() []string {
	var out []string
	for _, r := range l.Requests {
		out = append(out, r.RequestID)
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// One subject of consumer has three requests — an erasure extended into at risk with its
// receipts, an access request overdue and not yet verified, a portability request in
// progress — and acme has one overdue erasure. The view, the listing, the export and the
// gauges must each tell it right, and acme's key must see only acme.
func TestPrivacyRequestsAreViewedListedExportedAndCounted(t *testing.T) {
	stack := testkit.NewStack(t)
	ctx := context.Background()
	p, sd := producerFor(t, stack)
	top := stack.Kafka.Topics
	key := stack.Pepper.SubjectKey("consumer", "u_8d41")
	acmeKey := stack.Pepper.SubjectKey("acme", "u_1")
	now := time.Now().UTC().Truncate(time.Millisecond)
	day := 24 * time.Hour

	sealed := sealFor(t, stack, key)
	erasure, access, portability, acme := mustID(t, ""), mustID(t, ""), mustID(t, ""), mustID(t, "")
	consentID, suppressionID := mustID(t, ""), mustID(t, "")
	consent := &schemas.ConsentChanged{Header: schemas.Header{EventID: consentID, Tenant: "consumer", SubjectKey: key,
		OccurredAt: now.Add(-50 * day), RecordedAt: now.Add(-50 * day), Source: "cmp", PolicyVersion: "2025-04-09", Identifiers: sealed},
		Purposes: map[string]string{"analytics": "denied"}}
	hash := pseudonym.EmailSHA256("ada@example.com")
	suppression := &schemas.SuppressionChanged{Header: schemas.Header{EventID: suppressionID, Tenant: "consumer", SubjectKey: key,
		OccurredAt: now.Add(-50 * day), RecordedAt: now.Add(-50 * day), Source: "cmp", PolicyVersion: "2025-04-09"},
		EmailSHA256: hash, Scope: "all", Reason: "opt_out", SourceEventID: consentID}
	extension := requestEvent(t, "consumer", key, erasure, "erasure", "in_progress", now.Add(-8*day), now.Add(day),
		"deadline_extended: vendor backlog")
	accessReceived := requestEvent(t, "consumer", key, access, "access", "received", now.Add(-40*day), now.Add(-day), "")
	accessReceived.Identifiers = sealed
	events := []struct {
		topic, key string
		e          schemas.Event
	}{
		{top.Consents, key, consent},
		{top.Suppressions, hash, suppression},
		{top.Requests, key, requestEvent(t, "consumer", key, erasure, "erasure", "received", now.Add(-10*day), now.Add(-day), "")},
		{top.Requests, key, requestEvent(t, "consumer", key, erasure, "erasure", "in_progress", now.Add(-9*day), now.Add(-day), "")},
		{top.Receipts, key, receiptEvent(t, key, erasure, "hubspot", "retrying", 1, 503, now.Add(-9*day))},
		{top.Receipts, key, receiptEvent(t, key, erasure, "amplitude", "delivered", 1, 200, now.Add(-9*day))},
		{top.Requests, key, extension},
		{top.Receipts, key, receiptEvent(t, key, erasure, "hubspot", "delivered", 2, 200, now.Add(-8*day))},
		{top.Requests, key, accessReceived},
		{top.Requests, key, requestEvent(t, "consumer", key, access, "access", "verifying", now.Add(-40*day), now.Add(-day), "")},
		{top.Requests, key, requestEvent(t, "consumer", key, portability, "portability", "received", now.Add(-2*day), now.Add(30*day), "")},
		{top.Requests, key, requestEvent(t, "consumer", key, portability, "portability", "in_progress", now.Add(-day), now.Add(30*day), "")},
		{top.Requests, acmeKey, requestEvent(t, "acme", acmeKey, acme, "erasure", "received", now.Add(-40*day), now.Add(-day), "")},
	}
	var msgs []kafka.Message
	for _, e := range events {
		m, err := sd.EncodeMessage(e.topic, e.key, e.e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_REQUEST_GAUGES_INTERVAL": "200ms"})
	base := svc.URL + "/v1/privacy-requests"

	waitFor(t, "every event audited", func() bool {
		var h history
		testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_8d41/history", testkit.OperatorKey, nil, &h)
		return len(h.Events) == len(events)-1 && testkit.Call(t, "GET", base+"/"+acme, testkit.OperatorKey, nil, nil) == http.StatusOK
	})

	t.Run("view", func(t *testing.T) {
		var v audit.RequestView
		if s := testkit.Call(t, "GET", base+"/"+erasure, testkit.OperatorKey, nil, &v); s != http.StatusOK {
			t.Fatalf("view: %d", s)
		}
		if v.Status != "in_progress" || v.Tenant != "consumer" || v.SubjectKey != key || v.Type != "erasure" || v.Jurisdiction != "gdpr" ||
			!v.ReceivedAt.Equal(now.Add(-10*day)) || !v.DeadlineAt.Equal(now.Add(day)) || v.DeadlineStatus != "at_risk" {
			t.Errorf("view %+v", v)
		}
		if len(v.Transitions) != 2 || v.Transitions[0].Status != "received" || v.Transitions[1].Status != "in_progress" {
			t.Errorf("transitions %+v", v.Transitions)
		}
		if len(v.Extensions) != 1 || v.Extensions[0].EventID != extension.EventID || v.Extensions[0].Reason != "vendor backlog" {
			t.Errorf("extensions %+v", v.Extensions)
		}
		if len(v.Vendors) != 2 || v.Vendors[0].Vendor != "hubspot" || v.Vendors[0].Status != "delivered" || len(v.Vendors[0].Receipts) != 2 ||
			v.Vendors[0].Receipts[0].HTTPStatus != 503 || v.Vendors[1].Vendor != "amplitude" {
			t.Errorf("vendors %+v", v.Vendors)
		}
		if len(v.Events) != 6 {
			t.Errorf("%d raw events, want 6 (3 status, 3 receipts)", len(v.Events))
		}
		if s := testkit.Call(t, "GET", base+"/"+erasure, testkit.TenantKey, nil, nil); s != http.StatusNotFound {
			t.Errorf("acme key on a consumer request: %d, want 404", s)
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, c := range []struct {
			query, key string
			want       []string
		}{
			{"status=at_risk", testkit.APIKey, []string{erasure}},
			{"status=overdue", testkit.APIKey, sorted(access, acme)},
			{"status=overdue&tenant=consumer", testkit.APIKey, []string{access}},
			{"status=in_progress", testkit.APIKey, sorted(erasure, portability)},
			{"status=verifying", testkit.APIKey, []string{access}},
			{"status=completed", testkit.APIKey, nil},
			// acme's key sees acme's requests only, whether it names the tenant or not.
			{"status=overdue", testkit.TenantKey, []string{acme}},
			{"status=overdue&tenant=acme", testkit.TenantKey, []string{acme}},
			{"status=in_progress", testkit.TenantKey, nil},
		} {
			var l listed
			if s := testkit.Call(t, "GET", base+"?"+c.query, c.key, nil, &l); s != http.StatusOK {
				t.Errorf("%s: %d", c.query, s)
				continue
			}
			if !slices.Equal(l.ids(), c.want) {
				t.Errorf("%s (key %s…): %v, want %v", c.query, c.key[:4], l.ids(), c.want)
			}
		}
		var page listed
		testkit.Call(t, "GET", base+"?status=overdue&limit=1", testkit.APIKey, nil, &page)
		var rest listed
		testkit.Call(t, "GET", base+"?status=overdue&limit=1&after="+page.NextAfter, testkit.APIKey, nil, &rest)
		if got := sorted(append(page.ids(), rest.ids()...)...); page.NextAfter == "" || !slices.Equal(got, sorted(access, acme)) {
			t.Errorf("pages of one: %v then %v (next %q)", page.ids(), rest.ids(), page.NextAfter)
		}
		if s := testkit.Call(t, "GET", base+"?status=overdue&tenant=consumer", testkit.TenantKey, nil, nil); s != http.StatusForbidden {
			t.Errorf("acme key filtering for consumer: %d, want 403", s)
		}
		var bad struct {
			Error struct {
				Fields []struct{ Field string } `json:"fields"`
			} `json:"error"`
		}
		if s := testkit.Call(t, "GET", base+"?status=lost", testkit.APIKey, nil, &bad); s != http.StatusBadRequest ||
			len(bad.Error.Fields) != 1 || bad.Error.Fields[0].Field != "status" {
			t.Errorf("bad status: %d %+v", s, bad)
		}
	})

	t.Run("export", func(t *testing.T) {
		for _, id := range []string{access, erasure} {
			resp, body := getRaw(t, base+"/"+id+"/export", testkit.OperatorKey)
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "conflict") {
				t.Errorf("export of %s: %d %s, want 409", id, resp.StatusCode, body)
			}
		}
		if resp, _ := getRaw(t, base+"/"+portability+"/export", testkit.TenantKey); resp.StatusCode != http.StatusNotFound {
			t.Errorf("acme key on a consumer export: %d, want 404", resp.StatusCode)
		}
		resp, body := getRaw(t, base+"/"+portability+"/export", testkit.OperatorKey)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d %s", resp.StatusCode, body)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+portability+`.json"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		var x audit.Export
		if err := json.Unmarshal(body, &x); err != nil {
			t.Fatal(err)
		}
		if x.FormatVersion != 1 || x.GeneratedAt.IsZero() || x.Tenant != "consumer" || x.SubjectKey != key || x.RequestID != portability {
			t.Errorf("export header %+v", x)
		}
		if x.IdentifiersStatus != audit.IdentifiersOpened || x.Identifiers == nil ||
			!slices.Equal(x.Identifiers.Emails, []string{"ada@example.com"}) || !slices.Equal(x.Identifiers.SubjectIDs, []string{"u_8d41"}) {
			t.Errorf("identifiers %q %+v", x.IdentifiersStatus, x.Identifiers)
		}
		if x.Consent["analytics"].Decision != "denied" || len(x.ConsentHistory) != 1 || x.ConsentHistory[0].EventID != consentID {
			t.Errorf("consent %+v, history %+v", x.Consent, x.ConsentHistory)
		}
		if len(x.Suppressions) != 1 || x.Suppressions[0].EventID != suppressionID || len(x.VendorReceipts) != 3 {
			t.Errorf("suppressions %d, receipts %d; want 1 and 3", len(x.Suppressions), len(x.VendorReceipts))
		}
		statuses := map[string]string{}
		for _, r := range x.PrivacyRequests {
			statuses[r.RequestID] = r.Status
		}
		if statuses[erasure] != "in_progress" || statuses[access] != "verifying" || statuses[portability] != "in_progress" || len(statuses) != 3 {
			t.Errorf("privacy requests %v", statuses)
		}

		resp, body = getRaw(t, base+"/"+portability+"/export?format=csv", testkit.OperatorKey)
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(lines) != 2 {
			t.Fatalf("csv: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		occurred := now.Add(-50 * day).Format(time.RFC3339Nano)
		if lines[0] != "occurred_at,recorded_at,source,policy_version,purpose,decision,event_id" ||
			lines[1] != occurred+","+occurred+",cmp,2025-04-09,analytics,denied,"+consentID {
			t.Errorf("csv:\n%s", body)
		}
	})

	t.Run("gauges", func(t *testing.T) {
		want := []string{
			`consentry_privacy_requests_at_risk{tenant="consumer"} 1`,
			`consentry_privacy_requests_overdue{tenant="consumer"} 1`,
			`consentry_privacy_requests_overdue{tenant="acme"} 1`,
			`consentry_privacy_requests_at_risk{tenant="acme"} 0`,
			`consentry_privacy_requests_open{status="in_progress",tenant="consumer"} 2`,
			`consentry_privacy_requests_open{status="verifying",tenant="consumer"} 1`,
		}
		var metrics string
		waitFor(t, "the request gauges", func() bool {
			resp, body := getRaw(t, svc.AdminURL+"/metrics", "")
			metrics = string(body)
			return resp.StatusCode == http.StatusOK && strings.Contains(metrics, want[0])
		})
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				t.Errorf("/metrics lacks %s", w)
			}
		}
	})

	t.Run("history pages", func(t *testing.T) {
		url := svc.URL + "/v1/subjects/consumer/u_8d41/history"
		var whole history
		if s := testkit.Call(t, "GET", url, testkit.OperatorKey, nil, &whole); s != http.StatusOK || whole.Next != "" {
			t.Fatalf("whole history: %d, next %q", s, whole.Next)
		}
		var paged []string
		after := ""
		for pages := 0; ; pages++ {
			var h history
			if s := testkit.Call(t, "GET", url+"?limit=5&after="+after, testkit.OperatorKey, nil, &h); s != http.StatusOK || len(h.Events) > 5 || pages > 5 {
				t.Fatalf("page %d: %d, %d events", pages, s, len(h.Events))
			}
			for _, e := range h.Events {
				paged = append(paged, e.EventID)
			}
			if h.Next == "" {
				break
			}
			after = h.Next
		}
		var all []string
		for _, e := range whole.Events {
			all = append(all, e.EventID)
		}
		if !slices.Equal(paged, all) || len(all) != len(events)-1 {
			t.Errorf("pages of 5 give %d entries %v, the whole history %d %v", len(paged), paged, len(all), all)
		}
		for _, q := range []string{"?limit=5001", "?limit=0", "?after=not-a-cursor"} {
			if s := testkit.Call(t, "GET", url+q, testkit.OperatorKey, nil, nil); s != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", q, s)
			}
		}
	})

	if logs := svc.Logs.String(); strings.Contains(logs, "ada@example.com") || strings.Contains(logs, "u_8d41") {
		t.Error("a personal identifier reached the log")
	}

	t.Run("export bound", func(t *testing.T) {
		// The same log, served by an instance whose exports hold at most five entries.
		if err := svc.Stop(); err != nil {
			t.Fatal(err)
		}
		small := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_EXPORT_MAX_ENTRIES": "5"})
		for _, q := range []string{"", "?format=csv"} {
			resp, body := getRaw(t, small.URL+"/v1/privacy-requests/"+portability+"/export"+q, testkit.OperatorKey)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "history") {
				t.Errorf("export%s of a log longer than the bound: %d %s, want 413 pointing at the history", q, resp.StatusCode, body)
			}
		}
	})
}

// sealFor seals the subject's identifiers as consent-ingest would, under the stack's
// master keys and in the key store audit-sink reads.
func sealFor(t *testing.T, stack *testkit.Stack, subjectKey string) *schemas.Sealed {
	t.Helper()
	sealed, err := stack.Sealer(t).Seal(context.Background(), "consumer", subjectKey,
		seal.Identifiers{SubjectID: "u_8d41", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}
