// Package scenarios holds Consentry's end-to-end scenarios — what goes in over the public
// HTTP APIs and what the vendors, the suppression topic and the audit log must show for
// it — apart from how the system under test is started, so that the embedded stack
// (devstack/e2e) and real containers (e2e-containers) pass the same assertions.
package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
)

// Env is a running Consentry: the four services, the Kafka and schema registry they use,
// and a vendor simulator (devkit/vendorsim) that the vendor-fanout's routing points at.
// *stack.Stack is one.
type Env interface {
	// URL is the base URL of a service: consent-ingest, unsubscribe-handler,
	// vendor-fanout or audit-sink.
	URL(service string) string
	// APIKey is a product key for every tenant, with the verify permission.
	APIKey() string
	// OperatorKey runs the pipeline: manual tasks, exports, histories, the audit chains.
	OperatorKey() string
	// CustomerKey is the demo enterprise Customer acme's own (controller) key.
	CustomerKey() string
	SimulatorURL() string
	Brokers() []string
	RegistryURL() string
	Topics() kafka.Topics
}

// APIVendors are the vendors the walking skeleton's path must reach; the seed routing
// reaches more (LinkedIn, Salesforce, SendGrid, manual tasks).
var APIVendors = []string{"hubspot", "amplitude", "posthog", "fullstory"}

