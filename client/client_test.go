package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder answers from a script of (status, Retry-After) and records each attempt's
// Idempotency-Key and body.
type recorder struct {
	mu      sync.Mutex
	script  []answer
	keys    []string
	bodies  []string
	srv     *httptest.Server
	success string
}

type answer struct {
	status     int
	retryAfter string
}

func newRecorder(t *testing.T, success string, script ...answer) *recorder {
	r := &recorder{script: script, success: success}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.keys)
		r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n < len(r.script) {
			a := r.script[n]
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			w.WriteHeader(a.status)
			fmt.Fprintf(w, `{"error":{"code":"unavailable","message":"the event log did not acknowledge the events"}}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, r.success)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// fakeSleep records the waits asked for and returns at once.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	return ctx.Err()
}

var now = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func consent() Consent {
	return Consent{Tenant: "acme", SubjectID: "u1", OccurredAt: now, Source: "cmp", PolicyVersion: "2026-01",
		Purposes: map[string]string{"analytics": Granted}}
}

func TestRetriesA503WithTheSameIdempotencyKeyAfterRetryAfter(t *testing.T) {
	httpDate := now.Add(7 * time.Second).Format(http.TimeFormat)
	rec := newRecorder(t, `{"event_ids":["e1"]}`, answer{503, "3"}, answer{429, httpDate})
	fs := &fakeSleep{}
	c := New(Config{IngestURL: rec.srv.URL, APIKey: "k", Sleep: fs.sleep, Now: func() time.Time { return now }})
	out, err := c.SubmitConsent(context.Background(), consent())
	if err != nil {
		t.Fatal(err)
	}
	if len(out.EventIDs) != 1 || out.EventIDs[0] != "e1" {
		t.Fatalf("answer %+v", out)
	}
	if len(rec.keys) != 3 || rec.keys[0] == "" || rec.keys[1] != rec.keys[0] || rec.keys[2] != rec.keys[0] {
		t.Fatalf("Idempotency-Keys of the attempts: %q, want one non-empty key three times", rec.keys)
	}
	if rec.bodies[0] != rec.bodies[1] || rec.bodies[1] != rec.bodies[2] {
		t.Fatalf("the attempts sent different bodies: %q", rec.bodies)
	}
	if want := []time.Duration{3 * time.Second, 7 * time.Second}; fmt.Sprint(fs.waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v (Retry-After in seconds, then as an HTTP date)", fs.waits, want)
	}
}

func TestACallersKeyIsSentOnEveryAttempt(t *testing.T) {
	rec := newRecorder(t, `{"request_id":"r1","event_ids":["r1"],"status":"received","type":"erasure","jurisdiction":"gdpr","received_at":"2026-12-05T10:00:00Z"}`, answer{503, "1"})
	c := New(Config{IngestURL: rec.srv.URL, Sleep: (&fakeSleep{}).sleep})
	_, err := c.SubmitPrivacyRequest(context.Background(), PrivacyRequest{Tenant: "acme", SubjectID: "u1", Type: "erasure", Reason: "user_request"},
		WithIdempotencyKey("order-42-erasure"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rec.keys, ",") != "order-42-erasure,order-42-erasure" {
		t.Fatalf("keys %q", rec.keys)
	}
}

func TestAttemptsAreBoundedAndTheLastAnswerIsReturned(t *testing.T) {
	rec := newRecorder(t, `{}`, answer{503, "1"}, answer{503, "1"}, answer{503, "1"}, answer{503, "1"}, answer{503, "1"})
	c := New(Config{IngestURL: rec.srv.URL, MaxAttempts: 3, Sleep: (&fakeSleep{}).sleep})
	_, err := c.SubmitConsent(context.Background(), consent())
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || e.Code != "unavailable" || e.Attempts != 3 || len(rec.keys) != 3 {
		t.Fatalf("err %v (%+v), %d attempts sent", err, e, len(rec.keys))
	}
	if !strings.Contains(err.Error(), "POST /v1/consents: 503") {
		t.Fatalf("error text %q", err)
	}
}

func TestNoRetryPastTheContextsDeadline(t *testing.T) {
	rec := newRecorder(t, `{}`, answer{503, "60"})
	fs := &fakeSleep{}
	c := New(Config{IngestURL: rec.srv.URL, Sleep: fs.sleep})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.SubmitConsent(ctx, consent())
	if !IsCode(err, "unavailable") || len(rec.keys) != 1 || len(fs.waits) != 0 {
		t.Fatalf("err %v after %d attempts and waits %v; want the 503 at once", err, len(rec.keys), fs.waits)
	}
}

func TestACancelledWaitEndsTheCall(t *testing.T) {
	rec := newRecorder(t, `{}`, answer{503, "1"})
	ctx, cancel := context.WithCancel(context.Background())
	c := New(Config{IngestURL: rec.srv.URL, Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }})
	_, err := c.SubmitConsent(ctx, consent())
	if !errors.Is(err, context.Canceled) || len(rec.keys) != 1 {
		t.Fatalf("err %v after %d attempts", err, len(rec.keys))
	}
}

// A POST without a key is not retried: the service could not tell a retry from a second
// submission.
func TestAPostWithoutAKeyIsNotRetried(t *testing.T) {
	rec := newRecorder(t, `{}`, answer{503, "1"})
	c := New(Config{FanoutURL: rec.srv.URL, Sleep: (&fakeSleep{}).sleep})
	_, err := c.Do(context.Background(), Call{Method: "POST", Base: c.cfg.FanoutURL, Route: "/v1/dead-letters/{id}/replay", Path: "/v1/dead-letters/1/replay"})
	if !IsCode(err, "unavailable") || len(rec.keys) != 1 {
		t.Fatalf("err %v after %d attempts", err, len(rec.keys))
	}
}

func TestOtherErrorsAreNotRetriedAndNameTheirFields(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":"invalid","message":"the request has invalid fields","fields":[{"field":"purposes.analytics","message":"must be \"granted\" or \"denied\""}]}}`)
	}))
	defer srv.Close()
	c := New(Config{IngestURL: srv.URL, Sleep: func(context.Context, time.Duration) error { t.Fatal("slept"); return nil }})
	_, err := c.SubmitConsent(context.Background(), consent())
	var e *Error
	if !errors.As(err, &e) || e.Code != "invalid" || len(e.Fields) != 1 || e.Fields[0].Field != "purposes.analytics" {
		t.Fatalf("err %v", err)
	}
}

