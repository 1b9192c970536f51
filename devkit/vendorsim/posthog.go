package vendorsim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

const posthogMaxIDs = 1000

// posthogState is what PostHog remembers (docs/vendors/posthog.md). Every person exists until
// deleted, so tests need no seeding; a distinct_id maps to a stable person UUID.
type posthogState struct {
	deleted   map[string]bool // project + "/" + person UUID
	deletions []*posthogDeletion
	// byPerson indexes deletions by project + "/" + person UUID: the simulator answers
	// every vendor under one lock, so a lookup must not walk every deletion ever queued.
	byPerson map[string]*posthogDeletion
}

func newPosthogState() posthogState {
	return posthogState{deleted: map[string]bool{}, byPerson: map[string]*posthogDeletion{}}
}

// posthogDeletion is a queued event deletion, unique per person.
type posthogDeletion struct {
	project     string
	personUUID  string
	distinctIDs []string
	created     time.Time
}

// posthogError writes PostHog's DRF error shape (type, code, detail, attr).
func posthogError(w http.ResponseWriter, status int, detail string) {
	typ, code := "server_error", "error"
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		typ, code = "validation_error", "invalid_input"
	case http.StatusUnauthorized:
		typ, code = "authentication_error", "not_authenticated"
	case http.StatusNotFound:
		typ, code = "invalid_request", "not_found"
	case http.StatusMethodNotAllowed:
		typ, code = "invalid_request", "method_not_allowed"
	case http.StatusTooManyRequests:
		typ, code = "throttled_error", "throttled"
	}
	writeJSON(w, status, map[string]any{"type": typ, "code": code, "detail": detail, "attr": nil})
}

func posthogAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if authToken(r, "Bearer") == "" {
		posthogError(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
		return false
	}
	return true
}

