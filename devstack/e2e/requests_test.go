package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/testkit"
)

// requestView is what audit-sink answers for GET /v1/privacy-requests/{id}.
type requestView struct {
	Status      string `json:"status"`
	Type        string `json:"type"`
	DeadlineAt  string `json:"deadline_at"`
	Transitions []struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"transitions"`
	Vendors []vendorProgress `json:"vendors"`
}

type vendorProgress struct {
	Vendor   string `json:"vendor"`
	Action   string `json:"action"`
	Status   string `json:"status"`
	Receipts []struct {
		Outcome string `json:"outcome"`
	} `json:"receipts"`
}

func (v requestView) steps() []string {
	var out []string
	for _, t := range v.Transitions {
		out = append(out, t.Status)
	}
	return out
}

func submitRequest(t *testing.T, s *stack.Stack, key, body string) (status string, id string) {
	t.Helper()
	var got struct {
		RequestID string `json:"request_id"`
		Status    string `json:"status"`
	}
	if code := testkit.Call(t, "POST", s.URL("consent-ingest")+"/v1/privacy-requests", key, body, &got); code != http.StatusAccepted {
		t.Fatalf("POST /v1/privacy-requests: %d", code)
	}
	return got.Status, got.RequestID
}

func viewRequest(t *testing.T, s *stack.Stack, key, id string) (int, requestView) {
	t.Helper()
	var v requestView
	code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id, key, nil, &v)
	return code, v
}

// waitForRequest waits until audit-sink shows request id in status.
func waitForRequest(t *testing.T, s *stack.Stack, id, status string, timeout time.Duration) requestView {
	t.Helper()
	var v requestView
	eventually(t, "request "+id+" to be "+status, timeout, func() bool {
		_, v = viewRequest(t, s, s.APIKey(), id)
		return v.Status == status
	})
	return v
}

type manualTask struct {
	ID        int64  `json:"id"`
	Vendor    string `json:"vendor"`
	Action    string `json:"action"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
}

func openTasks(t *testing.T, s *stack.Stack, requestID string) []manualTask {
	t.Helper()
	var got struct {
		Tasks []manualTask `json:"manual_tasks"`
	}
	if code := testkit.Call(t, "GET", s.URL("vendor-fanout")+"/v1/manual-tasks?status=open&limit=500", s.APIKey(), nil, &got); code != http.StatusOK {
		t.Fatalf("GET /v1/manual-tasks: %d", code)
	}
	var out []manualTask
	for _, task := range got.Tasks {
		if task.RequestID == requestID {
			out = append(out, task)
		}
	}
	return out
}

// completeTasks closes the manual tasks of a request as their owners would — fan-out
// opens them as each vendor's lane reaches the request, so they keep coming for a while —
// until audit-sink shows the request completed. It returns the tasks it closed.
func completeTasks(t *testing.T, s *stack.Stack, requestID string) []manualTask {
	t.Helper()
	var closed []manualTask
	var last requestView
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("request %s last seen %s; vendors %+v; tasks closed %+v", requestID, last.Status, last.Vendors, closed)
		}
	})
	eventually(t, "request "+requestID+" completed with its manual tasks", 120*time.Second, func() bool {
		for _, task := range openTasks(t, s, requestID) {
			if code := testkit.Call(t, "POST", fmt.Sprintf("%s/v1/manual-tasks/%d/complete", s.URL("vendor-fanout"), task.ID), s.APIKey(),
				`{"completed_by":"privacy-team","note":"done at the vendor"}`, nil); code != http.StatusOK {
				t.Fatalf("completing task %d: %d", task.ID, code)
			}
			closed = append(closed, task)
		}
		_, last = viewRequest(t, s, s.APIKey(), requestID)
		return last.Status == "completed"
	})
	if len(closed) == 0 {
		t.Errorf("request %s had no manual task", requestID)
	}
	return closed
}

