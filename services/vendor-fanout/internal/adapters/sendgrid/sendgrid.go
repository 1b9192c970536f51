// Package sendgrid delivers email suppression and Marketing Campaigns contact deletion
// to SendGrid (docs/vendors/sendgrid.md).
//
// The adapter is not a vendor.Poller: contact deletion returns a job id, but a status
// endpoint for deletion jobs is not confirmed in SendGrid's documentation, so the
// job id is kept as the Reference for the record and nothing polls it.
package sendgrid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var (
	_ vendor.Adapter      = (*Adapter)(nil)
	_ vendor.BatchAdapter = (*Adapter)(nil)
)

// Config configures the SendGrid adapter.
type Config struct {
	// BaseURL is the API root; production is https://api.sendgrid.com (EU regional
	// subusers: https://api.eu.sendgrid.com).
	BaseURL string
	// APIKey is an API key with suppression and Marketing contacts write access.
	APIKey string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After and X-RateLimit-Reset arithmetic; nil means
	// time.Now.
	Now func() time.Time
}

// Adapter is the SendGrid adapter.
type Adapter struct {
	base   string
	client *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	base, err := vendorhttp.BaseURL("sendgrid: BaseURL", cfg.BaseURL)
	if err := errors.Join(err, vendorhttp.Required("sendgrid: APIKey", cfg.APIKey)); err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.APIKey) }
	return &Adapter{base: base, client: vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth)}, nil
}

// Supports reports SuppressEmail and OptOut (both a global unsubscribe) and
// DeleteUser (Marketing Campaigns contact deletion).
func (a *Adapter) Supports(action vendor.Action) bool {
	return action == vendor.SuppressEmail || action == vendor.OptOut || action == vendor.DeleteUser
}

// Deliver performs req; every action needs the subject's email.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	email := strings.TrimSpace(req.IDs.Email)
	if email == "" {
		return vendorhttp.Skipped("email"), nil
	}
	if req.Action == vendor.DeleteUser {
		return a.deleteContacts(ctx, req, email)
	}
	outs, err := a.DeliverBatch(ctx, []vendor.Request{req})
	if err != nil {
		return vendor.Result{}, err
	}
	return outs[0].Result, outs[0].Err
}

// MaxBatch: a global suppression takes "one or more email addresses" with no maximum
// documented (docs/vendors/sendgrid.md, "Batching"), so routing's max_batch alone
// bounds a call. Contact deletion is one search and one DELETE per subject: not batched.
func (a *Adapter) MaxBatch(action vendor.Action) int {
	if action == vendor.SuppressEmail || action == vendor.OptOut {
		return math.MaxInt
	}
	return 0
}

// DeliverBatch adds every subject's address to the global suppression group in one
// POST. The 201 answer lists "the email addresses that are globally suppressed": an
// address in it is delivered; one missing from it is not confirmed and retries. The
// group is a set, so a repeat is harmless and answers as the first did: there is no
// "already done" reply to detect.
func (a *Adapter) DeliverBatch(ctx context.Context, reqs []vendor.Request) ([]vendor.ItemOutcome, error) {
	outs := make([]vendor.ItemOutcome, len(reqs))
	emails := make([]string, len(reqs))
	var send []string
	seen := map[string]bool{}
	for i, req := range reqs {
		if req.Action != vendor.SuppressEmail && req.Action != vendor.OptOut {
			outs[i].Err = vendorhttp.Unsupported(req.Action)
			continue
		}
		emails[i] = strings.TrimSpace(req.IDs.Email)
		if emails[i] == "" {
			outs[i].Result = vendorhttp.Skipped("email")
			continue
		}
		if k := strings.ToLower(emails[i]); !seen[k] {
			seen[k] = true
			send = append(send, emails[i])
		}
	}
	if len(send) == 0 {
		return outs, nil
	}
	key := reqs[0].IdempotencyKey
	if len(reqs) > 1 {
		h := sha256.New()
		for _, r := range reqs {
			h.Write([]byte(r.IdempotencyKey))
			h.Write([]byte{0})
		}
		key = hex.EncodeToString(h.Sum(nil))
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodPost,
		URL:            a.base + "/v3/asm/suppressions/global",
		Body:           map[string][]string{"recipient_emails": send},
		IdempotencyKey: key,
	})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		e := a.classifyError(resp)
		// SendGrid's error names the field (recipient_emails), never which address.
		e.Whole = e.Kind == vendor.Permanent && len(send) > 1
		return nil, e
	}
	if len(send) == 1 {
		// One address: the status says it all, as before batching; the body is not
		// needed to know which address it speaks of.
		for i := range outs {
			if outs[i].Err == nil && emails[i] != "" {
				outs[i].Result = vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}
			}
		}
		return outs, nil
	}
	var body struct {
		RecipientEmails []string `json:"recipient_emails"`
	}
	if err := resp.Decode(&body); err != nil {
		return nil, err
	}
	suppressed := map[string]bool{}
	for _, e := range body.RecipientEmails {
		suppressed[strings.ToLower(strings.TrimSpace(e))] = true
	}
	for i := range outs {
		switch {
		case outs[i].Err != nil || emails[i] == "":
		case suppressed[strings.ToLower(emails[i])]:
			outs[i].Result = vendor.Result{Outcome: vendor.Delivered, HTTPStatus: resp.StatusCode}
		default:
			outs[i].Err = &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode,
				Msg: "the answer does not list this address as suppressed"}
		}
	}
	return outs, nil
}

