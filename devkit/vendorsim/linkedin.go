package vendorsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

// linkedinSegmentUsers adds or removes hashed members of a DMP segment (vendors.md §6).
// Nothing is stored: the answer does not depend on membership, and LinkedIn does not
// document what removing a non-member does.
func (s *Simulator) linkedinSegmentUsers(w http.ResponseWriter, r *http.Request) {
	if authToken(r, "Bearer") == "" {
		linkedinError(w, http.StatusUnauthorized, "Invalid access token")
		return
	}
	if msg := linkedinHeaderProblem(r.Header); msg != "" {
		linkedinError(w, http.StatusBadRequest, msg)
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
	w.WriteHeader(http.StatusNoContent)
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
