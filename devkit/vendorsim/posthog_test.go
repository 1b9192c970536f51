package vendorsim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

type posthogStatus struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []struct {
		PersonUUID  string   `json:"person_uuid"`
		DistinctIDs []string `json:"distinct_ids"`
		Status      string   `json:"status"`
		CreatedAt   string   `json:"created_at"`
		// delete_verified_at is the field docs/vendors/posthog.md names on a row.
		DeleteVerifiedAt *string `json:"delete_verified_at"`
	} `json:"results"`
}

func TestPostHog(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := []string{"Authorization", "Bearer phx_key"}
	const (
		bulk   = "/posthog/api/projects/7/persons/bulk_delete/"
		status = "/posthog/api/projects/7/persons/deletion_status/"
		person = "0190f1e2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
	)
	tooMany := `{"distinct_ids":["d` + strings.Repeat(`","d`, 1000) + `"]}` // 1001
	statuses := func(want ...string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[posthogStatus](t, r.body)
			var got []string
			for _, row := range b.Results {
				got = append(got, row.Status)
				if (row.Status == "completed") != (row.DeleteVerifiedAt != nil) || row.CreatedAt == "" || row.PersonUUID == "" {
					t.Errorf("row = %+v: delete_verified_at must be set exactly when completed", row)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") || b.Next != nil || b.Previous != nil {
				t.Errorf("statuses = %v, want %v; body %s", got, want, r.body)
			}
		}
	}
	run(t, e, []step{
		{name: "no auth", method: "POST", path: bulk, body: `{"distinct_ids":["d1"]}`, want: 401, check: func(t *testing.T, r resp) {
			if b := decode[map[string]any](t, r.body); b["type"] != "authentication_error" || b["code"] != "not_authenticated" {
				t.Errorf("body = %s", r.body)
			}
		}},
		{name: "both kinds", method: "POST", path: bulk, body: `{"distinct_ids":["d1"],"ids":["` + person + `"]}`, header: auth, want: 400},
		{name: "neither", method: "POST", path: bulk, body: `{"delete_events":true}`, header: auth, want: 400},
		{name: "too many", method: "POST", path: bulk, body: tooMany, header: auth, want: 400},
		{name: "malformed", method: "POST", path: bulk, body: `[`, header: auth, want: 400},
		{name: "ids not uuids", method: "POST", path: bulk, body: `{"ids":["42"]}`, header: auth, want: 400},
		{name: "bulk delete", method: "POST", path: bulk, header: auth,
			body: `{"distinct_ids":["d1","d2"],"delete_events":true,"delete_recordings":false}`, want: 202,
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"persons_found":2,"persons_deleted":2,"events_queued_for_deletion":true,
					"recordings_queued_for_deletion":false,"deletion_errors":[]}`)
			}},
		{name: "bulk delete again: already gone", method: "POST", path: bulk, header: auth,
			body: `{"distinct_ids":["d1","d2"],"delete_events":true}`, want: 202, check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"persons_found":0,"persons_deleted":0,"events_queued_for_deletion":false,
					"recordings_queued_for_deletion":false,"deletion_errors":[]}`)
			}},
		{name: "pending", method: "GET", path: status + "?status=pending", header: auth, want: 200, check: func(t *testing.T, r resp) {
			statuses("pending", "pending")(t, r)
			if b := decode[posthogStatus](t, r.body); len(b.Results[0].DistinctIDs) != 1 || b.Results[0].DistinctIDs[0] != "d1" {
				t.Errorf("first row distinct_ids = %v, want [d1]", b.Results[0].DistinctIDs)
			}
		}},
		{name: "single delete", method: "DELETE", path: "/posthog/api/projects/7/persons/" + person + "/?delete_events=true", header: auth,
			want: 202, check: emptyBody},
		{name: "single delete again", method: "DELETE", path: "/posthog/api/projects/7/persons/" + person + "/?delete_events=true", header: auth,
			want: 404, check: func(t *testing.T, r resp) {
				if d := decode[map[string]any](t, r.body)["detail"]; d != "Person not found." {
					t.Errorf("detail = %v", d)
				}
			}},
		{name: "by person", method: "GET", path: status + "?person_uuid=" + person, header: auth, want: 200, check: statuses("pending")},
		{name: "completed after the delay", method: "GET", path: status + "?status=completed", header: auth, advance: 2_000_000_000,
			want: 200, check: statuses("completed", "completed", "completed")},
		{name: "none pending", method: "GET", path: status + "?status=pending", header: auth, want: 200, check: statuses()},
		{name: "other project", method: "GET", path: "/posthog/api/projects/8/persons/deletion_status/", header: auth, want: 200,
			check: statuses()},
		{name: "bad status", method: "GET", path: status + "?status=done", header: auth, want: 400},
		{name: "keep person", method: "POST", path: bulk, header: auth, body: `{"distinct_ids":["d3"],"keep_person":true,"delete_events":true}`, want: 202,
			check: func(t *testing.T, r resp) {
				b := decode[map[string]any](t, r.body)
				if b["persons_found"] != 1.0 || b["persons_deleted"] != 0.0 || b["events_queued_for_deletion"] != true {
					t.Errorf("body = %s", r.body)
				}
			}},
		{name: "kept person still found", method: "POST", path: bulk, header: auth, body: `{"distinct_ids":["d3"],"delete_events":true}`,
			want: 202, check: func(t *testing.T, r resp) {
				if b := decode[map[string]any](t, r.body); b["persons_found"] != 1.0 || b["persons_deleted"] != 1.0 {
					t.Errorf("body = %s", r.body)
				}
			}},
		{name: "one queued deletion per person", method: "GET", path: status + "?status=pending", header: auth, want: 200,
			check: func(t *testing.T, r resp) {
				statuses("pending")(t, r)
				if b := decode[posthogStatus](t, r.body); len(b.Results) == 1 && b.Results[0].DistinctIDs[0] != "d3" {
					t.Errorf("pending row = %+v, want d3's", b.Results[0])
				}
			}},
	})
}

