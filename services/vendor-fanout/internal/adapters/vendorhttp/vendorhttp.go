// Package vendorhttp is the HTTP plumbing every vendor adapter shares: client defaults,
// the common headers, bounded reads of answers and the classification of failures that
// happen before a vendor answers. What an answer means stays in each adapter.
package vendorhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"golang.org/x/oauth2"

	"github.com/consentry/consentry/platform/tracing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const (
	// UserAgent identifies us to every vendor.
	UserAgent = "consentry-vendor-fanout"
	// MaxBody is the most of an answer an adapter reads. Every vendor's answer to the
	// calls we make is far smaller; a larger one is either an error page or hostile.
	MaxBody = 64 << 10
	// DefaultTimeout bounds one call when the adapter's config names no client.
	DefaultTimeout = 10 * time.Second
)

// Client makes calls to one vendor with its credentials.
type Client struct {
	http   *http.Client
	now    func() time.Time
	auth   func(*http.Request)
	tokens *oauth.Source
}

// NewTokenClient is NewClient for a vendor whose credential is an OAuth access token:
// each request carries the source's current token, and a 401 answer drops that token
// and repeats the request once with a fresh one (a renewing source only).
func NewTokenClient(hc *http.Client, now func() time.Time, tokens *oauth.Source) *Client {
	c := NewClient(hc, now, nil)
	c.tokens = tokens
	return c
}

// NewClient fills in defaults: hc nil means a client with DefaultTimeout, now nil means
// time.Now. auth sets the vendor's credential on each request.
func NewClient(hc *http.Client, now func() time.Time, auth func(*http.Request)) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	if now == nil {
		now = time.Now
	}
	if auth == nil {
		auth = func(*http.Request) {}
	}
	return &Client{http: hc, now: now, auth: auth}
}

// Now is the adapter's clock, for Retry-After arithmetic and signatures.
func (c *Client) Now() time.Time { return c.now() }

// Request is one call.
type Request struct {
	Method string
	URL    string
	// Body is sent as JSON with Content-Type application/json: a []byte as it is
	// (already encoded, e.g. because it is signed), anything else through json.Marshal.
	// Nil sends no body.
	Body any
	// Header holds vendor-specific headers (LinkedIn's Rest.li headers, signatures).
	Header http.Header
	// IdempotencyKey is sent as Idempotency-Key when not empty.
	IdempotencyKey string
	// ContentType replaces application/json for a []byte Body (Salesforce's Bulk API
	// takes text/csv).
	ContentType string
}

// Response is a vendor's answer, already read and closed.
type Response struct {
	StatusCode int
	Header     http.Header
	// Body is at most MaxBody bytes of the answer.
	Body []byte
}

// OK reports a 2xx status.
func (r *Response) OK() bool { return r.StatusCode >= 200 && r.StatusCode < 300 }

// Error classifies a non-2xx answer by the common HTTP rules (vendor.FromResponse);
// adapters call it after checking their vendor's own signals. vendorCode is the
// vendor's machine-readable error code, never its message: messages echo the request.
func (r *Response) Error(vendorCode string, now time.Time) *vendor.Error {
	return vendor.FromResponse(&http.Response{StatusCode: r.StatusCode, Header: r.Header}, vendorCode, now)
}

// Decode parses the body as JSON into v. A failure is Transient: the vendor answered
// in a shape we did not expect, which retrying may fix and an operator should see; the
// deliveries are idempotent, so a retry is safe.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return &vendor.Error{Kind: vendor.Transient, HTTPStatus: r.StatusCode, Msg: "unreadable answer: " + jsonProblem(err)}
	}
	return nil
}

// jsonProblem describes a decode error without quoting the input, which may be
// personal data.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q is not a %s", typ.Field, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}

// Do sends r and returns the answer whatever its status. The error is ctx's own error
// when ctx ended (so cancellation propagates to the core), else a Transient
// *vendor.Error for a transport failure, or Permanent when the request cannot be built.
// No error carries the URL: paths can hold an email.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	var payload []byte
	if r.Body != nil {
		b, ok := r.Body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(r.Body); err != nil {
				return nil, &vendor.Error{Kind: vendor.Permanent, Msg: "encoding the request body failed"}
			}
		}
		payload = b
	}
	if c.tokens == nil {
		return c.do(ctx, r, payload, nil)
	}
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, r, payload, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !c.tokens.Renewable() {
		return resp, err
	}
	// The token expired early or was revoked (Salesforce: INVALID_SESSION_ID): once
	// with a fresh token. A second 401 is the vendor's answer, classified as Auth.
	c.tokens.Invalidate(tok)
	if tok, err = c.tokens.Token(); err != nil {
		return nil, err
	}
	return c.do(ctx, r, payload, tok)
}

func (c *Client) do(ctx context.Context, r Request, payload []byte, tok *oauth2.Token) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, &vendor.Error{Kind: vendor.Permanent, Msg: "building the request: " + withoutURL(err)}
	}
	for k, vv := range r.Header {
		for _, v := range vv {
			req.Header.Add(k, v)
		}
	}
	c.auth(req)
	if tok != nil {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	req.Header.Set("User-Agent", UserAgent)
	if body != nil {
		ct := "application/json"
		if r.ContentType != "" {
			ct = r.ContentType
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	// The vendor call's span (dispatch starts it), so that a vendor, or a proxy of ours
	// in front of it, can join the trace. Nothing is added when there is no span.
	tracing.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))

	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, vendor.FromTransport(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, vendor.FromTransport(err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// withoutURL keeps a url.Error's operation and cause and drops the URL it quotes.
func withoutURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// Unsupported is the error for an action the adapter's Supports rejects.
func Unsupported(action vendor.Action) *vendor.Error {
	return &vendor.Error{Kind: vendor.Permanent, Msg: fmt.Sprintf("action %q is not supported", action)}
}

// Skipped is the result for a subject without the identifier the vendor needs; kind
// names the identifier ("email", "user id"), never its value.
func Skipped(kind string) vendor.Result {
	return vendor.Result{Outcome: vendor.Skipped, Detail: "no " + kind + " for this subject"}
}

// BaseURL validates and normalises a configured base URL: absolute http(s), no query,
// no trailing slash. field names the config field in the error.
func BaseURL(field, raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s must be an absolute http or https URL without query or fragment", field)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Required returns an error naming field when value is empty.
func Required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%s is required", field)
	}
	return nil
}
