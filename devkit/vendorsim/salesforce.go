package vendorsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// salesforceDailyLimit is the allocation shown in Sforce-Limit-Info; only the shape
// matters to adapters, which may log or back off on it.
const salesforceDailyLimit = 15000

// salesforceState is what Salesforce remembers (docs/vendors/salesforce.md). Every record exists
// until deleted.
type salesforceState struct {
	// deleted holds records a REST DELETE moved to the Recycle Bin: gone from the API,
	// still restorable. erased holds records a Bulk API 2.0 hardDelete job removed for
	// good (docs/vendors/salesforce.md).
	deleted map[string]bool // object + "/" + id
	erased  map[string]bool
	jobs    map[string]*salesforceJob
	jobSeq  int
	usage   int // calls so far, for Sforce-Limit-Info
}

// salesforceError writes Salesforce's error array with a status-derived errorCode.
func salesforceError(w http.ResponseWriter, status int, msg string) {
	code := "UNKNOWN_EXCEPTION"
	switch status {
	case http.StatusBadRequest:
		code = "INVALID_FIELD"
	case http.StatusUnauthorized:
		code = "INVALID_SESSION_ID"
	case http.StatusNotFound:
		code = "NOT_FOUND"
	case http.StatusMethodNotAllowed:
		code = "METHOD_NOT_ALLOWED"
	case http.StatusRequestEntityTooLarge:
		code = "REQUEST_ENTITY_TOO_LARGE"
	case http.StatusServiceUnavailable:
		code = "SERVER_UNAVAILABLE"
	}
	salesforceErrorCode(w, status, code, msg)
}

func salesforceErrorCode(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []map[string]string{{"message": msg, "errorCode": code}})
}

// salesforceThrottle is how Salesforce says "over the limit": 403, not 429, and no
// Retry-After whatever the fault asked for.
func salesforceThrottle(w http.ResponseWriter, _ int) {
	salesforceErrorCode(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
}

// salesforceHeaders counts the call and reports usage, as every response does.
func (s *Simulator) salesforceHeaders(w http.ResponseWriter) {
	s.mu.Lock()
	s.state.salesforce.usage++
	used := s.state.salesforce.usage
	s.mu.Unlock()
	w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.Itoa(min(used, s.sfLimit))+"/"+strconv.Itoa(s.sfLimit))
}

// salesforceSpent refuses calls past the org's allocation the way Salesforce does: 403
// REQUEST_LIMIT_EXCEEDED, no Retry-After (docs/vendors/salesforce.md).
func (s *Simulator) salesforceSpent(w http.ResponseWriter) bool {
	s.mu.Lock()
	over := s.state.salesforce.usage > s.sfLimit
	s.mu.Unlock()
	if over {
		salesforceThrottle(w, 0)
	}
	return over
}

// salesforceRecord authorizes the request and returns the record key, or writes the
// error. Only Contact and Lead are served: the objects that carry HasOptedOutOfEmail.
func salesforceRecord(w http.ResponseWriter, r *http.Request) (string, bool) {
	if authToken(r, "Bearer") == "" {
		salesforceError(w, http.StatusUnauthorized, "Session expired or invalid")
		return "", false
	}
	object := r.PathValue("object")
	if !salesforceVersion(r.PathValue("version")) || (object != "Contact" && object != "Lead") {
		salesforceError(w, http.StatusNotFound, "The requested resource does not exist")
		return "", false
	}
	return object + "/" + r.PathValue("id"), true
}

// salesforceVersion reports whether v looks like "v60.0".
func salesforceVersion(v string) bool {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	_, err1 := strconv.ParseUint(major, 10, 16)
	_, err2 := strconv.ParseUint(minor, 10, 16)
	return strings.HasPrefix(v, "v") && ok && err1 == nil && err2 == nil
}

// salesforceUpdate is the PATCH that sets e.g. HasOptedOutOfEmail: 204.
func (s *Simulator) salesforceUpdate(w http.ResponseWriter, r *http.Request) {
	key, ok := salesforceRecord(w, r)
	if !ok {
		return
	}
	var fields map[string]json.RawMessage
	if err := decodeJSON(r.Body, &fields); err != nil || fields == nil {
		salesforceErrorCode(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
		return
	}
	if raw, ok := fields["HasOptedOutOfEmail"]; ok {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			salesforceErrorCode(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Cannot deserialize instance of boolean from HasOptedOutOfEmail")
			return
		}
	}
	s.mu.Lock()
	gone := s.state.salesforce.deleted[key] || s.state.salesforce.erased[key]
	s.mu.Unlock()
	if gone {
		salesforceError(w, http.StatusNotFound, "The requested resource does not exist")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// salesforceDelete answers 204, then 404 NOT_FOUND for the same id.
func (s *Simulator) salesforceDelete(w http.ResponseWriter, r *http.Request) {
	key, ok := salesforceRecord(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	gone := s.state.salesforce.deleted[key] || s.state.salesforce.erased[key]
	s.state.salesforce.deleted[key] = true
	s.mu.Unlock()
	if gone {
		salesforceError(w, http.StatusNotFound, "The requested resource does not exist")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
