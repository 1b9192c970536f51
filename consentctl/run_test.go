package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/consentry/consentry/devkit/apispec"
	"github.com/consentry/consentry/devstack/stack"
)

var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "consentctl-bin-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		if err := stack.BuildServices(dir, raceEnabled); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// consentctl's calls go through http.DefaultClient: each is validated against
		// the service's OpenAPI document (docs/openapi/README.md).
		docs, err := apispec.LoadRepo(".")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		validated := &apispec.Transport{Base: http.DefaultTransport, Docs: docs}
		http.DefaultClient.Transport = validated
		code := m.Run()
		if f := validated.Failures(); len(f) > 0 {
			fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges differ from the documents:\n  %s\n", len(f), strings.Join(f, "\n  "))
			code = 1
		}
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "OpenAPI: %d exchanges validated against the documents\n", validated.Checked())
		}
		return code
	}()
	os.Exit(code)
}

// syncBuffer is written by a tail's readers while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ctl runs consentctl in-process against the stack, configured through the environment
// as an operator's shell would be.
type ctl struct {
	t   *testing.T
	env map[string]string
}

func (c ctl) run(ctx context.Context, stdout, stderr *syncBuffer, args ...string) int {
	return run(ctx, args, func(k string) string { return c.env[k] }, strings.NewReader(""), stdout, stderr)
}

