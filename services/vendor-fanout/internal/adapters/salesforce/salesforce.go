// Package salesforce delivers email opt-out and record deletion to Salesforce's REST
// API (docs/vendors/salesforce.md).
package salesforce

import (
	"bytes"
	"context"
	"encoding/csv"
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

var (
	_ vendor.Adapter = (*Adapter)(nil)
	_ vendor.Poller  = (*Adapter)(nil)
)

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
	jobsURL    string // {BaseURL}/services/data/{APIVersion}/jobs/ingest
	object     string
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
		jobsURL:    base + "/services/data/" + cfg.APIVersion + "/jobs/ingest",
		object:     cfg.Object,
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
	if req.Action == vendor.DeleteUser {
		return a.hardDelete(ctx, req, id)
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{Method: http.MethodPatch, URL: a.sobjectURL + url.PathEscape(id),
		Body: map[string]bool{"HasOptedOutOfEmail": true}, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return vendor.Result{}, err
	}
	if resp.OK() {
		return vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode, Brake: a.brake(resp)}, nil
	}
	// A 404 stays Permanent: the record id is stale and someone should look.
	return vendor.Result{}, classifyError(resp, a.client.Now())
}

// hardDelete erases the record with a Bulk API 2.0 ingest job of operation hardDelete
// (docs/vendors/salesforce.md): a REST DELETE only moves it to the Recycle Bin, from
// which it can be restored for 15 days. The job is created, given a CSV of the Id,
// closed with UploadComplete and then polled; Reference "job:<id>" names it. The
// integration user needs the "Bulk API Hard Delete" permission, or the job fails.
func (a *Adapter) hardDelete(ctx context.Context, req vendor.Request, id string) (vendor.Result, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{Method: http.MethodPost, URL: a.jobsURL,
		Body: map[string]string{"object": a.object, "operation": "hardDelete", "contentType": "CSV", "lineEnding": "LF"}})
	if err != nil {
		return vendor.Result{}, err
	}
	if !resp.OK() {
		return vendor.Result{}, classifyError(resp, a.client.Now())
	}
	var job struct {
		ID string `json:"id"`
	}
	if err := resp.Decode(&job); err != nil {
		return vendor.Result{}, err
	}
	if job.ID == "" || strings.ContainsAny(job.ID, "/?#") {
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "job created without a usable id"}
	}
	jobURL := a.jobsURL + "/" + job.ID
	steps := []vendorhttp.Request{
		{Method: http.MethodPut, URL: jobURL + "/batches", Body: []byte("Id\n" + csvField(id) + "\n"), ContentType: "text/csv"},
		{Method: http.MethodPatch, URL: jobURL, Body: map[string]string{"state": "UploadComplete"}},
	}
	for _, step := range steps {
		resp, err = a.client.Do(ctx, step)
		if err != nil {
			return vendor.Result{}, err
		}
		if !resp.OK() {
			// The open job is left behind; Salesforce deletes jobs after seven days.
			return vendor.Result{}, classifyError(resp, a.client.Now())
		}
	}
	return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Reference: "job:" + job.ID, Brake: a.brake(resp)}, nil
}

// csvField quotes a value for CSV when it needs it; a record id never does, but the id
// comes from the product and must not break the file.
func csvField(v string) string {
	if strings.ContainsAny(v, "\",\r\n") {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

// Poll reads the hardDelete job: done at JobComplete with no failed record; a failed
// record (its sf__Error code, e.g. ENTITY_IS_DELETED) or a Failed/Aborted job is
// Permanent, for an operator: the record may still sit in the org or its Recycle Bin.
func (a *Adapter) Poll(ctx context.Context, _ vendor.Request, reference string) (bool, error) {
	jobID, ok := strings.CutPrefix(reference, "job:")
	if !ok || jobID == "" || strings.ContainsAny(jobID, "/?#") {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "not a Salesforce job reference"}
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{Method: http.MethodGet, URL: a.jobsURL + "/" + jobID})
	if err != nil {
		return false, err
	}
	if !resp.OK() {
		return false, classifyError(resp, a.client.Now())
	}
	var job struct {
		State  string `json:"state"`
		Failed int    `json:"numberRecordsFailed"`
	}
	if err := resp.Decode(&job); err != nil {
		return false, err
	}
	switch job.State {
	case "JobComplete":
		if job.Failed == 0 {
			return true, nil
		}
		return false, &vendor.Error{Kind: vendor.Permanent, HTTPStatus: resp.StatusCode,
			Msg: "hardDelete job completed with a failed record: " + a.failedCode(ctx, jobID)}
	case "Failed", "Aborted":
		return false, &vendor.Error{Kind: vendor.Permanent, HTTPStatus: resp.StatusCode, Msg: "hardDelete job " + job.State}
	}
	return false, nil // Open, UploadComplete, InProgress
}

// failedCode reads the first failed row's sf__Error code (before its first ':'; the
// rest is a message).
func (a *Adapter) failedCode(ctx context.Context, jobID string) string {
	resp, err := a.client.Do(ctx, vendorhttp.Request{Method: http.MethodGet, URL: a.jobsURL + "/" + jobID + "/failedResults/"})
	if err != nil || !resp.OK() {
		return "unknown (failedResults unreadable)"
	}
	rows, err := csv.NewReader(bytes.NewReader(resp.Body)).ReadAll()
	if err != nil || len(rows) < 2 {
		return "unknown"
	}
	for i, col := range rows[0] {
		if col == "sf__Error" && i < len(rows[1]) {
			code, _, _ := strings.Cut(rows[1][i], ":")
			if objectRE.MatchString(code) {
				return code
			}
		}
	}
	return "unknown"
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
