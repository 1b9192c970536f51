// Package posthog delivers erasure to PostHog (docs/vendors/posthog.md).
//
// bulk_delete deletes a person at once and queues their events and recordings for
// PostHog's batch deletion, but its answer carries no handle for that queued work, and
// deletion_status filters by person UUID only. So Deliver first looks the person up by
// distinct id (the documented way to find a person), deletes by that UUID, and keeps it
// as the reference that Poll checks deletion_status with. The UUID is PostHog's own
// random id for the person — pseudonymous, like our subject_key — not an identifier
// the product gave. Two requests per erasure count against PostHog's persons limits;
// the routing's rate accounts for them.
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

var (
	_ vendor.Adapter = (*Adapter)(nil)
	_ vendor.Poller  = (*Adapter)(nil)
)

// Queued is the Detail of an Accepted deletion.
const Queued = "person deleted; events and recordings queued for PostHog's batch deletion"

// QueuedUnconfirmed is the Detail of a deletion an older PostHog accepted with an empty
// 202: nothing in the answer confirms what was queued.
const QueuedUnconfirmed = "accepted with no summary (older PostHog); events and recordings queued as requested"

// referencePrefix marks a reference holding the PostHog person UUID to poll by.
const referencePrefix = "person:"

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
	projectURL string
	client     *vendorhttp.Client
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
		projectURL: base + "/api/projects/" + url.PathEscape(cfg.ProjectID),
		client:     vendorhttp.NewClient(cfg.HTTP, cfg.Now, auth),
	}, nil
}

// Supports reports DeleteUser only: PostHog has no server-side opt-out.
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
	person, found, err := a.lookup(ctx, distinctID)
	if err != nil {
		return vendor.Result{}, err
	}
	if !found {
		// No such person: never captured, or already deleted.
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: http.StatusOK}, nil
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodPost,
		URL:    a.projectURL + "/persons/bulk_delete/",
		Body: map[string]any{
			"ids":               []string{person},
			"delete_events":     true,
			"delete_recordings": true,
		},
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return vendor.Result{}, err
	}
	res, err := classifyBulk(resp, a.client.Now())
	if err == nil && res.Outcome == vendor.Accepted {
		res.Reference = referencePrefix + person
	}
	return res, err
}

// lookup finds the person a distinct id belongs to.
func (a *Adapter) lookup(ctx context.Context, distinctID string) (string, bool, error) {
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodGet,
		URL:    a.projectURL + "/persons/?distinct_id=" + url.QueryEscape(distinctID),
	})
	if err != nil {
		return "", false, err
	}
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e)
		return "", false, resp.Error(e.Code, a.client.Now())
	}
	// Only uuid: PostHog's id is the numeric person id (docs/vendors/posthog.md), which
	// bulk_delete's ids and deletion_status do not take.
	var list struct {
		Results []struct {
			UUID string `json:"uuid"`
		} `json:"results"`
	}
	if err := resp.Decode(&list); err != nil {
		return "", false, err
	}
	if len(list.Results) == 0 {
		return "", false, nil
	}
	uuid := list.Results[0].UUID
	if uuid == "" {
		return "", false, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: "person answer holds no uuid"}
	}
	return uuid, true, nil
}

