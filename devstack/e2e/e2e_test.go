// Package e2e drives the embedded stack the way `make run` runs it — the real service
// binaries as separate processes, kfake over TCP, a real PostgreSQL — through its public
// HTTP APIs, and checks what the vendors, the suppression topic and the audit log saw.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/testkit"
	"github.com/consentry/consentry/schemas"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "consentry-e2e-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := stack.BuildServices(dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startStack runs a stack on free ports in dataDir (a fresh one when empty).
func startStack(t *testing.T, dataDir string) *stack.Stack {
	t.Helper()
	if dataDir == "" {
		dataDir = dataDirFor(t)
	}
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	return startStackOn(t, dataDir, ports)
}

// dataDirFor makes a data directory the postgres user can traverse into (t.TempDir is
// private to root when tests run as root, and PostgreSQL runs as "postgres").
func dataDirFor(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "consentry-e2e-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startStackOn(t *testing.T, dataDir string, ports stack.Ports) *stack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Config{
		DataDir: dataDir, BinDir: binDir, Ports: ports, Partitions: 4, SimulatorJobDelay: 500 * time.Millisecond,
		Log:        slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ServiceEnv: map[string]string{"CONSENTRY_FANOUT_RETRY_BASE": "100ms", "CONSENTRY_FANOUT_RETRY_MAX": "1s"},
	})
	if err != nil {
		dumpLogs(t, dataDir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, dataDir)
		}
		s.Stop()
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func dumpLogs(t *testing.T, dataDir string) {
	for _, s := range stack.Services {
		b, err := os.ReadFile(filepath.Join(dataDir, "logs", s+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("--- last lines of %s:\n%s", s, strings.Join(lines, "\n"))
	}
}

type simCall struct {
	Vendor string    `json:"vendor"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// simCalls reads the simulator's call log over HTTP, as a user would.
func simCalls(t *testing.T, s *stack.Stack) []simCall {
	t.Helper()
	var calls []simCall
	if status := testkit.Call(t, "GET", s.SimulatorURL()+"/_sim/calls", "", nil, &calls); status != http.StatusOK {
		t.Fatalf("/_sim/calls: %d", status)
	}
	return calls
}

func hasCall(calls []simCall, vendor, method, pathPart string) bool {
	for _, c := range calls {
		if c.Vendor == vendor && c.Method == method && strings.Contains(c.Path, pathPart) && c.Status >= 200 && c.Status < 500 {
			return true
		}
	}
	return false
}

// apiVendors are the vendors the walking skeleton's path must reach; the seed routing of
// the stack reaches more (LinkedIn, Salesforce, SendGrid, manual tasks).
var apiVendors = []string{"hubspot", "amplitude", "posthog", "fullstory"}

func allOf(set map[string]bool, names ...string) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}

type historyEntry struct {
	EventID string         `json:"event_id"`
	Type    string         `json:"type"`
	Details map[string]any `json:"details"`
}

func history(t *testing.T, s *stack.Stack, tenant, subject string) []historyEntry {
	t.Helper()
	var h struct {
		Events []historyEntry `json:"events"`
	}
	if status := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/subjects/"+tenant+"/"+subject+"/history", s.APIKey(), nil, &h); status != 200 {
		t.Fatalf("history: %d", status)
	}
	return h.Events
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
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

func postConsent(t *testing.T, s *stack.Stack, subject, email string) string {
	t.Helper()
	var got struct {
		EventIDs []string `json:"event_ids"`
	}
	body := fmt.Sprintf(consent, subject, email, subject, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	if status := testkit.Call(t, "POST", s.URL("consent-ingest")+"/v1/consents", s.APIKey(), body, &got); status != http.StatusAccepted {
		t.Fatalf("POST /v1/consents: %d", status)
	}
	return got.EventIDs[0]
}

// TestConsentAndErasureReachEveryVendorTheSuppressionTopicAndTheAuditLog is the walking
// skeleton's path: a denial of analytics, advertising and marketing_email and an erasure
// go in over HTTP; the vendors are called, the suppression record is on the topic, and
// both events are in the audit history with their receipts.
func TestConsentAndErasureReachEveryVendorTheSuppressionTopicAndTheAuditLog(t *testing.T) {
	s := startStack(t, "")
	consentID := postConsent(t, s, "u_8d41", "ada@example.com")
	var req struct {
		RequestID string `json:"request_id"`
	}
	if status := testkit.Call(t, "POST", s.URL("consent-ingest")+"/v1/privacy-requests", s.APIKey(),
		`{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"ada@example.com","vendor_ids":{"amplitude":"amp-u_8d41"}},"type":"erasure","reason":"user_request","verified":true}`,
		&req); status != http.StatusAccepted {
		t.Fatalf("POST /v1/privacy-requests: %d", status)
	}

	eventually(t, "the vendor calls", 60*time.Second, func() bool {
		c := simCalls(t, s)
		return hasCall(c, "hubspot", "POST", "/unsubscribe-all") && hasCall(c, "hubspot", "POST", "/gdpr-delete") &&
			hasCall(c, "amplitude", "POST", "/api/2/deletions/users") && hasCall(c, "posthog", "POST", "/persons/bulk_delete/") &&
			hasCall(c, "fullstory", "DELETE", "/v2/users")
	})

	hash := pseudonym.EmailSHA256("ada@example.com")
	var found *schemas.SuppressionChanged
	eventually(t, "the suppression record", 30*time.Second, func() bool {
		for _, d := range testkit.ReadAll(t, s.Brokers(), s.RegistryURL(), s.Topics().Suppressions) {
			if e, ok := d.Event.(*schemas.SuppressionChanged); ok && string(d.Msg.Key) == hash && e.SourceEventID == consentID {
				found = e
			}
		}
		return found != nil
	})
	if found.EmailSHA256 != hash || found.Scope != "all" || found.Reason != "opt_out" || found.Tenant != "consumer" {
		t.Errorf("suppression record %+v", found)
	}

	eventually(t, "both events and their receipts in the audit history", 60*time.Second, func() bool {
		answered := map[string]map[string]bool{consentID: {}, req.RequestID: {}}
		var haveConsent, haveRequest bool
		for _, e := range history(t, s, "consumer", "u_8d41") {
			switch e.Type {
			case "ConsentChanged":
				haveConsent = haveConsent || e.EventID == consentID
			case "PrivacyRequest":
				haveRequest = haveRequest || e.EventID == req.RequestID
			case "VendorReceipt":
				if src, _ := e.Details["source_event_id"].(string); answered[src] != nil {
					answered[src][e.Details["vendor"].(string)] = true
				}
			}
		}
		return haveConsent && haveRequest && allOf(answered[consentID], apiVendors...) && allOf(answered[req.RequestID], apiVendors...)
	})
}

// TestKill9LosesNoAcceptedEvent: a service killed with SIGKILL is restarted and catches
// up; every event accepted before, during and after reaches the audit log.
func TestKill9LosesNoAcceptedEvent(t *testing.T) {
	s := startStack(t, "")
	var ids []string
	for i := range 5 {
		ids = append(ids, postConsent(t, s, fmt.Sprintf("k%d", i), fmt.Sprintf("k%d@example.com", i)))
	}
	for _, name := range []string{"audit-sink", "vendor-fanout", "unsubscribe-handler"} {
		pid := s.PID(name)
		if err := s.Kill(name); err != nil {
			t.Fatal(err)
		}
		eventually(t, name+" to be restarted", 30*time.Second, func() bool { return s.PID(name) != 0 && s.PID(name) != pid })
	}
	for i := 5; i < 10; i++ {
		ids = append(ids, postConsent(t, s, fmt.Sprintf("k%d", i), fmt.Sprintf("k%d@example.com", i)))
	}
	for _, name := range []string{"audit-sink", "vendor-fanout", "unsubscribe-handler"} {
		if s.Restarts(name) != 1 {
			t.Errorf("%s restarted %d times, want 1", name, s.Restarts(name))
		}
	}
	eventually(t, "every accepted event in the audit log", 90*time.Second, func() bool {
		for i, id := range ids {
			found := false
			for _, e := range history(t, s, "consumer", fmt.Sprintf("k%d", i)) {
				found = found || e.EventID == id
			}
			if !found {
				return false
			}
		}
		return true
	})
	eventually(t, "every subject unsubscribed at HubSpot", 90*time.Second, func() bool {
		for i := range 10 {
			if !hasCall(simCalls(t, s), "hubspot", "POST", fmt.Sprintf("k%d@example.com/unsubscribe-all", i)) {
				return false
			}
		}
		return true
	})
}

// TestRestartKeepsTheAuditHistory: stopping and starting the stack on the same data
// directory keeps what the first run recorded.
func TestRestartKeepsTheAuditHistory(t *testing.T) {
	dir := dataDirFor(t)
	first := startStack(t, dir)
	id := postConsent(t, first, "r1", "r1@example.com")
	eventually(t, "the event in the audit log", 60*time.Second, func() bool {
		for _, e := range history(t, first, "consumer", "r1") {
			if e.EventID == id {
				return true
			}
		}
		return false
	})
	first.Stop()

	second := startStack(t, dir)
	found := false
	for _, e := range history(t, second, "consumer", "r1") {
		found = found || e.EventID == id
	}
	if !found {
		t.Fatal("the second run does not have the first run's event")
	}
	// And it still works: the same subject's key opens, a new event flows.
	id2 := postConsent(t, second, "r1", "r1@example.com")
	eventually(t, "a new event after the restart", 60*time.Second, func() bool {
		for _, e := range history(t, second, "consumer", "r1") {
			if e.EventID == id2 {
				return true
			}
		}
		return false
	})
}