func TestRetryDelayWithoutRetryAfterBacksOffAndIsCapped(t *testing.T) {
	c := New(Config{MaxRetryDelay: 2 * time.Second, Now: func() time.Time { return now }})
	for _, tc := range []struct {
		header  string
		attempt int
		want    time.Duration
	}{
		{"", 1, 500 * time.Millisecond}, {"", 2, time.Second}, {"", 5, 2 * time.Second},
		{"120", 1, 2 * time.Second}, {"0", 1, 0}, {now.Add(-time.Minute).Format(http.TimeFormat), 1, 0},
		{"soon", 2, time.Second},
	} {
		if got := c.retryDelay(tc.header, tc.attempt); got != tc.want {
			t.Errorf("Retry-After %q, attempt %d: %v, want %v", tc.header, tc.attempt, got, tc.want)
		}
	}
}

func TestCheckSuppressionSendsOnlyTheHashAndReadsNotFoundAsNotSuppressed(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"not_found","message":"no suppression is recorded for that address hash"}}`)
	}))
	defer srv.Close()
	c := New(Config{UnsubscribeURL: srv.URL})
	s, err := c.CheckSuppression(context.Background(), "  Ada@Example.com ")
	if err != nil || s.Suppressed {
		t.Fatalf("%+v %v", s, err)
	}
	if path != "/v1/suppressions/"+EmailSHA256("ada@example.com") || strings.Contains(path, "xample") {
		t.Fatalf("path %q", path)
	}
}

func TestAServiceWithoutAURLIsNamed(t *testing.T) {
	_, err := New(Config{}).SubjectConsent(context.Background(), "acme", "u1")
	if err == nil || !strings.Contains(err.Error(), "/v1/subjects/{tenant}/{subject_id}/consent") || strings.Contains(err.Error(), "u1") {
		t.Fatalf("err %v", err)
	}
}