// Poll reports done only once PostHog says the person's queued event deletion has
// completed: at least one deletion_status row for the person, every one "completed" or
// verified (delete_verified_at). No row is not done: newer PostHog queues a deletion
// before any row exists, and a row may be late or on another page
// (docs/vendors/posthog.md). The lane keeps polling until the delivery's deadline and
// then reports the job unverifiable.
func (a *Adapter) Poll(ctx context.Context, _ vendor.Request, reference string) (bool, error) {
	person, ok := strings.CutPrefix(reference, referencePrefix)
	if !ok || person == "" {
		return false, &vendor.Error{Kind: vendor.Permanent, Msg: "the reference names no PostHog person"}
	}
	resp, err := a.client.Do(ctx, vendorhttp.Request{
		Method: http.MethodGet,
		URL:    a.projectURL + "/persons/deletion_status/?status=all&person_uuid=" + url.QueryEscape(person),
	})
	if err != nil {
		return false, err
	}
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e)
		return false, resp.Error(e.Code, a.client.Now())
	}
	var status struct {
		Results []struct {
			PersonUUID       string  `json:"person_uuid"`
			Status           string  `json:"status"`
			DeleteVerifiedAt *string `json:"delete_verified_at"`
		} `json:"results"`
	}
	if err := resp.Decode(&status); err != nil {
		return false, err
	}
	rows := 0
	for _, row := range status.Results {
		if row.PersonUUID != "" && !strings.EqualFold(row.PersonUUID, person) {
			continue // filtered by person; another's row says nothing of ours
		}
		rows++
		verified := row.DeleteVerifiedAt != nil && *row.DeleteVerifiedAt != ""
		if row.Status != "completed" && !verified {
			return false, nil
		}
	}
	return rows > 0, nil
}

// classifyBulk reads a bulk_delete answer. Failures come back in deletion_errors with a
// 202, not as an error status, so the counts decide (docs/vendors/posthog.md): Accepted
// only when nothing failed, every person found was deleted (or queued for it), and
// their events and recordings were queued.
func classifyBulk(resp *vendorhttp.Response, now time.Time) (vendor.Result, error) {
	if !resp.OK() {
		var e struct {
			Code string `json:"code"`
		}
		_ = resp.Decode(&e) // an unreadable error body leaves the status to speak
		return vendor.Result{}, resp.Error(e.Code, now)
	}
	if len(strings.TrimSpace(string(resp.Body))) == 0 {
		// Older PostHog answered 202 with no body, having queued the deletion as asked;
		// nothing to read, and asking again would get the same.
		return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Detail: QueuedUnconfirmed}, nil
	}
	var summary struct {
		PersonsFound     *int  `json:"persons_found"`
		PersonsDeleted   *int  `json:"persons_deleted"`
		PersonsQueued    int   `json:"persons_queued_for_deletion"`
		EventsQueued     *bool `json:"events_queued_for_deletion"`
		RecordingsQueued *bool `json:"recordings_queued_for_deletion"`
		DeletionErrors   []any `json:"deletion_errors"`
	}
	if err := resp.Decode(&summary); err != nil {
		return vendor.Result{}, err
	}
	transient := func(msg string) (vendor.Result, error) {
		// Counts only: the rows of deletion_errors name person UUIDs.
		return vendor.Result{}, &vendor.Error{Kind: vendor.Transient, HTTPStatus: resp.StatusCode, Msg: msg}
	}
	switch {
	case summary.PersonsFound == nil:
		return transient("answer holds no persons_found")
	case len(summary.DeletionErrors) > 0:
		return transient(fmt.Sprintf("deletion_errors: %d", len(summary.DeletionErrors)))
	case *summary.PersonsFound == 0:
		// The person is already gone; a repeat queues no second event deletion.
		return vendor.Result{Outcome: vendor.AlreadyDone, HTTPStatus: resp.StatusCode}, nil
	case summary.PersonsDeleted == nil || *summary.PersonsDeleted+summary.PersonsQueued != *summary.PersonsFound:
		deleted := 0
		if summary.PersonsDeleted != nil {
			deleted = *summary.PersonsDeleted
		}
		return transient(fmt.Sprintf("persons found %d, deleted %d, queued %d", *summary.PersonsFound, deleted, summary.PersonsQueued))
	case summary.EventsQueued == nil || !*summary.EventsQueued:
		return transient("events not queued for deletion")
	case summary.RecordingsQueued == nil || !*summary.RecordingsQueued:
		return transient("recordings not queued for deletion")
	}
	return vendor.Result{Outcome: vendor.Accepted, HTTPStatus: resp.StatusCode, Detail: Queued}, nil
}
