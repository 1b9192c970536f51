// Package posthog delivers erasure to PostHog (vendors.md §4.1).
//
// The adapter is not a vendor.Poller. bulk_delete deletes the person at once and
// queues their events and recordings for PostHog's batch deletion, but its answer
// carries no handle for that queued work: no job id and no person UUID.
// deletion_status filters by person UUID only, and the documented way to learn the
// UUID (listing persons by distinct_id) would cost a lookup per erasure and still race
// with the deletion itself. So Deliver reports Accepted with an empty Reference and
// says why in Detail; verifying the events' removal is left to PostHog's own
// guarantee.
package posthog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var _ vendor.Adapter = (*Adapter)(nil)

// Queued is the Detail of an Accepted deletion.
const Queued = "person deleted; events and recordings queued for PostHog's batch deletion, which cannot be tracked by distinct id"

// Config configures the PostHog adapter.
type Config struct {
	// BaseURL is the private API root; production is https://us.posthog.com or
	// https://eu.posthog.com (not the *.i.posthog.com capture hosts).
	BaseURL string
	// APIKey is a personal API key (phx_...) with the person:write scope.
	APIKey string
	// ProjectID is the PostHog project the subject's data lives in.
	ProjectID string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock for Retry-After arithmetic; nil means time.Now.
	Now func() time.Time
}

// Adapter is the PostHog adapter.
type Adapter struct {
	bulkURL string
	client  *vendorhttp.Client
}

// New validates cfg and returns an adapter; the error names every field at fault.
func New(cfg Config) (*Adapter, error) {
	base, err := vendorhttp.BaseURL("posthog: BaseURL", cfg.BaseURL)
	err = errors.Join(err,
		vendorhttp.Required("posthog: APIKey", cfg.APIKey),
		vendorhttp.Required("posthog: ProjectID", cfg.ProjectID))
	if err != nil {
		return nil, err
	}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.APIKey) }
	return &Adapter{
		bulkURL: base + "/api/projects/" + url.PathEscape(cfg.ProjectID) + "/persons/bulk_delete/",
		client:  vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth),
	}, nil
}

// Supports reports DeleteUser only: PostHog has no server-side opt-out (§4.2).
func (a *Adapter) Supports(action vendor.Action) bool { return action == vendor.DeleteUser }

// Deliver deletes the person the subject's distinct id belongs to, with their events
// and recordings.
func (a *Adapter) Deliver(ctx context.Context, req vendor.Request) (vendor.Result, error) {
	if !a.Supports(req.Action) {
		return vendor.Result{}, vendorhttp.Unsupported(req.Action)
	}
	distinctID := strings.TrimSpace(req.IDs.UserID("posthog"))
	if distinctID == "" {
		return vendorhttp.Skipped("distinct id"), nil
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.bulkURL,
		Body: map[string]any{
			"distinct_ids":      []string{distinctID},
			"delete_events":     true,
			"delete_recordings": true,
		},
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	return classifyBulk(resp, a.client.Now())
}

// classifyBulk reads a bulk_delete answer. Failures come back in deletion_errors
// with a 202, not as an error status (§4.1).
func classifyBulk(resp *vendorhttp.Response, now time.Time) (vendor.Result, error) {
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
		return vendor.Result{}, resp.Error(e.Code, now)
	}
	var summary struct {
		PersonsFound   *int  `json:"persons_found"`
		DeletionErrors []any `json:"deletion_errors"`
	}
	if err := resp.Decode(&summary); err != nil {
		return vendor.Result{}, err
	}
	switch {
	case summary.PersonsFound == nil:
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "answer holds no persons_found"}
	case len(summary.DeletionErrors) > 0:
		// The rows name person UUIDs; only their count goes in the message.
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode,
			Msg: fmt.Sprintf("deletion_errors: %d", len(summary.DeletionErrors))}
	case *summary.PersonsFound == 0:
		// The person is already gone; a repeat queues no second event deletion.
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
	}
	return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Detail: Queued}, nil
}