// ok runs a command that must succeed and decodes its JSON answer into out.
func (c ctl) ok(out any, args ...string) string {
	c.t.Helper()
	var stdout, stderr syncBuffer
	if code := c.run(context.Background(), &stdout, &stderr, args...); code != 0 {
		c.t.Fatalf("consentctl %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout.String()), out); err != nil {
			c.t.Fatalf("consentctl %s: not JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
		}
	}
	return stdout.String()
}

func (c ctl) fails(wantCode int, args ...string) (stdout, stderr string) {
	c.t.Helper()
	var out, errs syncBuffer
	if code := c.run(context.Background(), &out, &errs, args...); code != wantCode {
		c.t.Fatalf("consentctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out.String(), errs.String())
	}
	return out.String(), errs.String()
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

func TestHelpListsEveryCommand(t *testing.T) {
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("--help: exit %d\n%s", code, stderr.String())
	}
	for _, c := range commands() {
		if !strings.Contains(stdout.String(), "  "+c.name+" ") || c.help == "" {
			t.Errorf("--help lacks %q:\n%s", c.name, stdout.String())
		}
	}
	for _, want := range []string{"consent send", "request send", "request status", "request list", "subject history", "subject proof",
		"dead-letters list", "dead-letters replay", "tasks list", "tasks complete", "vendors", "backfill", "audit verify", "audit heads", "tail"} {
		if _, _, ok := find(strings.Fields(want)); !ok {
			t.Errorf("no command %q", want)
		}
	}
	c := ctl{t: t}
	if _, errs := c.fails(exitUsage, "nonsense"); !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %s", errs)
	}
	if _, errs := c.fails(exitUsage, "tasks", "complete", "7"); !strings.Contains(errs, "--by is required") {
		t.Errorf("missing --by: %s", errs)
	}
	if _, errs := c.fails(exitUsage, "subject", "history", "consumer"); !strings.Contains(errs, "usage: consentctl subject history") {
		t.Errorf("missing subject id: %s", errs)
	}
}

// TestTombstoneLine: a deleted suppression (an opt-in again) shows as a tombstone.
func TestTombstoneLine(t *testing.T) {
	line, _ := json.Marshal(describe(context.Background(), nil, kafkago.Message{Topic: "suppression.email.v1", Partition: 2, Offset: 9, Key: []byte("ab12")}))
	var got map[string]any
	json.Unmarshal(line, &got)
	if got["key"] != "ab12" || got["tombstone"] != true || got["value"] != nil {
		t.Errorf("tombstone line %s", line)
	}
}

func TestUnwrapUnions(t *testing.T) {
	got, _ := json.Marshal(unwrapUnions(map[string]any{
		"detail": map[string]any{"string": "x"}, "deadline_at": nil, "tenant": "consumer",
		"purposes": []any{map[string]any{"purpose": "analytics", "decision": "denied"}},
	}))
	want := `{"deadline_at":null,"detail":"x","purposes":[{"decision":"denied","purpose":"analytics"}],"tenant":"consumer"}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestCommandsAgainstTheEmbeddedStack runs each command in-process against one embedded
// stack, as an operator would against make run.
func TestCommandsAgainstTheEmbeddedStack(t *testing.T) {
	dataDir, err := os.MkdirTemp("", "consentctl-stack-*")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL runs as "postgres" when the tests run as root: it must reach its data.
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Config{
		DataDir: dataDir, BinDir: binDir, Ports: ports, Partitions: 2, SimulatorJobDelay: 200 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c := ctl{t: t, env: map[string]string{
		// Sending commands take the product key from it, the others the operator key.
		"CONSENTRY_API_KEY_FILE":        filepath.Join(dataDir, "secrets.json"),
		"CONSENTRY_INGEST_URL":          s.URL("consent-ingest"),
		"CONSENTRY_UNSUBSCRIBE_URL":     s.URL("unsubscribe-handler"),
		"CONSENTRY_FANOUT_URL":          s.URL("vendor-fanout"),
		"CONSENTRY_AUDIT_URL":           s.URL("audit-sink"),
		"CONSENTRY_KAFKA_BROKERS":       strings.Join(s.Brokers(), ","),
		"CONSENTRY_SCHEMA_REGISTRY_URL": s.RegistryURL(),
	}}

	var consentID string
	t.Run("consent send, seen decoded by tail", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		var tailOut, tailErr syncBuffer
		tctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		done := make(chan int, 1)
		go func() { done <- c.run(tctx, &tailOut, &tailErr, "tail", "consents", "--max", "1") }()
		eventually(t, "the tail to start", 60*time.Second, func() bool { return strings.Contains(tailErr.String(), "tailing consent.events.v1") })

		var sent struct {
			EventIDs []string `json:"event_ids"`
		}
		c.ok(&sent, "consent", "send", "--subject", "u_ctl", "--email", "ctl@example.com", "--source", "cmp",
			"--policy-version", "2025-04-09", "--purpose", "analytics=denied", "--purpose", "marketing_email=denied")
		if len(sent.EventIDs) != 1 {
			t.Fatalf("event ids %v", sent.EventIDs)
		}
		consentID = sent.EventIDs[0]
		if code := <-done; code != 0 {
			t.Fatalf("tail: exit %d\n%s", code, tailErr.String())
		}
		var line struct {
			Topic string `json:"topic"`
			Key   string `json:"key"`
			Type  string `json:"type"`
			Value struct {
				EventID  string `json:"event_id"`
				Tenant   string `json:"tenant"`
				Purposes []struct {
					Purpose, Decision string
				} `json:"purposes"`
			} `json:"value"`
		}
		out := tailOut.String()
		if strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &line) != nil {
			t.Fatalf("tail printed %q", out)
		}
		if line.Type != "ConsentChanged" || line.Value.EventID != consentID || line.Value.Tenant != "consumer" || len(line.Value.Purposes) != 2 || line.Key == "" {
			t.Errorf("tail line %s", out)
		}
		if strings.Contains(out, "ctl@example.com") || strings.Contains(out, "u_ctl") {
			t.Errorf("the tail shows a personal identifier: %s", out)
		}
	})

	t.Run("subject history and proof", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		eventually(t, "the consent in the history", 60*time.Second, func() bool {
			return strings.Contains(c.ok(nil, "subject", "history", "consumer", "u_ctl"), consentID)
		})
		var proof struct {
			Purposes map[string]struct {
				Decision string `json:"decision"`
				EventID  string `json:"event_id"`
			} `json:"purposes"`
		}
		c.ok(&proof, "subject", "proof", "consumer", "u_ctl", "--compact")
		if p := proof.Purposes["analytics"]; p.Decision != "denied" {
			t.Errorf("proof %+v", proof)
		}
	})

	var requestID string
	t.Run("request send, status, list", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		var sent struct {
			RequestID string `json:"request_id"`
		}
		c.ok(&sent, "request", "send", "--subject", "u_ctl", "--email", "ctl@example.com", "--type", "erasure", "--verified")
		requestID = sent.RequestID
		var status struct {
			Status     string `json:"status"`
			DeadlineAt string `json:"deadline_at"`
		}
		eventually(t, "the request in audit-sink", 60*time.Second, func() bool {
			var stdout, stderr syncBuffer
			if c.run(context.Background(), &stdout, &stderr, "request", "status", requestID) != 0 {
				return false
			}
			return json.Unmarshal([]byte(stdout.String()), &status) == nil && status.Status != ""
		})
		if status.DeadlineAt == "" {
			t.Errorf("status %+v", status)
		}
		var list struct {
			Requests []any `json:"requests"`
		}
		c.ok(&list, "request", "list", "--status", "at_risk")
		if list.Requests == nil {
			t.Errorf("request list: no requests array")
		}
	})

	t.Run("tasks list and complete", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		var task struct {
			ID     int64  `json:"id"`
			Vendor string `json:"vendor"`
		}
		eventually(t, "a manual task for the erasure", 60*time.Second, func() bool {
			var tasks struct {
				Tasks []struct {
					ID        int64  `json:"id"`
					Vendor    string `json:"vendor"`
					RequestID string `json:"request_id"`
				} `json:"manual_tasks"`
			}
			c.ok(&tasks, "tasks", "list", "--status", "open")
			for _, m := range tasks.Tasks {
				if m.RequestID == requestID {
					task.ID, task.Vendor = m.ID, m.Vendor
					return true
				}
			}
			return false
		})
		var done struct {
			Task struct {
				Status string `json:"status"`
			} `json:"task"`
		}
		c.ok(&done, "tasks", "complete", fmt.Sprint(task.ID), "--by", "privacy-team", "--note", "opt-out sent")
		if done.Task.Status != "completed" {
			t.Errorf("completed task %+v", done)
		}
	})

	t.Run("vendors, dead letters, backfill", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		if out := c.ok(nil, "vendors"); !strings.Contains(out, "hubspot") || !strings.Contains(out, "breaker") {
			t.Errorf("vendors: %s", out)
		}
		c.ok(nil, "dead-letters", "list", "--vendor", "hubspot")
		c.ok(nil, "dead-letters", "replay", "--vendor", "hubspot", "--all")
		var bf struct {
			Vendor string `json:"vendor"`
		}
		c.ok(&bf, "backfill", "sendgrid")
		if bf.Vendor != "sendgrid" {
			t.Errorf("backfill %+v", bf)
		}
		c.ok(nil, "suppression", "ctl@example.com")
	})

	t.Run("audit verify and heads", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		var report struct {
			OK bool `json:"ok"`
		}
		c.ok(&report, "audit", "verify")
		if !report.OK {
			t.Error("the audit log does not verify")
		}
		c.ok(nil, "audit", "heads")
	})

	t.Run("the key from make run's secrets file", func(t *testing.T) {
		env := map[string]string{}
		for k, v := range c.env {
			env[k] = v
		}
		delete(env, "CONSENTRY_API_KEY_FILE")
		c := ctl{t: t, env: env}
		c.ok(nil, "vendors", "--api-key-file", filepath.Join(dataDir, "secrets.json"))
		if _, errs := c.fails(exitFail, "vendors"); !strings.Contains(errs, "401") {
			t.Errorf("without a key: %s", errs)
		}
		// The product key alone may not read manual tasks: the refusal names what it lacks.
		if _, errs := c.fails(exitFail, "tasks", "list", "--api-key", s.APIKey()); !strings.Contains(errs, "403") || !strings.Contains(errs, "tasks:read") {
			t.Errorf("tasks list with the product key: %s", errs)
		}
	})

	t.Run("an API error is printed as sent and exits 1", func(t *testing.T) {
		c := ctl{t: t, env: c.env}
		_, errs := c.fails(exitFail, "consent", "send", "--subject", "u_bad", "--email", "bad@example.com", "--purpose", "analytics=maybe")
		if !strings.Contains(errs, "400") || !strings.Contains(errs, `"field"`) {
			t.Errorf("error output: %s", errs)
		}
		if strings.Contains(errs, "bad@example.com") {
			t.Errorf("the error names the person: %s", errs)
		}
		if _, errs := c.fails(exitFail, "request", "status", "0190c3d5-0000-7000-8000-000000000000"); !strings.Contains(errs, "404") ||
			!strings.Contains(errs, "/v1/privacy-requests/{id}") {
			t.Errorf("unknown request: %s", errs)
		}
	})
}
