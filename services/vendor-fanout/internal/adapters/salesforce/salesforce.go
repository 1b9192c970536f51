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
	"strings"
	"time"

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
	// APIVersion is the REST API version; default "v60.0".
	APIVersion string
	// Object is the sObject the subject's record id names; default "Contact". It must
	// carry HasOptedOutOfEmail for OptOut (Contact and Lead do).
	Object string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the Salesforce adapter.
type Adapter struct {
	sobjectURL string // {BaseURL}/services/data/{APIVersion}/sobjects/{Object}/
	client     *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v60.0"
	}
	if cfg.Object == "" {
		cfg.Object = "Contact"
	}
	base, err := vendorhttp.BaseURL("salesforce: BaseURL", cfg.BaseURL)
	err = errors.Join(err, vendorhttp.Required("salesforce: AccessToken", cfg.AccessToken))
	if !versionRE.MatchString(cfg.APIVersion) {
		err = errors.Join(err, errors.New(`salesforce: APIVersion must look like "v60.0"`))
	}
	if !objectRE.MatchString(cfg.Object) {
		err = errors.Join(err, errors.New("salesforce: Object must be an sObject API name such as Contact"))
	}
	if err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.AccessToken) }
	return &Adapter{
		sobjectURL: base + "/services/data/" + cfg.APIVersion + "/sobjects/" + cfg.Object + "/",
		client:     vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth),
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
		return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}, nil
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
