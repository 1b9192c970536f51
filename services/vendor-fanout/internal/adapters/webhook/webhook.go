// Package webhook delivers every action to an in-house system as a signed JSON POST.
//
// The signature scheme is shared with receivers through Sign and Verify: the request
// carries X-Consentry-Key-Id, X-Consentry-Timestamp (unix seconds) and
// X-Consentry-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>.
// Receivers verify against the raw body bytes and reject timestamps outside their
// replay window, so a captured request cannot be replayed later.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
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
	HeaderKeyID     = webhooksig.HeaderKeyID
	HeaderTimestamp = webhooksig.HeaderTimestamp
	HeaderSignature = webhooksig.HeaderSignature
)

// Verify's errors.
var (
	ErrMalformedSignature = webhooksig.ErrMalformedSignature
	ErrStale              = webhooksig.ErrStale
	ErrBadSignature       = webhooksig.ErrBadSignature
)

// Sign and Verify are webhooksig's.
var (
	Sign   = webhooksig.Sign
	Verify = webhooksig.Verify
)

// Config configures a webhook adapter.
type Config struct {
	// URL is the receiver's full endpoint, e.g. https://crm.internal.example/consentry.
	URL string
	// KeyID names Secret to the receiver, so secrets can be rotated.
	KeyID string
	// Secret is the HMAC-SHA256 key shared with the receiver.
	Secret []byte
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for the signed timestamp and Retry-After arithmetic; nil means
	// time.Now.
	Now func() time.Time
}

// Adapter is a webhook adapter.
type Adapter struct {
	url    string
	keyID  string
	secret []byte
	client *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	var errs []error
	if u, err := url.Parse(cfg.URL); cfg.URL == "" {
		errs = append(errs, errors.New("webhook: URL is required"))
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("webhook: URL must be an absolute http or https URL"))
	}
	errs = append(errs, vendorhttp.Required("webhook: KeyID", cfg.KeyID))
	if len(cfg.Secret) == 0 {
		errs = append(errs, errors.New("webhook: Secret is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Adapter{
		url:    cfg.URL,
		keyID:  cfg.KeyID,
		secret: append([]byte(nil), cfg.Secret...),
		client: vendorhttp.NewClient(cfg.HTTP, cfg.Now, nil),
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
	ts := a.client.Now().Unix()
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.url,
		Body:   body, // as signed, byte for byte
		Header: http.Header{
			HeaderKeyID:     {a.keyID},
			HeaderTimestamp: {strconv.FormatInt(ts, 10)},
			HeaderSignature: {Sign(a.secret, ts, body)},
		},
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
