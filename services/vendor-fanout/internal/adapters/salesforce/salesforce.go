// Package salesforce delivers email opt-out and record deletion to Salesforce's REST
// API (docs/vendors/salesforce.md).
package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var _ vendor.Adapter = (*Adapter)(nil)

// requestLimitExceeded is Salesforce's throttling signal: a 403, not a 429, with no
// Retry-After.
const requestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"

var (
	versionRE = regexp.MustCompile(`^v\d+\.\d+$`)
	objectRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// Config configures the Salesforce adapter.
type Config struct {
	// BaseURL is the org's My Domain, e.g. https://<MyDomain>.my.salesforce.com;
	// requests go to {BaseURL}/services/data/{APIVersion}/...
	BaseURL string
	// AccessToken is an OAuth access token for a user who may edit and delete Object.
	AccessToken string
	// Tokens, when set, replaces AccessToken: a token from the JWT bearer or
	// refresh-token flow, renewed after Salesforce answers 401 INVALID_SESSION_ID.
	Tokens *oauth.Source
	// APIVersion is the REST API version; default "v60.0".
	APIVersion string
	// Object is the sObject the subject's record id names; default "Contact". It must
	// carry HasOptedOutOfEmail for OptOut (Contact and Lead do).
	Object string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
	// UsageThreshold is the share of the org's 24-hour API allocation
	// (Sforce-Limit-Info api-usage=N/M) above which the lane stops calling: the
	// allocation is shared with every other integration of the org, and spending it
	// all stops them too. Default 0.9; 1 brakes only when it is spent.
	UsageThreshold float64
}

// Adapter is the Salesforce adapter.
type Adapter struct {
	sobjectURL string // {BaseURL}/services/data/{APIVersion}/sobjects/{Object}/
	client     *vendorhttp.Client
	threshold  float64
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v60.0"
	}
	if cfg.Object == "" {
		cfg.Object = "Contact"
	}
	if cfg.UsageThreshold == 0 {
		cfg.UsageThreshold = 0.9
	}
	base, err := vendorhttp.BaseURL("salesforce: BaseURL", cfg.BaseURL)
	if cfg.Tokens == nil {
		err = errors.Join(err, vendorhttp.Required("salesforce: AccessToken", cfg.AccessToken))
	}
	if !versionRE.MatchString(cfg.APIVersion) {
		err = errors.Join(err, errors.New(`salesforce: APIVersion must look like "v60.0"`))
	}
	if !(cfg.UsageThreshold > 0 && cfg.UsageThreshold <= 1) {
		err = errors.Join(err, errors.New("salesforce: UsageThreshold must be in (0, 1]"))
	}
	if !objectRE.MatchString(cfg.Object) {
		err = errors.Join(err, errors.New("salesforce: Object must be an sObject API name such as Contact"))
	}
	if err != nil {
		return nil, err
	}
	if cfg.Tokens == nil {
		cfg.Tokens = oauth.Static(cfg.AccessToken)
	}
	return &Adapter{
		sobjectURL: base + "/services/data/" + cfg.APIVersion + "/sobjects/" + cfg.Object + "/",
		client:     vendorhttp.NewTokenClient(cfg.HTTP, cfg.Now, cfg.Tokens),
		threshold:  cfg.UsageThreshold,
	}, nil
}

// Supports reports OptOut (HasOptedOutOfEmail) and DeleteUser (record delete).
func (a *Adapter) Supports(action vendor.Action) bool {
	return action == vendor.OptOut || action == vendor.DeleteUser
}

// Deliver acts on the record whose id the product sent as VendorIDs["salesforce"]; the
// subject id is no Salesforce record id, so there is no fallback to it.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	id := strings.TrimSpace(req.IDs.VendorIDs["salesforce"])
	if id == "" {
		return vendorhttp.Skipped("salesforce record id"), nil
	}
	call := vendorhttp.Request{URL: a.sobjectURL + url.PathEscape(id), IdempotencyKey: req.IdempotencyKey}
	if req.Action == vendor.OptOut {
		call.Method, call.Body = http.MethodPatch, map[string]bool{"HasOptedOutOfEmail": true}
	} else {
		call.Method = http.MethodDelete
	}
	resp, err := a.client.Do(ctx, call)
	if err != nil {
		return vendor.Result{}, err
	}
	switch {
	case resp.OK():
		return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode, Brake: a.brake(resp)}, nil
	case resp.StatusCode == http.StatusNotFound && req.Action == vendor.DeleteUser:
		// A second delete of the same id. For OptOut a 404 stays Permanent: the
		// record id is stale and someone should look.
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
	}
	return vendor.Result{}, classifyError(resp, a.client.Now())
}

// classifyError reads Salesforce's error array; only errorCode goes into the error,
// since messages can quote field values.
func classifyError(resp *vendorhttp.Response, now time.Time) *vendor.Error {
	var errs []struct {
		ErrorCode string `json:"errorCode"`
	}
	_ = resp.Decode(&errs) // an unreadable error body leaves the status to speak
	code := ""
	if len(errs) > 0 {
		code = errs[0].ErrorCode
	}
	if resp.StatusCode == http.StatusForbidden && code == requestLimitExceeded {
		// Salesforce never says when; RetryAfter 0 leaves the wait to the core.
		return &vendor.Error{Kind: vendor.Throttled, HTTPStatus: resp.StatusCode, Msg: code}
	}
	e := resp.Error(code, now)
	if len(errs) > 1 {
		e.Msg += fmt.Sprintf(" (+%d more)", len(errs)-1)
	}
	return e
}

// brake reads Sforce-Limit-Info, "returned in each request to REST API"
// (docs/vendors/salesforce.md): api-usage=N/M over the threshold parks the lane. The
// allocation rolls over 24 hours, so no reset time is known; the lane's wait grows
// while usage stays high.
func (a *Adapter) brake(resp *vendorhttp.Response) *vendor.Brake {
	used, limit, ok := apiUsage(resp.Header.Get("Sforce-Limit-Info"))
	if !ok || limit <= 0 || float64(used) < a.threshold*float64(limit) {
		return nil
	}
	return &vendor.Brake{Reason: fmt.Sprintf("Sforce-Limit-Info api-usage=%d/%d", used, limit)}
}

// apiUsage parses "api-usage=N/M", possibly among other "; "-separated items.
func apiUsage(v string) (used, limit int, ok bool) {
	for item := range strings.SplitSeq(v, ";") {
		k, val, found := strings.Cut(strings.TrimSpace(item), "=")
		if !found || k != "api-usage" {
			continue
		}
		n, m, found := strings.Cut(val, "/")
		if !found {
			return 0, 0, false
		}
		u, err1 := strconv.Atoi(strings.TrimSpace(n))
		l, err2 := strconv.Atoi(strings.TrimSpace(m))
		return u, l, err1 == nil && err2 == nil
	}
	return 0, 0, false
}
