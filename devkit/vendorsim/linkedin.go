package vendorsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// linkedinMaxElements bounds one BATCH_CREATE; LinkedIn's DMP streaming limit.
const linkedinMaxElements = 5000

// linkedinError writes LinkedIn's REST error shape.
func linkedinError(w http.ResponseWriter, status int, msg string) {
	code := "INTERNAL_SERVER_ERROR"
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = "ILLEGAL_ARGUMENT"
	case http.StatusUnauthorized:
		code = "INVALID_ACCESS_TOKEN"
	case http.StatusNotFound:
		code = "NOT_FOUND"
	case http.StatusMethodNotAllowed:
		code = "METHOD_NOT_ALLOWED"
	case http.StatusTooManyRequests:
		code = "TOO_MANY_REQUESTS"
	case http.StatusServiceUnavailable:
		code = "SERVICE_UNAVAILABLE"
	}
	writeJSON(w, status, map[string]any{"status": status, "code": code, "message": msg})
}

// linkedinSunsets are the sunset dates LinkedIn's migrations page publishes
// (docs/vendors/linkedin.md, "Versioning"); other versions are served a year from the
// first of their month, the documented minimum.
var linkedinSunsets = map[string]time.Time{
	"202511": time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
	"202601": time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
	"202603": time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC),
}

// linkedinRetired reports whether LinkedIn no longer serves version (YYYYMM) at now.
func linkedinRetired(version string, now time.Time) bool {
	sunset, ok := linkedinSunsets[version]
	if !ok {
		released, err := time.Parse("200601", version)
		if err != nil {
			return false
		}
		sunset = released.AddDate(1, 0, 0)
	}
	return !now.Before(sunset)
}

// linkedinSegmentUsers adds or removes hashed members of a DMP segment (docs/vendors/linkedin.md).
// Nothing is stored: LinkedIn answers 201 for an element whether or not the member was
// in the segment ("remove an already deleted ID … by design", docs/vendors/linkedin.md).
func (s *Simulator) linkedinSegmentUsers(w http.ResponseWriter, r *http.Request) {
	if authToken(r, "Bearer") == "" {
		linkedinError(w, http.StatusUnauthorized, "Invalid access token")
		return
	}
	if msg := linkedinHeaderProblem(r.Header); msg != "" {
		linkedinError(w, http.StatusBadRequest, msg)
		return
	}
	if v := r.Header.Get("LinkedIn-Version"); linkedinRetired(v, s.now()) {
		// What LinkedIn answers a sunset version, as integrators report it (426,
		// NONEXISTENT_VERSION, the version as YYYYMMDD); its docs show no body.
		writeJSON(w, http.StatusUpgradeRequired, map[string]any{
			"status": http.StatusUpgradeRequired, "code": "NONEXISTENT_VERSION",
			"message": "Requested version " + v + "01 is not active"})
		return
	}
	if _, err := strconv.ParseUint(r.PathValue("segment"), 10, 64); err != nil {
		linkedinError(w, http.StatusBadRequest, "segment id must be numeric")
		return
	}
	var req struct {
		Elements []struct {
			Action  string `json:"action"`
			UserIDs []struct {
				IDType  string `json:"idType"`
				IDValue string `json:"idValue"`
			} `json:"userIds"`
		} `json:"elements"`
	}
	if err := decodeJSON(r.Body, &req); err != nil {
		linkedinError(w, http.StatusBadRequest, err.Error())
		return
	}
	if n := len(req.Elements); n == 0 || n > linkedinMaxElements {
		linkedinError(w, http.StatusBadRequest, fmt.Sprintf("elements must hold 1 to %d entries", linkedinMaxElements))
		return
	}
	for i, el := range req.Elements {
		if el.Action != "ADD" && el.Action != "REMOVE" {
			linkedinError(w, http.StatusBadRequest, fmt.Sprintf("elements[%d].action must be ADD or REMOVE", i))
			return
		}
		if len(el.UserIDs) == 0 {
			linkedinError(w, http.StatusBadRequest, fmt.Sprintf("elements[%d].userIds must not be empty", i))
			return
		}
		for j, id := range el.UserIDs {
			if msg := linkedinIDProblem(id.IDType, id.IDValue); msg != "" {
				linkedinError(w, http.StatusBadRequest, fmt.Sprintf("elements[%d].userIds[%d]: %s", i, j, msg))
				return
			}
		}
	}
	// BATCH_CREATE answers 200 with a status per element; the partial fault fails the
	// first one, as LinkedIn does an element it cannot take.
	elements := make([]map[string]any, len(req.Elements))
	for i := range elements {
		elements[i] = map[string]any{"status": http.StatusCreated}
	}
	rejection := map[string]any{"status": http.StatusBadRequest,
		"error": map[string]any{"status": http.StatusBadRequest, "code": "ILLEGAL_ARGUMENT", "message": "simulated element rejection"}}
	if partial(r) {
		elements[0] = rejection
	}
	if item := rejected(r); item != "" {
		for i, el := range req.Elements {
			for _, id := range el.UserIDs {
				if id.IDValue == item {
					elements[i] = rejection
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"elements": elements})
}

// linkedinHeaderProblem checks the Rest.li headers LinkedIn requires on this call.
func linkedinHeaderProblem(h http.Header) string {
	switch {
	case !strings.EqualFold(h.Get("X-RestLi-Method"), "BATCH_CREATE"):
		return "X-RestLi-Method must be BATCH_CREATE"
	case h.Get("X-Restli-Protocol-Version") != "2.0.0":
		return "X-Restli-Protocol-Version must be 2.0.0"
	}
	v := h.Get("LinkedIn-Version")
	if _, err := strconv.ParseUint(v, 10, 32); err != nil || len(v) != 6 || v[4:] < "01" || v[4:] > "12" {
		return "LinkedIn-Version must be YYYYMM"
	}
	return ""
}

// linkedinIDProblem validates one hashed identifier. Hashes must be lowercase hex:
// an uppercase or unhashed value matches no member, so the removal would silently fail.
func linkedinIDProblem(idType, value string) string {
	switch idType {
	case "SHA256_EMAIL":
		if !isLowerHex(value, 64) {
			return "idValue must be 64 lowercase hex digits for SHA256_EMAIL"
		}
	case "SHA512_EMAIL":
		if !isLowerHex(value, 128) {
			return "idValue must be 128 lowercase hex digits for SHA512_EMAIL"
		}
	case "GOOGLE_AID":
		if value == "" {
			return "idValue must not be empty"
		}
	default:
		return "idType must be SHA256_EMAIL, SHA512_EMAIL or GOOGLE_AID"
	}
	return ""
}
