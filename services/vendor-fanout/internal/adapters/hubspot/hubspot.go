// Package hubspot delivers erasure and email opt-out to HubSpot (docs/vendors/hubspot.md).
package hubspot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
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
	// Tokens, when set, replaces Token: an OAuth app's access token, renewed from its
	// refresh token before expires_in runs out and once after a 401.
	Tokens *oauth.Source
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
	// DailyLimitZone is the time zone set on the HubSpot account: "The daily limit
	// resets at midnight based on your time zone setting" (docs/vendors/hubspot.md).
	// nil means UTC. A wrong zone costs at most one more refused call, after which the
	// lane waits for the next midnight again.
	DailyLimitZone *time.Location
}

// dailyResetMargin is added to the account's midnight: our clock and HubSpot's differ
// by seconds, and a call a second early is refused and parks the lane for another day.
const dailyResetMargin = 5 * time.Minute

// Adapter is the HubSpot adapter.
type Adapter struct {
	base   string
	client *vendorhttp.Client
	zone   *time.Location
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	base, err := vendorhttp.BaseURL("hubspot: BaseURL", cfg.BaseURL)
	if cfg.Tokens == nil {
		err = errors.Join(err, vendorhttp.Required("hubspot: Token", cfg.Token))
	}
	if err != nil {
		return nil, err
	}
	if cfg.DailyLimitZone == nil {
		cfg.DailyLimitZone = time.UTC
	}
	if cfg.Tokens == nil {
		cfg.Tokens = oauth.Static(cfg.Token)
	}
	return &Adapter{base: base, client: vendorhttp.NewTokenClient(cfg.HTTP, cfg.Now, cfg.Tokens), zone: cfg.DailyLimitZone}, nil
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
	var (
		res  vendor.Result
		resp *vendorhttp.Response
		err  error
	)
	if req.Action == vendor.DeleteUser {
		res, resp, err = a.gdprDelete(ctx, req, email)
	} else {
		res, resp, err = a.unsubscribeAll(ctx, req, email)
	}
	if resp == nil {
		return res, err
	}
	if err != nil {
		return res, a.throttleTimes(resp, err)
	}
	res.Brake = a.brake(resp)
	return res, nil
}

// nextReset is when the DAILY limit renews: the next midnight in the account's zone.
func (a *Adapter) nextReset(now time.Time) time.Time {
	y, m, d := now.In(a.zone).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, a.zone).Add(dailyResetMargin)
}

// throttleTimes adds what HubSpot's 429 implies about when to call again: it sends no
// Retry-After, but its body names the policy hit (docs/vendors/hubspot.md). DAILY waits
// for the account's midnight; TEN_SECONDLY_ROLLING for the rolling window
// (X-HubSpot-RateLimit-Interval-Milliseconds, 10 s when absent).
func (a *Adapter) throttleTimes(resp *vendorhttp.Response, err error) error {
	e := vendor.Classify(err)
	if e.Kind != vendor.Throttled || e.RetryAfter > 0 {
		return err
	}
	switch decodeError(resp).PolicyName {
	case "DAILY":
		e.ResetAt = a.nextReset(a.client.Now())
	default:
		e.RetryAfter = interval(resp.Header)
	}
	return e
}

// brake reads HubSpot's rate-limit headers on a successful answer: the daily quota
// spent (X-HubSpot-RateLimit-Daily-Remaining: 0, sent for private-app tokens) parks the
// lane until the account's midnight, the rolling window spent
// (X-HubSpot-RateLimit-Remaining: 0) for one interval.
func (a *Adapter) brake(resp *vendorhttp.Response) *vendor.Brake {
	now := a.client.Now()
	if v, ok := headerInt(resp.Header, "X-HubSpot-RateLimit-Daily-Remaining"); ok && v <= 0 {
		return &vendor.Brake{Until: a.nextReset(now), Reason: "X-HubSpot-RateLimit-Daily-Remaining: 0"}
	}
	if v, ok := headerInt(resp.Header, "X-HubSpot-RateLimit-Remaining"); ok && v <= 0 {
		return &vendor.Brake{Until: now.Add(interval(resp.Header)), Reason: "X-HubSpot-RateLimit-Remaining: 0"}
	}
	return nil
}

// interval is the rolling window of the burst limit.
func interval(h http.Header) time.Duration {
	if ms, ok := headerInt(h, "X-HubSpot-RateLimit-Interval-Milliseconds"); ok && ms > 0 && ms <= 3_600_000 {
		return time.Duration(ms) * time.Millisecond
	}
	return 10 * time.Second
}

func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// gdprDelete is the GDPR delete of a contact. By email a repeat is harmless (HubSpot blocklists an unknown
// address and answers as before), so there is no "already done" reply to detect.
func (a *Adapter) gdprDelete(ctx context.Context, req vendor.Request, email string) (vendor.Result, *vendorhttp.Response, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.base + "/crm/v3/objects/contacts/gdpr-delete",
		Body:           map[string]string{"objectId": email, "idProperty": "email"},
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, nil, err
	}
	if !resp.OK() {
		return vendor.Result{}, resp, resp.Error(errorCode(resp), a.client.Now())
	}
	return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}, resp, nil
}

// unsubscribeAll is v4 unsubscribe-all. verbose=true makes HubSpot say whether
// anything changed: NO_STATUS_CHANGE is its "already done" reply for a repeat. Without
// it the answer is an empty 200 either way.
func (a *Adapter) unsubscribeAll(ctx context.Context, req vendor.Request, email string) (vendor.Result, *vendorhttp.Response, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.base + "/communication-preferences/v4/statuses/" + url.PathEscape(email) + "/unsubscribe-all?channel=EMAIL&verbose=true",
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, nil, err
	}
	res, err := classifyUnsubscribe(resp, a.client.Now())
	return res, resp, err
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