func (s *Simulator) posthogBulkDelete(w http.ResponseWriter, r *http.Request) {
	if !posthogAuthorized(w, r) {
		return
	}
	project := r.PathValue("project")
	var req struct {
		DistinctIDs      []string `json:"distinct_ids"`
		IDs              []string `json:"ids"`
		DeleteEvents     bool     `json:"delete_events"`
		DeleteRecordings bool     `json:"delete_recordings"`
		KeepPerson       bool     `json:"keep_person"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		posthogError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case len(req.DistinctIDs) > 0 && len(req.IDs) > 0:
		posthogError(w, http.StatusBadRequest, "Provide either distinct_ids or ids, not both.")
		return
	case len(req.DistinctIDs) == 0 && len(req.IDs) == 0:
		posthogError(w, http.StatusBadRequest, "You must provide either distinct_ids or ids.")
		return
	case len(req.DistinctIDs) > posthogMaxIDs || len(req.IDs) > posthogMaxIDs:
		posthogError(w, http.StatusBadRequest, "You can only delete up to 1000 persons at a time.")
		return
	}
	// persons in request order, so queued deletions list in a repeatable order;
	// named maps each to the distinct_ids given for it, if any.
	var persons []string
	named := map[string][]string{}
	for _, d := range req.DistinctIDs {
		if d == "" {
			posthogError(w, http.StatusBadRequest, "distinct_ids must not hold an empty id")
			return
		}
		u := posthogPersonUUID(project, d)
		if _, seen := named[u]; !seen {
			persons = append(persons, u)
		}
		named[u] = append(named[u], d)
	}
	for _, id := range req.IDs {
		if !isUUID(id) {
			posthogError(w, http.StatusBadRequest, "ids must be person UUIDs")
			return
		}
		if u := strings.ToLower(id); !slices.Contains(persons, u) {
			persons = append(persons, u)
		}
	}

	now := s.now()
	found, deleted := 0, 0
	failed := []map[string]any{}
	s.mu.Lock()
	for _, u := range persons {
		if s.state.posthog.deleted[project+"/"+u] {
			continue // already gone: the repeat reports persons_found 0
		}
		found++
		if partial(r) && len(failed) == 0 {
			// "Persons that could not be deleted" (docs/vendors/posthog.md): the person
			// stays, nothing of theirs is queued.
			failed = append(failed, map[string]any{"person_uuid": u, "step": "delete_person"})
			continue
		}
		if !req.KeepPerson {
			s.state.posthog.deleted[project+"/"+u] = true
			deleted++
		}
		if req.DeleteEvents {
			s.state.posthog.queue(project, u, named[u], now)
		}
	}
	s.mu.Unlock()
	queued := found > len(failed)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"persons_found":                  found,
		"persons_deleted":                deleted,
		"events_queued_for_deletion":     req.DeleteEvents && queued,
		"recordings_queued_for_deletion": req.DeleteRecordings && queued,
		"deletion_errors":                failed,
	})
}

// posthogDelete is the single-person delete: 202 with no body, 404 once gone.
func (s *Simulator) posthogDelete(w http.ResponseWriter, r *http.Request) {
	if !posthogAuthorized(w, r) {
		return
	}
	project, u := r.PathValue("project"), strings.ToLower(r.PathValue("uuid"))
	now := s.now()
	s.mu.Lock()
	gone := !isUUID(u) || s.state.posthog.deleted[project+"/"+u]
	if !gone {
		s.state.posthog.deleted[project+"/"+u] = true
		if r.URL.Query().Get("delete_events") == "true" {
			s.state.posthog.queue(project, u, nil, now)
		}
	}
	s.mu.Unlock()
	if gone {
		posthogError(w, http.StatusNotFound, "Person not found.")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// queue adds an event deletion unless one exists for the person already; PostHog
// keeps them unique per person, so a repeat request does not queue a second.
func (st *posthogState) queue(project, personUUID string, distinctIDs []string, now time.Time) {
	if _, ok := st.byPerson[project+"/"+personUUID]; ok {
		return
	}
	d := &posthogDeletion{project: project, personUUID: personUUID, distinctIDs: slices.Clone(distinctIDs), created: now}
	st.deletions = append(st.deletions, d)
	st.byPerson[project+"/"+personUUID] = d
}

type posthogDeletionJSON struct {
	PersonUUID       string   `json:"person_uuid"`
	DistinctIDs      []string `json:"distinct_ids,omitempty"`
	Status           string   `json:"status"`
	CreatedAt        string   `json:"created_at"`
	DeleteVerifiedAt *string  `json:"delete_verified_at"`
}

// posthogDeletionStatus lists queued event deletions. A row appears PostHogStatusLag
// after its deletion was queued (newer PostHog queues before any row exists) and
// completes JobDelay later, standing in for PostHog's weekly batch.
func (s *Simulator) posthogDeletionStatus(w http.ResponseWriter, r *http.Request) {
	if !posthogAuthorized(w, r) {
		return
	}
	project := r.PathValue("project")
	q := r.URL.Query()
	want := q.Get("status")
	switch want {
	case "":
		want = "all"
	case "pending", "completed", "all":
	default:
		posthogError(w, http.StatusBadRequest, "status must be pending, completed or all")
		return
	}
	person := strings.ToLower(q.Get("person_uuid"))
	now := s.now()
	results := []posthogDeletionJSON{}
	s.mu.Lock()
	candidates := s.state.posthog.deletions
	if person != "" {
		candidates = nil
		if d, ok := s.state.posthog.byPerson[project+"/"+person]; ok {
			candidates = []*posthogDeletion{d}
		}
	}
	for _, d := range candidates {
		if d.project != project {
			continue
		}
		appears := d.created.Add(s.posthogStatusLag)
		if now.Before(appears) {
			continue
		}
		row := posthogDeletionJSON{PersonUUID: d.personUUID, DistinctIDs: slices.Clone(d.distinctIDs), Status: "pending", CreatedAt: stamp(appears)}
		if done := appears.Add(s.jobDelay); !now.Before(done) {
			at := stamp(done)
			row.Status, row.DeleteVerifiedAt = "completed", &at
		}
		if want == "all" || want == row.Status {
			results = append(results, row)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": len(results), "next": nil, "previous": nil, "results": results})
}

// posthogPersons lists persons, filtered by ?distinct_id= as integrations look a person
// up before deleting it, as PostHog documents for finding a person. A deleted person is no longer listed.
func (s *Simulator) posthogPersons(w http.ResponseWriter, r *http.Request) {
	if !posthogAuthorized(w, r) {
		return
	}
	project := r.PathValue("project")
	d := r.URL.Query().Get("distinct_id")
	if d == "" {
		posthogError(w, http.StatusBadRequest, "the simulator lists persons by distinct_id only")
		return
	}
	u := posthogPersonUUID(project, d)
	s.mu.Lock()
	gone := s.state.posthog.deleted[project+"/"+u]
	s.mu.Unlock()
	results := []any{}
	if !gone {
		results = append(results, map[string]any{"id": u, "uuid": u, "distinct_ids": []string{d}, "properties": map[string]any{}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"next": nil, "previous": nil, "results": results})
}

// posthogPersonUUID is the person a distinct_id belongs to in a project.
func posthogPersonUUID(project, distinctID string) string {
	return stableUUID("posthog", project, distinctID)
}
