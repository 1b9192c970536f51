// Package hubspot delivers erasure and email opt-out to HubSpot (docs/vendors/hubspot.md).
package hubspot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var _ vendor.Adapter = (*Adapter)(nil)

// Config configures the HubSpot adapter.
type Config struct {
	// BaseURL is the API root; production is https://api.hubapi.com.
	BaseURL string
	// Token is a private-app or OAuth access token with crm.objects.contacts.write and
	// communication-preferences (subscriptions-status) write scopes.
	Token string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the HubSpot adapter.
type Adapter struct {
	base   string
	client *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	base, err := vendorhttp.BaseURL("hubspot: BaseURL", cfg.BaseURL)
	if err := errors.Join(err, vendorhttp.Required("hubspot: Token", cfg.Token)); err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.Token) }
	return &Adapter{base: base, client: vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth)}, nil
}

// Supports reports DeleteUser (GDPR delete) and OptOut (unsubscribe from all email).
func (a *Adapter) Supports(action vendor.Action) bool {
	return action == vendor.DeleteUser || action == vendor.OptOut
}

// Deliver performs req. Both actions need the subject's email.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	email := strings.TrimSpace(req.IDs.Email)
	if email == "" {
		return vendorhttp.Skipped("email"), nil
	}
	if req.Action == vendor.DeleteUser {
		return a.gdprDelete(ctx, req, email)
	}
	return a.unsubscribeAll(ctx, req, email)
}

// gdprDelete is the GDPR delete of a contact. By email a repeat is harmless (HubSpot blocklists an unknown
// address and answers as before), so there is no "already done" reply to detect.
func (a *Adapter) gdprDelete(ctx context.Context, req vendor.Request, email string) (vendor.Result, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.base + "/crm/v3/objects/contacts/gdpr-delete",
		Body:           map[string]string{"objectId": email, "idProperty": "email"},
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	if !resp.OK() {
		return vendor.Result{}, resp.Error(errorCode(resp), a.client.Now())
	}
	return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}, nil
}

// unsubscribeAll is v4 unsubscribe-all. verbose=true makes HubSpot say whether
// anything changed: NO_STATUS_CHANGE is its "already done" reply for a repeat. Without
// it the answer is an empty 200 either way.
func (a *Adapter) unsubscribeAll(ctx context.Context, req vendor.Request, email string) (vendor.Result, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.base + "/communication-preferences/v4/statuses/" + url.PathEscape(email) + "/unsubscribe-all?channel=EMAIL&verbose=true",
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	return classifyUnsubscribe(resp, a.client.Now())
}

// classifyUnsubscribe reads an unsubscribe-all answer.
func classifyUnsubscribe(resp *vendorhttp.Response, now time.Time) (vendor.Result, error) {
	if !resp.OK() {
		// Integrations see "<email> is already unsubscribed from subscription <id>"
		// (v3 subscription preferences, status probably 400) and treat it as success.
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(errorMessage(resp)), "already unsubscribed") {
			return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
		}
		return vendor.Result{}, resp.Error(errorCode(resp), now)
	}
	res := vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}
	if len(resp.Body) == 0 {
		return res, nil // a non-verbose answer: applied, no detail
	}
	var env struct {
		Results []struct {
			SetStatusSuccessReason string `json:"setStatusSuccessReason"`
		} `json:"results"`
	}
	if err := resp.Decode(&env); err != nil {
		return vendor.Result{}, err
	}
	if len(env.Results) > 0 && env.Results[0].SetStatusSuccessReason == "NO_STATUS_CHANGE" {
		res.Outcome = vendor.AlreadyDone
	}
	return res, nil
}

// hubspotError is HubSpot's error envelope. Message echoes the request (it holds
// the email for "already unsubscribed"), so only the codes go into errors.
type hubspotError struct {
	Message    string `json:"message"`
	Category   string `json:"category"`
	ErrorType  string `json:"errorType"`
	PolicyName string `json:"policyName"`
}

func decodeError(resp *vendorhttp.Response) hubspotError {
	var e hubspotError
	_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
	return e
}

func errorMessage(resp *vendorhttp.Response) string { return decodeError(resp).Message }

// errorCode is the machine-readable part: category, or for throttling errorType and
// which limit was hit (DAILY or TEN_SECONDLY_ROLLING).
func errorCode(resp *vendorhttp.Response) string {
	e := decodeError(resp)
	switch {
	case e.ErrorType != "" && e.PolicyName != "":
		return e.ErrorType + " " + e.PolicyName
	case e.ErrorType != "":
		return e.ErrorType
	}
	return e.Category
}