// TestPrivacyRequestsEndToEnd sends each type of privacy request through the embedded
// stack over HTTP and checks what the vendors saw, how each request moved, and what the
// person gets back.
func TestPrivacyRequestsEndToEnd(t *testing.T) {
	s := startStack(t, "")
	key := s.APIKey()

	t.Run("erasure", func(t *testing.T) {
		_, id := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_era","identifiers":{"email":"era@example.com",
			"vendor_ids":{"amplitude":"amp-u_era","salesforce":"003U000000ERA01"}},"type":"erasure","reason":"user_request","verified":true}`)
		eventually(t, "every API vendor's deletion", 60*time.Second, func() bool {
			c := simCalls(t, s)
			return hasCall(c, "hubspot", "POST", "/gdpr-delete") && hasCall(c, "amplitude", "POST", "/api/2/deletions/users") &&
				hasCall(c, "posthog", "POST", "/persons/bulk_delete/") && hasCall(c, "fullstory", "DELETE", "/v2/users")
		})
		// Vendors without an API hold it open until their tasks are done.
		if _, v := viewRequest(t, s, key, id); v.Status != "in_progress" {
			t.Errorf("with manual tasks open: %s", v.Status)
		}
		tasks := completeTasks(t, s, id)
		_, v := viewRequest(t, s, key, id)
		if !slices.Equal(v.steps(), []string{"received", "in_progress", "completed"}) || v.DeadlineAt == "" {
			t.Errorf("transitions %v, deadline %q", v.steps(), v.DeadlineAt)
		}
		// Consentry's own copies are shredded with the completion: the subject's key is gone.
		if d := v.Transitions[len(v.Transitions)-1].Detail; !strings.Contains(d, "data key is destroyed") {
			t.Errorf("completion detail %q", d)
		}
		_, access := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_era","type":"access","reason":"user_request","verified":true}`)
		waitForRequest(t, s, access, "completed", 60*time.Second)
		var export struct {
			IdentifiersStatus string `json:"identifiers_status"`
		}
		if code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+access+"/export", key, nil, &export); code != http.StatusOK ||
			export.IdentifiersStatus != "destroyed" {
			t.Errorf("export after the erasure: %d, identifiers %q, want destroyed", code, export.IdentifiersStatus)
		}
		vendors := map[string]string{}
		for _, p := range v.Vendors {
			vendors[p.Vendor] = p.Status
		}
		for _, name := range append(slices.Clone(apiVendors), tasks[0].Vendor) {
			if vendors[name] == "" {
				t.Errorf("no receipt from %s: %v", name, vendors)
			}
		}
		// The address stays suppressed, by hash, for every marketing tool.
		var sup struct {
			Suppressed bool   `json:"suppressed"`
			Reason     string `json:"reason"`
		}
		eventually(t, "the erased address suppressed", 30*time.Second, func() bool {
			testkit.Call(t, "GET", s.URL("unsubscribe-handler")+"/v1/suppressions/"+pseudonym.EmailSHA256("era@example.com"), key, nil, &sup)
			return sup.Suppressed
		})
	})

	t.Run("access and portability export", func(t *testing.T) {
		consentID := postConsent(t, s, "u_acc", "acc@example.com")
		_, id := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_acc","identifiers":{"email":"acc@example.com"},"type":"access","reason":"user_request","verified":true}`)
		// An access request asks nothing of vendors.
		if v := waitForRequest(t, s, id, "completed", 60*time.Second); len(v.Vendors) != 0 {
			t.Errorf("vendors acted on an access request: %+v", v.Vendors)
		}
		var export struct {
			FormatVersion  int `json:"format_version"`
			ConsentHistory []struct {
				EventID string `json:"event_id"`
			} `json:"consent_history"`
			Identifiers struct {
				Emails []string `json:"emails"`
			} `json:"identifiers"`
			PrivacyRequests []struct {
				RequestID string `json:"request_id"`
			} `json:"privacy_requests"`
		}
		eventually(t, "the export to hold the consent", 30*time.Second, func() bool {
			code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export", key, nil, &export)
			return code == http.StatusOK && len(export.ConsentHistory) > 0
		})
		if export.ConsentHistory[0].EventID != consentID || !slices.Contains(export.Identifiers.Emails, "acc@example.com") ||
			len(export.PrivacyRequests) != 1 || export.PrivacyRequests[0].RequestID != id {
			t.Errorf("export %+v", export)
		}
		csv := get(t, s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export?format=csv", key)
		if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) < 2 || !strings.Contains(lines[0], "purpose") || !strings.Contains(csv, consentID) {
			t.Errorf("CSV export:\n%s", csv)
		}
	})

	t.Run("verification by the person's link", func(t *testing.T) {
		status, id := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_link","identifiers":{"email":"link@example.com"},"type":"portability","reason":"user_request"}`)
		if status != "verifying" {
			t.Fatalf("status %s, want verifying", status)
		}
		link := verificationLink(t, s, id)
		if code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export", key, nil, nil); code != http.StatusConflict {
			t.Errorf("export before verification: %d, want 409", code)
		}
		resp, err := http.PostForm(link, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("confirming: %d", resp.StatusCode)
		}
		v := waitForRequest(t, s, id, "completed", 60*time.Second)
		if !slices.Equal(v.steps(), []string{"received", "verifying", "in_progress", "completed"}) {
			t.Errorf("transitions %v", v.steps())
		}
	})

	t.Run("enterprise request waits for the Customer", func(t *testing.T) {
		status, id := submitRequest(t, s, key, `{"tenant":"acme","subject_id":"emp_1","identifiers":{"email":"emp1@acme.example"},"type":"erasure","reason":"user_request","verified":true}`)
		if status != "forwarded_to_controller" {
			t.Fatalf("status %s", status)
		}
		eventually(t, "the forward at the Customer's endpoint", 30*time.Second, func() bool {
			return strings.Contains(simBodies(t, s, "/webhook/customer"), id)
		})
		waitForRequest(t, s, id, "forwarded_to_controller", 30*time.Second)
		approve := s.URL("consent-ingest") + "/v1/privacy-requests/" + id + "/approve"
		if code := testkit.Call(t, "POST", approve, key, nil, nil); code != http.StatusForbidden {
			t.Errorf("approval by a key that is not the Customer's: %d", code)
		}
		// Nothing reached a vendor: no call names the person, the request has no receipt.
		if _, v := viewRequest(t, s, key, id); len(v.Vendors) != 0 || mentions(t, s, "emp1@acme.example") {
			t.Fatalf("vendors acted before the Customer approved: %+v", v.Vendors)
		}
		if code := testkit.Call(t, "POST", approve, s.CustomerKey(), nil, nil); code != http.StatusOK {
			t.Fatalf("approval by the Customer: %d", code)
		}
		eventually(t, "the erasure at HubSpot after approval", 60*time.Second, func() bool {
			_, v := viewRequest(t, s, key, id)
			return slices.ContainsFunc(v.Vendors, func(p vendorProgress) bool { return p.Vendor == "hubspot" && p.Status == "delivered" }) &&
				mentions(t, s, "emp1@acme.example")
		})
		// The Customer sees its own request, and nobody else's.
		eventually(t, "the Customer's view of its approved request", 30*time.Second, func() bool {
			code, v := viewRequest(t, s, s.CustomerKey(), id)
			return code == http.StatusOK && v.Status != "forwarded_to_controller"
		})
		_, consumerID := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_other","type":"access","reason":"user_request","verified":true}`)
		if code, _ := viewRequest(t, s, s.CustomerKey(), consumerID); code != http.StatusNotFound {
			t.Errorf("the Customer's key on another tenant's request: %d, want 404", code)
		}
	})

	t.Run("objection to direct marketing", func(t *testing.T) {
		_, id := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_obj","identifiers":{"email":"obj@example.com"},"type":"objection","reason":"user_request","verified":true}`)
		eventually(t, "the unsubscribe at HubSpot", 60*time.Second, func() bool {
			return hasCall(simCalls(t, s), "hubspot", "POST", "obj@example.com/unsubscribe-all")
		})
		waitForRequest(t, s, id, "completed", 60*time.Second)
		var consent struct {
			Purposes map[string]struct {
				Decision string `json:"decision"`
			} `json:"purposes"`
		}
		testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/subjects/consumer/u_obj/consent", key, nil, &consent)
		if consent.Purposes["marketing_email"].Decision != "denied" || consent.Purposes["sales_outreach"].Decision != "denied" {
			t.Errorf("consent after the objection: %+v", consent.Purposes)
		}
	})

	t.Run("restriction, its lift, and rectification", func(t *testing.T) {
		_, restrict := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res@example.com","vendor_ids":{"salesforce":"003U000000RES01"}},"type":"restriction","reason":"user_request","verified":true}`)
		eventually(t, "outreach paused at HubSpot", 60*time.Second, func() bool {
			return hasCall(simCalls(t, s), "hubspot", "POST", "res@example.com/unsubscribe-all")
		})
		completeTasks(t, s, restrict)

		_, lift := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res@example.com"},"type":"restriction","scope":"lift","reason":"user_request","verified":true}`)
		if tasks := completeTasks(t, s, lift); !slices.ContainsFunc(tasks, func(m manualTask) bool { return m.Action == "lift_restriction" }) {
			t.Errorf("lift tasks %+v", tasks)
		}

		_, rectify := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res.new@example.com"},"type":"rectification","reason":"user_request","verified":true}`)
		if tasks := completeTasks(t, s, rectify); !slices.ContainsFunc(tasks, func(m manualTask) bool { return m.Action == "rectify" }) {
			t.Errorf("rectification tasks %+v", tasks)
		}
	})

	t.Run("open requests by deadline", func(t *testing.T) {
		_, id := submitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_wait","identifiers":{"email":"wait@example.com"},"type":"erasure","reason":"user_request"}`)
		var list struct {
			Requests []struct {
				RequestID      string `json:"request_id"`
				DeadlineStatus string `json:"deadline_status"`
			} `json:"requests"`
		}
		eventually(t, "the unverified request listed", 30*time.Second, func() bool {
			testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests?status=verifying", key, nil, &list)
			return slices.ContainsFunc(list.Requests, func(r struct {
				RequestID      string `json:"request_id"`
				DeadlineStatus string `json:"deadline_status"`
			}) bool {
				return r.RequestID == id && r.DeadlineStatus == "on_track"
			})
		})
	})
}

