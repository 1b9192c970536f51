// Package fullstory delivers erasure to FullStory's v2 users API (docs/vendors/fullstory.md).
package fullstory

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

var (
	_ vendor.Adapter = (*Adapter)(nil)
	_ vendor.Poller  = (*Adapter)(nil)
)

// Reference is what an accepted deletion is tracked by. FullStory returns no job id
// and the uid is a personal identifier, so Poll re-derives the uid from the request
// and lists the users with that uid (docs/vendors/fullstory.md).
const Reference = "is_being_deleted"

// Config configures the FullStory adapter.
type Config struct {
	// BaseURL is the API root; production is https://api.fullstory.com.
	BaseURL string
	// APIKey is an Admin or Architect API key, sent as "Basic <key>": the raw key,
	// not base64 of user:pass.
	APIKey string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the FullStory adapter.
type Adapter struct {
	base   string
	client *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	base, err := vendorhttp.BaseURL("fullstory: BaseURL", cfg.BaseURL)
	if err := errors.Join(err, vendorhttp.Required("fullstory: APIKey", cfg.APIKey)); err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Basic "+cfg.APIKey) }
	return &Adapter{base: base, client: vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth)}, nil
}

// Supports reports DeleteUser only: FullStory's opt-out lives in the browser.
func (a *Adapter) Supports(action vendor.Action) bool { return action == vendor.DeleteUser }

// Deliver deletes the user identified by the subject's uid (what the product passed
// to FS('setIdentity')). 200 starts the deletion; 404 means the user is already gone.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	uid := strings.TrimSpace(req.IDs.UserID("fullstory"))
	if uid == "" {
		return vendorhttp.Skipped("user id"), nil
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method:         http.MethodDelete,
		URL:            a.userURL(uid),
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	switch {
	case resp.OK():
		return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Reference: Reference}, nil
	case resp.StatusCode == http.StatusNotFound:
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
	}
	return vendor.Result{}, resp.Error(errorCode(resp), a.client.Now())
}

// Poll reports done once FullStory lists no user with the uid. GET /v2/users?uid= is
// ListUsers, answering {"results":[...],"total_records":"N","next_page_token"}
// (docs/vendors/fullstory.md): no result means the user is gone; a result with
// is_being_deleted means deletion is still running. A listed user not being deleted is
// also not done, but an error, so that the delivery's last error tells an operator the
// deletion may not have taken.
func (a *Adapter) Poll(ctx context.Context, req vendor.Request, reference string) (bool, error) {
	if reference != Reference {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "reference is not " + Reference}
	}
	uid := strings.TrimSpace(req.IDs.UserID("fullstory"))
	if uid == "" {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "no user id for this subject to poll by"}
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{Method: http.MethodGet, URL: a.userURL(uid)})
	if err != nil {
		return false, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		// The spec gives the list no 404; read one as "no such user" all the same.
		return true, nil
	case !resp.OK():
		return false, resp.Error(errorCode(resp), a.client.Now())
	}
	var list struct {
		Results *[]struct {
			UID            string `json:"uid"`
			IsBeingDeleted bool   `json:"is_being_deleted"`
		} `json:"results"`
	}
	if err := resp.Decode(&list); err != nil {
		return false, err
	}
	if list.Results == nil {
		return false, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "answer holds no results"}
	}
	listed := false
	for _, u := range *list.Results {
		if u.UID != uid {
			continue // the filter is by uid; anyone else is not our subject
		}
		if u.IsBeingDeleted {
			return false, nil
		}
		listed = true
	}
	if listed {
		return false, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "the user is listed and not being deleted"}
	}
	if len(*list.Results) > 0 {
		// Users listed, none with our uid: the filter was not applied, so the answer
		// says nothing of our user.
		return false, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "the listed users do not carry the uid asked for"}
	}
	return true, nil
}

func (a *Adapter) userURL(uid string) string {
	return a.base + "/v2/users?" + url.Values{"uid": {uid}}.Encode()
}

// errorCode is the snake_case code of FullStory's {"message","code"} error body.
func errorCode(resp *vendorhttp.Response) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
	return e.Code
}
