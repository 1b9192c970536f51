// Package webhook delivers every action to an in-house system as a signed JSON POST.
//
// The signature is platform/webhooksig's, the one on every webhook Consentry sends
// (docs/webhooks.md): Standard Webhooks headers webhook-id (the same on every retry of a
// delivery), webhook-timestamp and webhook-signature, an Ed25519 signature of
// "id.timestamp.body" by a key only Consentry holds. Receivers verify with the public keys
// vendor-fanout serves at GET /.well-known/webhook-keys, against the raw body bytes, and
// reject timestamps outside their replay window, so a captured request cannot be replayed
// later and no receiver can sign one.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var _ vendor.Adapter = (*Adapter)(nil)

// The signing scheme is platform/webhooksig's, shared with every webhook Consentry sends
// (verification senders, enterprise Customers), so one receiver library verifies them all.
const (
	HeaderID        = webhooksig.HeaderID
	HeaderTimestamp = webhooksig.HeaderTimestamp
	HeaderSignature = webhooksig.HeaderSignature
)

// Verify's errors.
var (
	ErrMissingHeaders     = webhooksig.ErrMissingHeaders
	ErrMalformedSignature = webhooksig.ErrMalformedSignature
	ErrStale              = webhooksig.ErrStale
	ErrBadSignature       = webhooksig.ErrBadSignature
)

// Verify is webhooksig's, for receivers.
var Verify = webhooksig.Verify

// Config configures a webhook adapter.
type Config struct {
	// URL is the receiver's full endpoint, e.g. https://crm.internal.example/consentry;
	// plain http only to a loopback host (webhooksig.CheckURL).
	URL string
	// Keys sign the deliveries.
	Keys *webhooksig.Keys
	// HTTP is the client to use; nil means one with a 10 s timeout. The adapter uses a
	// copy that follows no redirect.
	HTTP *http.Client
	// Now is the clock for the signed timestamp and Retry-After arithmetic; nil means
	// time.Now.
	Now func() time.Time
}

// Adapter is a webhook adapter.
type Adapter struct {
	url    string
	keys   *webhooksig.Keys
	client *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	var errs []error
	if cfg.URL == "" {
		errs = append(errs, errors.New("webhook: URL is required"))
	} else if err := webhooksig.CheckURL(cfg.URL); err != nil {
		errs = append(errs, fmt.Errorf("webhook: URL: %w", err))
	}
	if cfg.Keys == nil {
		errs = append(errs, errors.New("webhook: Keys is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: vendorhttp.DefaultTimeout}
	}
	return &Adapter{
		url:  cfg.URL,
		keys: cfg.Keys,
		// A redirect would carry the signed body to a host no one configured.
		client: vendorhttp.NewClient(webhooksig.NoRedirects(hc), cfg.Now, nil),
	}, nil
}

// Supports reports every action: the receiver decides what each means.
func (a *Adapter) Supports(action vendor.Action) bool {
	switch action {
	case vendor.DeleteUser, vendor.OptOut, vendor.SuppressEmail, vendor.Restrict, vendor.UpdateConsent,
		vendor.LiftRestriction, vendor.Rectify:
		return true
	}
	return false
}

// Payload is the JSON body of a delivery; receivers decode it.
type Payload struct {
	EventID    string        `json:"event_id"`
	Tenant     string        `json:"tenant"`
	SubjectKey string        `json:"subject_key"`
	Action     vendor.Action `json:"action"`
	RequestID  string        `json:"request_id,omitempty"`
	OccurredAt string        `json:"occurred_at"` // RFC 3339, UTC
	// Purposes maps each purpose to its decision, for receivers that take the whole
	// consent state.
	Purposes    map[string]string `json:"purposes,omitempty"`
	Identifiers Identifiers       `json:"identifiers"`
}

// Identifiers holds only the identifiers the subject has.
type Identifiers struct {
	SubjectID   string            `json:"subject_id,omitempty"`
	Email       string            `json:"email,omitempty"`
	AnonymousID string            `json:"anonymous_id,omitempty"`
	VendorIDs   map[string]string `json:"vendor_ids,omitempty"`
}

// Deliver POSTs the signed payload; any 2xx is Delivered.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	body, err := json.Marshal(payload(req))
	if err != nil {
		return vendor.Result{}, &vendor.Error{Kind: vendor.Permanent, Msg: "encoding the payload failed"}
	}
	id := webhooksig.NewMessageID()
	if req.IdempotencyKey != "" {
		id = webhooksig.MessageID(req.IdempotencyKey)
	}
	header := http.Header{}
	a.keys.SetHeaders(header, id, a.client.Now(), body)
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.url,
		Body:           body, // as signed, byte for byte
		Header:         header,
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	if !resp.OK() {
		// In-house error bodies are free text that may echo the payload: status only.
		return vendor.Result{}, resp.Error("", a.client.Now())
	}
	return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}, nil
}

func payload(req vendor.Request) Payload {
	ids := Identifiers{
		SubjectID:   strings.TrimSpace(req.IDs.SubjectID),
		Email:       strings.TrimSpace(req.IDs.Email),
		AnonymousID: strings.TrimSpace(req.IDs.AnonymousID),
	}
	for vendorName, id := range req.IDs.VendorIDs {
		if id = strings.TrimSpace(id); id != "" {
			if ids.VendorIDs == nil {
				ids.VendorIDs = map[string]string{}
			}
			ids.VendorIDs[vendorName] = id
		}
	}
	return Payload{
		EventID:     req.EventID,
		Tenant:      req.Tenant,
		SubjectKey:  req.SubjectKey,
		Action:      req.Action,
		RequestID:   req.RequestID,
		OccurredAt:  req.OccurredAt.UTC().Format(time.RFC3339),
		Purposes:    req.Purposes,
		Identifiers: ids,
	}
}
