package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CallOption changes one call.
type CallOption func(*Call)

// WithIdempotencyKey sends key as the call's Idempotency-Key: a retry of the same
// submission — by this client or by the caller, after a crash say — must carry the same
// key to get the first answer back instead of a second submission.
func WithIdempotencyKey(key string) CallOption {
	return func(c *Call) { c.IdempotencyKey = key }
}

// WithHeader adds a header, e.g. Sec-GPC: 1 relayed from the person's browser.
func WithHeader(name, value string) CallOption {
	return func(c *Call) {
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header.Set(name, value)
	}
}

func (c *Client) call(ctx context.Context, call Call, in, out any, opts []CallOption) error {
	for _, o := range opts {
		o(&call)
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", call.Method, call.Route, err)
		}
		call.Body = b
	}
	raw, err := c.Do(ctx, call)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the documented JSON: %w", call.Method, call.Route, err)
	}
	return nil
}

// SubmitConsent records one consent change (POST /v1/consents, consents:write). Without
// WithIdempotencyKey the call makes up a key, so that its own retries are safe.
func (c *Client) SubmitConsent(ctx context.Context, consent Consent, opts ...CallOption) (*ConsentsAccepted, error) {
	var out ConsentsAccepted
	err := c.call(ctx, Call{Method: http.MethodPost, Base: c.cfg.IngestURL, Route: "/v1/consents", Path: "/v1/consents",
		IdempotencyKey: NewIdempotencyKey()}, consent, &out, opts)
	return &out, err
}

// SubmitConsents records a batch of consent changes in one call; the answer's event ids
// are in the batch's order.
func (c *Client) SubmitConsents(ctx context.Context, consents []Consent, opts ...CallOption) (*ConsentsAccepted, error) {
	var out ConsentsAccepted
	err := c.call(ctx, Call{Method: http.MethodPost, Base: c.cfg.IngestURL, Route: "/v1/consents", Path: "/v1/consents",
		IdempotencyKey: NewIdempotencyKey()}, map[string][]Consent{"consents": consents}, &out, opts)
	return &out, err
}

// SubmitPrivacyRequest records a privacy request (POST /v1/privacy-requests,
// requests:write); like SubmitConsent it makes up an Idempotency-Key unless given one.
func (c *Client) SubmitPrivacyRequest(ctx context.Context, req PrivacyRequest, opts ...CallOption) (*RequestAccepted, error) {
	var out RequestAccepted
	err := c.call(ctx, Call{Method: http.MethodPost, Base: c.cfg.IngestURL, Route: "/v1/privacy-requests", Path: "/v1/privacy-requests",
		IdempotencyKey: NewIdempotencyKey()}, req, &out, opts)
	return &out, err
}

// PrivacyRequestStatus tells where a request stands (GET /v1/privacy-requests/{id} on
// audit-sink, requests:read). A request just submitted may answer not_found for a moment,
// until audit-sink has read it.
func (c *Client) PrivacyRequestStatus(ctx context.Context, id string, opts ...CallOption) (*RequestStatus, error) {
	var out RequestStatus
	err := c.call(ctx, Call{Method: http.MethodGet, Base: c.cfg.AuditURL, Route: "/v1/privacy-requests/{id}",
		Path: "/v1/privacy-requests/" + url.PathEscape(id)}, nil, &out, opts)
	return &out, err
}

// SubjectConsent returns a subject's current decision per purpose, with the proof of
// each (GET /v1/subjects/{tenant}/{subject_id}/consent, subjects:read).
func (c *Client) SubjectConsent(ctx context.Context, tenant, subjectID string, opts ...CallOption) (*SubjectConsent, error) {
	var out SubjectConsent
	err := c.call(ctx, Call{Method: http.MethodGet, Base: c.cfg.AuditURL, Route: "/v1/subjects/{tenant}/{subject_id}/consent",
		Path: "/v1/subjects/" + url.PathEscape(tenant) + "/" + url.PathEscape(subjectID) + "/consent"}, nil, &out, opts)
	return &out, err
}

// EmailSHA256 is the hash suppressions are kept under: SHA-256 of the trimmed,
// lower-cased address, in hex.
func EmailSHA256(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// CheckSuppression tells whether an address may be mailed (GET
// /v1/suppressions/{email_sha256}, suppressions:read). Only the address's hash leaves
// the caller. An address with no record is not suppressed: that is an answer, not an
// error.
func (c *Client) CheckSuppression(ctx context.Context, email string, opts ...CallOption) (*Suppression, error) {
	hash := EmailSHA256(email)
	var out Suppression
	err := c.call(ctx, Call{Method: http.MethodGet, Base: c.cfg.UnsubscribeURL, Route: "/v1/suppressions/{email_sha256}",
		Path: "/v1/suppressions/" + hash}, nil, &out, opts)
	if IsCode(err, "not_found") {
		return &Suppression{EmailSHA256: hash, Tenants: []TenantSuppression{}}, nil
	}
	return &out, err
}

// CreateUnsubscribeLink issues a signed unsubscribe link for one mail (POST
// /v1/unsubscribe-links, links:write). Issuing twice is harmless, so it is retried
// without a key being needed.
func (c *Client) CreateUnsubscribeLink(ctx context.Context, in UnsubscribeLinkInput, opts ...CallOption) (*UnsubscribeLink, error) {
	var out UnsubscribeLink
	err := c.call(ctx, Call{Method: http.MethodPost, Base: c.cfg.UnsubscribeURL, Route: "/v1/unsubscribe-links", Path: "/v1/unsubscribe-links",
		IdempotencyKey: NewIdempotencyKey()}, in, &out, opts)
	return &out, err
}
