package vendorsim

import (
	"net/http"
	"strconv"
	"time"
)

// fullstoryState is what FullStory remembers (docs/vendors/fullstory.md). Every user exists until
// deleted; a deleted user is "being deleted" for JobDelay and then gone.
type fullstoryState struct {
	deletedAt map[string]time.Time // FullStory user id -> when deletion was requested
	uids      map[string]string    // FullStory user id -> uid, so reads by id can show it
}

func newFullstoryState() fullstoryState {
	return fullstoryState{deletedAt: map[string]time.Time{}, uids: map[string]string{}}
}

// fullstoryError writes FullStory's {"message","code"} shape with a snake_case code.
func fullstoryError(w http.ResponseWriter, status int, msg string) {
	code := "internal"
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = "invalid_argument"
	case http.StatusUnauthorized:
		code = "unauthorized"
	case http.StatusNotFound:
		code = "resource_not_found"
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case http.StatusTooManyRequests:
		code = "too_many_requests"
	case http.StatusServiceUnavailable:
		code = "unavailable"
	}
	writeJSON(w, status, map[string]string{"message": msg, "code": code})
}

// fullstoryUser authorizes the request and names the user it is about, by FullStory id
// (path) or by uid (query), or writes the error.
func (s *Simulator) fullstoryUser(w http.ResponseWriter, r *http.Request) (id, uid string, ok bool) {
	// "Basic <API key>": the raw key, not base64 of user:pass.
	if authToken(r, "Basic") == "" {
		fullstoryError(w, http.StatusUnauthorized, "missing or malformed API key")
		return "", "", false
	}
	if id = r.PathValue("id"); id != "" {
		s.mu.Lock()
		uid = s.state.fullstory.uids[id]
		s.mu.Unlock()
		return id, uid, true
	}
	uid = r.URL.Query().Get("uid")
	if uid == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "uid is required", "code": "required_field"})
		return "", "", false
	}
	id = stableID("fullstory", uid)[:16]
	s.mu.Lock()
	s.state.fullstory.uids[id] = uid
	s.mu.Unlock()
	return id, uid, true
}

// fullstoryPhase reports whether the user is being deleted or already gone.
func (s *Simulator) fullstoryPhase(id string, now time.Time) (deleting, gone bool) {
	at, deleting := s.state.fullstory.deletedAt[id]
	return deleting, deleting && !now.Before(at.Add(s.jobDelay))
}

// fullstoryDelete answers 200 {} while the user exists or is being deleted, and 404
// once deletion finished: the "already done" reply.
func (s *Simulator) fullstoryDelete(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.fullstoryUser(w, r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	deleting, gone := s.fullstoryPhase(id, now)
	if !deleting {
		s.state.fullstory.deletedAt[id] = now
	}
	s.mu.Unlock()
	if gone {
		fullstoryError(w, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// fullstoryGet reads a user. By FullStory id (GET /v2/users/{id}, GetUser) it answers
// the user, 404 once gone; by uid (GET /v2/users?uid=, ListUsers in FullStory's spec) it
// answers the list shape, with no results once the user is gone
// (docs/vendors/fullstory.md).
func (s *Simulator) fullstoryGet(w http.ResponseWriter, r *http.Request) {
	id, uid, ok := s.fullstoryUser(w, r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	deleting, gone := s.fullstoryPhase(id, now)
	s.mu.Unlock()
	user := map[string]any{"id": id, "uid": uid, "is_being_deleted": deleting}
	if r.PathValue("id") != "" {
		if gone {
			fullstoryError(w, http.StatusNotFound, "user not found")
			return
		}
		writeJSON(w, http.StatusOK, user)
		return
	}
	results := []any{}
	if !gone {
		results = append(results, user)
	}
	// total_records is a string: the spec types it as int64, which proto3 JSON writes
	// as a string.
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "total_records": strconv.Itoa(len(results)), "next_page_token": ""})
}
