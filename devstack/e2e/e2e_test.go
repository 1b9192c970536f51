// Package e2e drives the embedded stack the way `make run` runs it — the real service
// binaries as separate processes, kfake over TCP, a real PostgreSQL — through its public
// HTTP APIs, and checks what the vendors, the suppression topic and the audit log saw.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/apispec"
	"github.com/consentry/consentry/devstack/scenarios"
	"github.com/consentry/consentry/devstack/stack"
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
	// Every exchange the tests have with a service is validated against its OpenAPI
	// document (docs/openapi/README.md): the helpers all go through http.DefaultClient.
	docs, err := apispec.LoadRepo(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	validated := &apispec.Transport{Base: http.DefaultTransport, Docs: docs}
	http.DefaultClient.Transport = validated
	code := m.Run()
	os.RemoveAll(dir)
	// A finding already failed its round trip; this catches a test that dropped the error.
	if f := validated.Failures(); len(f) > 0 {
		fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges differ from the documents:\n  %s\n", len(f), strings.Join(f, "\n  "))
		code = 1
	}
	fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges validated against the documents\n", validated.Checked())
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
	return scenarios.Start(ctx, t, stack.Config{DataDir: dataDir, BinDir: binDir, Ports: ports})
}

// The scenarios' helpers, under the names the tests of this package use.
var (
	eventually    = scenarios.Eventually
	simCalls      = scenarios.SimCalls
	hasCall       = scenarios.HasCall
	allOf         = scenarios.AllOf
	history       = scenarios.History
	postConsent   = scenarios.PostConsent
	submitRequest = scenarios.SubmitRequest
	completeTasks = scenarios.CompleteTasks
	get           = scenarios.Get
	apiVendors    = scenarios.APIVendors
)

// TestConsentAndErasureReachEveryVendorTheSuppressionTopicAndTheAuditLog is the walking
// skeleton's path on the embedded stack (scenarios.ConsentAndErasure).
func TestConsentAndErasureReachEveryVendorTheSuppressionTopicAndTheAuditLog(t *testing.T) {
	scenarios.ConsentAndErasure(t, startStack(t, ""))
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
		eventually(t, name+" to be restarted", 60*time.Second, func() bool { return s.PID(name) != 0 && s.PID(name) != pid })
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