// verificationLink reads the link the verification sender (the simulator's webhook
// receiver) was asked to mail for request id.
func verificationLink(t *testing.T, s *stack.Stack, id string) string {
	t.Helper()
	var link string
	eventually(t, "the verification link at the sender", 30*time.Second, func() bool {
		for _, body := range strings.Split(simBodies(t, s, "/webhook/verification-sender"), "\n") {
			var sent struct {
				RequestID string `json:"request_id"`
				VerifyURL string `json:"verify_url"`
			}
			if json.Unmarshal([]byte(body), &sent) == nil && sent.RequestID == id {
				link = sent.VerifyURL
			}
		}
		return link != ""
	})
	return link
}

// simBodies returns the bodies the simulator received on paths containing path, one per line.
func simBodies(t *testing.T, s *stack.Stack, path string) string {
	t.Helper()
	var calls []struct {
		Path string `json:"path"`
		Body string `json:"body"`
	}
	testkit.Call(t, "GET", s.SimulatorURL()+"/_sim/calls?body=1", "", nil, &calls)
	var out []string
	for _, c := range calls {
		if strings.Contains(c.Path, path) {
			out = append(out, c.Body)
		}
	}
	return strings.Join(out, "\n")
}

// mentions reports whether any call the simulator received names text in its path or body.
func mentions(t *testing.T, s *stack.Stack, text string) bool {
	t.Helper()
	var calls []struct {
		Path string `json:"path"`
		Body string `json:"body"`
	}
	testkit.Call(t, "GET", s.SimulatorURL()+"/_sim/calls?body=1", "", nil, &calls)
	for _, c := range calls {
		if !strings.Contains(c.Path, "/webhook/") && (strings.Contains(c.Path, text) || strings.Contains(c.Body, text)) {
			return true
		}
	}
	return false
}

func get(t *testing.T, url, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