// Eventually polls cond until it holds, failing the test after timeout.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// SimCall is one call the vendor simulator received.
type SimCall struct {
	Vendor string    `json:"vendor"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// SimCalls reads the simulator's call log over HTTP, as a user would.
func SimCalls(t testing.TB, env Env) []SimCall {
	t.Helper()
	var calls []SimCall
	if status := testkit.Call(t, "GET", env.SimulatorURL()+"/_sim/calls", "", nil, &calls); status != http.StatusOK {
		t.Fatalf("/_sim/calls: %d", status)
	}
	return calls
}

// HasCall reports whether a vendor answered (anything but a 5xx) a call whose path
// contains pathPart.
func HasCall(calls []SimCall, vendor, method, pathPart string) bool {
	for _, c := range calls {
		if c.Vendor == vendor && c.Method == method && strings.Contains(c.Path, pathPart) && c.Status >= 200 && c.Status < 500 {
			return true
		}
	}
	return false
}

// AllOf reports whether set holds every name.
func AllOf(set map[string]bool, names ...string) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}

// HistoryEntry is one row of a subject's audit history.
type HistoryEntry struct {
	EventID string         `json:"event_id"`
	Type    string         `json:"type"`
	Details map[string]any `json:"details"`
}

// History reads a subject's audit history from audit-sink.
func History(t testing.TB, env Env, tenant, subject string) []HistoryEntry {
	t.Helper()
	var h struct {
		Events []HistoryEntry `json:"events"`
	}
	if status := testkit.Call(t, "GET", env.URL("audit-sink")+"/v1/subjects/"+tenant+"/"+subject+"/history", env.OperatorKey(), nil, &h); status != 200 {
		t.Fatalf("history: %d", status)
	}
	return h.Events
}

const consent = `{
  "tenant": "consumer",
  "subject_id": "%s",
  "identifiers": {"email": "%s", "anonymous_id": "a_77f", "vendor_ids": {"amplitude": "amp-%s"}},
  "occurred_at": "%s",
  "source": "cmp",
  "policy_version": "2025-04-09",
  "purposes": {"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}
}`

// PostConsent sends a denial of analytics, advertising and marketing email for a
// consumer subject and returns its event id.
func PostConsent(t testing.TB, env Env, subject, email string) string {
	t.Helper()
	var got struct {
		EventIDs []string `json:"event_ids"`
	}
	body := fmt.Sprintf(consent, subject, email, subject, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	if status := testkit.Call(t, "POST", env.URL("consent-ingest")+"/v1/consents", env.APIKey(), body, &got); status != http.StatusAccepted {
		t.Fatalf("POST /v1/consents: %d", status)
	}
	return got.EventIDs[0]
}

// RequestView is what audit-sink answers for GET /v1/privacy-requests/{id}.
type RequestView struct {
	Status      string `json:"status"`
	Type        string `json:"type"`
	DeadlineAt  string `json:"deadline_at"`
	Transitions []struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"transitions"`
	Vendors []VendorProgress `json:"vendors"`
}

// VendorProgress is one vendor's part of a privacy request.
type VendorProgress struct {
	Vendor   string `json:"vendor"`
	Action   string `json:"action"`
	Status   string `json:"status"`
	Receipts []struct {
		Outcome string `json:"outcome"`
	} `json:"receipts"`
}

// Steps are the statuses the request went through, in order.
func (v RequestView) Steps() []string {
	var out []string
	for _, t := range v.Transitions {
		out = append(out, t.Status)
	}
	return out
}

// SubmitRequest posts a privacy request with key and returns its status and id.
func SubmitRequest(t testing.TB, env Env, key, body string) (status string, id string) {
	t.Helper()
	var got struct {
		RequestID string `json:"request_id"`
		Status    string `json:"status"`
	}
	if code := testkit.Call(t, "POST", env.URL("consent-ingest")+"/v1/privacy-requests", key, body, &got); code != http.StatusAccepted {
		t.Fatalf("POST /v1/privacy-requests: %d", code)
	}
	return got.Status, got.RequestID
}

// ViewRequest reads a privacy request's status from audit-sink with key.
func ViewRequest(t testing.TB, env Env, key, id string) (int, RequestView) {
	t.Helper()
	var v RequestView
	code := testkit.Call(t, "GET", env.URL("audit-sink")+"/v1/privacy-requests/"+id, key, nil, &v)
	return code, v
}

// WaitForRequest waits until audit-sink shows request id in status.
func WaitForRequest(t testing.TB, env Env, id, status string, timeout time.Duration) RequestView {
	t.Helper()
	var v RequestView
	Eventually(t, "request "+id+" to be "+status, timeout, func() bool {
		_, v = ViewRequest(t, env, env.APIKey(), id)
		return v.Status == status
	})
	return v
}

// ManualTask is a task vendor-fanout opened for a vendor without an API.
type ManualTask struct {
	ID        int64  `json:"id"`
	Vendor    string `json:"vendor"`
	Action    string `json:"action"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
}

// OpenTasks lists the open manual tasks of a request.
func OpenTasks(t testing.TB, env Env, requestID string) []ManualTask {
	t.Helper()
	var got struct {
		Tasks []ManualTask `json:"manual_tasks"`
	}
	if code := testkit.Call(t, "GET", env.URL("vendor-fanout")+"/v1/manual-tasks?status=open&limit=500", env.OperatorKey(), nil, &got); code != http.StatusOK {
		t.Fatalf("GET /v1/manual-tasks: %d", code)
	}
	var out []ManualTask
	for _, task := range got.Tasks {
		if task.RequestID == requestID {
			out = append(out, task)
		}
	}
	return out
}

// CompleteTasks closes the manual tasks of a request as their owners would — fan-out
// opens them as each vendor's lane reaches the request, so they keep coming for a while —
// until audit-sink shows the request completed. It returns the tasks it closed.
func CompleteTasks(t testing.TB, env Env, requestID string) []ManualTask {
	t.Helper()
	var closed []ManualTask
	var last RequestView
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("request %s last seen %s; vendors %+v; tasks closed %+v", requestID, last.Status, last.Vendors, closed)
		}
	})
	Eventually(t, "request "+requestID+" completed with its manual tasks", 120*time.Second, func() bool {
		for _, task := range OpenTasks(t, env, requestID) {
			if code := testkit.Call(t, "POST", fmt.Sprintf("%s/v1/manual-tasks/%d/complete", env.URL("vendor-fanout"), task.ID), env.OperatorKey(),
				`{"completed_by":"privacy-team","note":"done at the vendor"}`, nil); code != http.StatusOK {
				t.Fatalf("completing task %d: %d", task.ID, code)
			}
			closed = append(closed, task)
		}
		_, last = ViewRequest(t, env, env.APIKey(), requestID)
		return last.Status == schemas.StatusCompleted
	})
	if len(closed) == 0 {
		t.Errorf("request %s had no manual task", requestID)
	}
	return closed
}

// VerificationLink reads the link the verification sender (the simulator's webhook
// receiver) was asked to mail for request id.
func VerificationLink(t testing.TB, env Env, id string) string {
	t.Helper()
	var link string
	Eventually(t, "the verification link at the sender", 60*time.Second, func() bool {
		for _, body := range strings.Split(SimBodies(t, env, "/webhook/verification-sender"), "\n") {
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

// SimBodies returns the bodies the simulator received on paths containing path, one per line.
func SimBodies(t testing.TB, env Env, path string) string {
	t.Helper()
	var calls []struct {
		Path string `json:"path"`
		Body string `json:"body"`
	}
	testkit.Call(t, "GET", env.SimulatorURL()+"/_sim/calls?body=1", "", nil, &calls)
	var out []string
	for _, c := range calls {
		if strings.Contains(c.Path, path) {
			out = append(out, c.Body)
		}
	}
	return strings.Join(out, "\n")
}

// Mentions reports whether any vendor call the simulator received names text in its
// path or body.
func Mentions(t testing.TB, env Env, text string) bool {
	t.Helper()
	var calls []struct {
		Path string `json:"path"`
		Body string `json:"body"`
	}
	testkit.Call(t, "GET", env.SimulatorURL()+"/_sim/calls?body=1", "", nil, &calls)
	for _, c := range calls {
		if !strings.Contains(c.Path, "/webhook/") && (strings.Contains(c.Path, text) || strings.Contains(c.Body, text)) {
			return true
		}
	}
	return false
}

// Get fetches url with key and returns the body, failing on anything but 200.
func Get(t testing.TB, url, key string) string {
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
