// Package client is the Go client of Consentry's HTTP APIs for product services: typed
// calls whose structs follow the services' OpenAPI documents (services/<svc>/openapi.yaml,
// docs/openapi/README.md), and one retry policy.
//
// A call answered 503 (a dependency is down, or the service sheds load) or 429 is
// retried, after the answer's Retry-After (seconds or an HTTP date) or a short backoff,
// at most MaxAttempts times in all and never past the context's deadline. A POST is
// retried only with an Idempotency-Key, and every attempt carries the same one, so the
// service answers a retry with the first attempt's ids: the typed submissions make up a
// key when the caller gives none.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config says where the services are and how to call them. A URL left empty makes the
// calls to that service fail with an error naming it.
type Config struct {
	IngestURL      string // consent-ingest: consents, privacy requests
	AuditURL       string // audit-sink: subjects' consent and history, request status
	UnsubscribeURL string // unsubscribe-handler: suppressions, unsubscribe links
	FanoutURL      string // vendor-fanout: vendors, dead letters, manual tasks
	APIKey         string // sent as Authorization: Bearer
	// HTTPClient sends the requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts of one call, the first included; 4 when zero.
	MaxAttempts int
	// MaxRetryDelay caps one wait, whatever Retry-After asks; 30 s when zero.
	MaxRetryDelay time.Duration
	// Sleep waits between attempts; tests inject one that does not sleep. It must
	// return early with ctx's error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock, for Retry-After given as a date.
	Now func() time.Time
}

// Client calls Consentry's APIs. It is safe for concurrent use.
type Client struct {
	cfg Config
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = 30 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Error is an answer outside 2xx: the API's error (see the documents' Error schema)
// and the status. Its text names the route's template, never the filled path, which may
// hold a subject id.
type Error struct {
	Method string `json:"-"`
	Route  string `json:"-"` // the path's template, e.g. /v1/subjects/{tenant}/{subject_id}/consent
	Status int    `json:"-"`
	// Code, Message and Fields are the API's error; Code is empty when the body was not
	// the API's error shape (a proxy's page, say).
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
	// Body is the answer as it came.
	Body []byte `json:"-"`
	// Attempts is how many times the call was sent.
	Attempts int `json:"-"`
}

// FieldError names one field at fault.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Code == "" {
		msg = strings.TrimSpace(string(e.Body))
	}
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Route, e.Status, msg)
	for _, f := range e.Fields {
		s += "; " + f.Field + ": " + f.Message
	}
	return s
}

// IsCode reports whether err is an API error with code (e.g. "not_found").
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Call is one request as Do sends it.
type Call struct {
	Method string
	// Base is the service's URL; Route the path's template (for errors); Path the
	// filled path with its query.
	Base, Route, Path string
	Body              []byte // JSON; nil for none
	IdempotencyKey    string
	Header            http.Header
}

// Do sends c with the client's retry policy and returns the 2xx answer's body, or an
// *Error for any other status. It is the untyped call beneath the typed ones.
func (c *Client) Do(ctx context.Context, call Call) ([]byte, error) {
	if call.Base == "" {
		return nil, fmt.Errorf("%s %s: no URL is configured for the service that serves it", call.Method, call.Route)
	}
	retriable := call.Method != http.MethodPost || call.IdempotencyKey != ""
	for attempt := 1; ; attempt++ {
		status, header, body, err := c.once(ctx, call)
		if err != nil {
			return nil, err
		}
		if status >= 200 && status <= 299 {
			return body, nil
		}
		apiErr := &Error{Method: call.Method, Route: call.Route, Status: status, Body: body, Attempts: attempt}
		var shape struct {
			Error *Error `json:"error"`
		}
		shape.Error = apiErr
		if json.Unmarshal(body, &shape) != nil || apiErr.Code == "" {
			apiErr.Code, apiErr.Message, apiErr.Fields = "", "", nil
		}
		if !retriable || attempt >= c.cfg.MaxAttempts || (status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests) {
			return nil, apiErr
		}
		wait := c.retryDelay(header.Get("Retry-After"), attempt)
		if deadline, ok := ctx.Deadline(); ok && c.cfg.Now().Add(wait).After(deadline) {
			// Waiting would outlive the caller: answer now with what the service said.
			return nil, apiErr
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w (after %d attempts; last answer %d)", call.Method, call.Route, err, attempt, status)
		}
	}
}

func (c *Client) once(ctx context.Context, call Call) (int, http.Header, []byte, error) {
	var rd io.Reader
	if call.Body != nil {
		rd = bytes.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, strings.TrimRight(call.Base, "/")+call.Path, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", call.Method, call.Route, err)
	}
	for k, vs := range call.Header {
		req.Header[k] = vs
	}
	if call.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// The transport's error repeats the URL, whose path may name a subject.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return 0, nil, nil, fmt.Errorf("%s %s at %s: %w", call.Method, call.Route, call.Base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: reading the answer: %w", call.Method, call.Route, err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// retryDelay reads Retry-After (delay-seconds or an HTTP-date, RFC 9110 §10.2.3); without
// one it backs off 0.5 s, 1 s, 2 s… Either way it is capped by MaxRetryDelay.
func (c *Client) retryDelay(retryAfter string, attempt int) time.Duration {
	d := (500 * time.Millisecond) << min(attempt-1, 10)
	if retryAfter != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		} else if at, err := http.ParseTime(retryAfter); err == nil {
			d = max(at.Sub(c.cfg.Now()), 0)
		}
	}
	return min(d, c.cfg.MaxRetryDelay)
}

// NewIdempotencyKey returns a random key for one logical submission: give the same key
// to every retry of it, a new one to the next submission.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail since Go 1.24
	return hex.EncodeToString(b[:])
}