// TestPostHogPersonsLookup: integrations find a person's UUID by distinct_id before
// deleting it; a deleted person is no longer listed.
func TestPostHogPersonsLookup(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := []string{"Authorization", "Bearer phx_key"}
	type persons struct {
		Results []struct {
			UUID        string   `json:"uuid"`
			DistinctIDs []string `json:"distinct_ids"`
		} `json:"results"`
	}
	r := e.do(t, "GET", "/posthog/api/projects/7/persons/?distinct_id=d-1", "", auth...)
	list := decode[persons](t, r.body)
	if r.status != 200 || len(list.Results) != 1 || list.Results[0].DistinctIDs[0] != "d-1" || len(list.Results[0].UUID) != 36 {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
	e.do(t, "POST", "/posthog/api/projects/7/persons/bulk_delete/", `{"ids":["`+list.Results[0].UUID+`"],"delete_events":true}`, auth...)
	r = e.do(t, "GET", "/posthog/api/projects/7/persons/?distinct_id=d-1", "", auth...)
	if list := decode[persons](t, r.body); r.status != 200 || len(list.Results) != 0 {
		t.Errorf("a deleted person is still listed: %d %s", r.status, r.body)
	}
	if r := e.do(t, "GET", "/posthog/api/projects/7/persons/?distinct_id=d-1", ""); r.status != 401 {
		t.Errorf("lookup without a key: %d", r.status)
	}
}

// TestPostHogStatusRowAppearsLate: with PostHogStatusLag, a queued deletion has no
// deletion_status row at first; it appears after the lag and completes JobDelay later.
func TestPostHogStatusRowAppearsLate(t *testing.T) {
	e := start(t, vendorsim.Options{JobDelay: time.Hour, PostHogStatusLag: 2 * time.Hour})
	auth := []string{"Authorization", "Bearer phx_key"}
	person := "0190f1e2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
	status := "/posthog/api/projects/7/persons/deletion_status/?status=all&person_uuid=" + person
	rows := func(want string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			var got []string
			for _, row := range decode[posthogStatus](t, r.body).Results {
				got = append(got, row.Status)
			}
			if strings.Join(got, ",") != want {
				t.Errorf("rows = %v, want %q; body %s", got, want, r.body)
			}
		}
	}
	run(t, e, []step{
		{name: "queue", method: "POST", path: "/posthog/api/projects/7/persons/bulk_delete/", header: auth,
			body: `{"ids":["` + person + `"],"delete_events":true,"delete_recordings":true}`, want: 202},
		{name: "no row yet", method: "GET", path: status, header: auth, advance: 2*time.Hour - time.Second, want: 200, check: rows("")},
		{name: "row pending", method: "GET", path: status, header: auth, advance: time.Second, want: 200, check: rows("pending")},
		{name: "row completed", method: "GET", path: status, header: auth, advance: time.Hour, want: 200, check: rows("completed")},
	})
}

// TestPostHogPartial: the partial fault answers bulk_delete 202 with the person in
// deletion_errors, not deleted and nothing queued.
func TestPostHogPartial(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"posthog","mode":"partial"}`)
	person := "0190f1e2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
	r := e.do(t, "POST", "/posthog/api/projects/7/persons/bulk_delete/", `{"ids":["`+person+`"],"delete_events":true,"delete_recordings":true}`,
		"Authorization", "Bearer phx_key")
	if r.status != 202 {
		t.Fatalf("status %d, want 202", r.status)
	}
	jsonEqual(t, r.body, `{"persons_found":1,"persons_deleted":0,"events_queued_for_deletion":false,"recordings_queued_for_deletion":false,
		"deletion_errors":[{"person_uuid":"`+person+`","step":"delete_person"}]}`)
}