// deleteContacts looks the address up and deletes the contacts it names. A search
// that finds none (404) means they are already gone. Only the DELETE carries the
// Idempotency-Key: a key names one request, and a server that honours keys would
// answer the DELETE with the search's stored reply if both carried it.
func (a *Adapter) deleteContacts(ctx context.Context, req vendor.Request, email string) (vendor.Result, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.base + "/v3/marketing/contacts/search/emails",
		Body:   map[string][]string{"emails": {email}},
	})
	if err != nil {
		return vendor.Result{}, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
	}
	if !resp.OK() {
		return vendor.Result{}, a.classifyError(resp)
	}
	ids, err := contactIDs(resp)
	if err != nil {
		return vendor.Result{}, err
	}

	resp, err = a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodDelete,
		URL:            a.base + "/v3/marketing/contacts?" + url.Values{"ids": {strings.Join(ids, ",")}}.Encode(),
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	if !resp.OK() {
		return vendor.Result{}, a.classifyError(resp)
	}
	var job struct {
		JobID string `json:"job_id"`
	}
	if err := resp.Decode(&job); err != nil {
		return vendor.Result{}, err
	}
	if job.JobID == "" {
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "answer holds no job_id"}
	}
	return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Reference: "job:" + job.JobID}, nil
}

// contactIDs reads the search answer: result maps each address searched to its
// contact or to an error. The keys are addresses, so they are never reported.
func contactIDs(resp *vendorhttp.Response) ([]string, error) {
	var found struct {
		Result map[string]struct {
			Contact *struct {
				ID string `json:"id"`
			} `json:"contact"`
		} `json:"result"`
	}
	if err := resp.Decode(&found); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range found.Result {
		if r.Contact != nil && r.Contact.ID != "" && !slices.Contains(ids, r.Contact.ID) {
			ids = append(ids, r.Contact.ID)
		}
	}
	if len(ids) == 0 {
		// A 200 promises a match; deleting nothing would report success falsely.
		return nil, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "search answer holds no contact id"}
	}
	slices.Sort(ids) // map order is random; a stable request is easier to trace
	return ids, nil
}

// classifyError handles SendGrid's throttle, which carries X-RateLimit-Reset (epoch
// seconds) and usually no Retry-After, then the common rules. SendGrid's error body
// has messages but no codes, and messages can echo the request, so only the field
// at fault is reported.
func (a *Adapter) classifyError(resp *vendorhttp.Response) *vendor.Error {
	var body struct {
		Errors []struct {
			Field *string `json:"field"`
		} `json:"errors"`
	}
	_ = resp.Decode(&body) // an unreadable error body leaves the status to speak
	code := ""
	if len(body.Errors) > 0 && body.Errors[0].Field != nil && *body.Errors[0].Field != "" {
		code = "field " + *body.Errors[0].Field
	}
	now := a.client.Now()
	e := resp.Error(code, now)
	if e.Kind == vendor.Throttled && e.RetryAfter == 0 {
		e.RetryAfter = untilReset(resp.Header.Get("X-RateLimit-Reset"), now)
	}
	return e
}

// untilReset is how long until an X-RateLimit-Reset epoch second, or 0; at most
// vendor.MaxRetryAfter, like a Retry-After.
func untilReset(v string, now time.Time) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	if d := time.Unix(secs, 0).Sub(now); d > 0 {
		return min(d, vendor.MaxRetryAfter)
	}
	return 0
}
