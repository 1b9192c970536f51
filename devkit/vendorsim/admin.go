package vendorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// simError is the /_sim error shape; field names the input at fault when there is one.
func simError(w http.ResponseWriter, status int, msg string) {
	simFieldError(w, status, "", msg)
}

func simFieldError(w http.ResponseWriter, status int, field, msg string) {
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	writeJSON(w, status, body)
}

// callJSON is the wire form of a Call. Body is a pointer so ?body=1 can show an empty
// body as "" rather than leaving the key out.
type callJSON struct {
	Vendor         string  `json:"vendor"`
	Method         string  `json:"method"`
	Path           string  `json:"path"`
	Query          string  `json:"query"`
	Status         int     `json:"status"`
	At             string  `json:"at"`
	IdempotencyKey string  `json:"idempotency_key"`
	BodySHA256     string  `json:"body_sha256"`
	Body           *string `json:"body,omitempty"`
}

func (s *Simulator) listCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	vendor := q.Get("vendor")
	if _, ok := s.vendors[vendor]; vendor != "" && !ok {
		simFieldError(w, http.StatusBadRequest, "vendor", fmt.Sprintf("unknown vendor %q; want one of %s", vendor, s.vendorNames()))
		return
	}
	withBody := q.Get("body") == "1"
	out := []callJSON{} // [] rather than null when nothing was called
	for _, c := range s.Calls() {
		if vendor != "" && c.Vendor != vendor {
			continue
		}
		cj := callJSON{
			Vendor: c.Vendor, Method: c.Method, Path: c.Path, Query: c.Query, Status: c.Status,
			At: c.At.UTC().Format(time.RFC3339Nano), IdempotencyKey: c.IdempotencyKey, BodySHA256: c.BodySHA256,
		}
		if withBody {
			b := string(c.Body)
			cj.Body = &b
		}
		out = append(out, cj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) deleteCalls(w http.ResponseWriter, _ *http.Request) {
	s.clearCalls()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.listFaults())
}

func (s *Simulator) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	dec := json.NewDecoder(r.Body)
	// Strict here, unlike the vendor endpoints: a typo such as "retry_after" would
	// otherwise silently leave a test without the fault it asked for.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		simFieldError(w, http.StatusBadRequest, jsonErrorField(err), "malformed fault: "+err.Error())
		return
	}
	if err := s.SetFault(f); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			simFieldError(w, http.StatusBadRequest, fe.Field, fe.Msg)
			return
		}
		simError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.listFaults())
}

// jsonErrorField names the field a decode error is about, when it is about one.
func jsonErrorField(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return typeErr.Field
	}
	// encoding/json has no typed error for unknown fields, only this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(name, `"`)
	}
	return ""
}

func (s *Simulator) postReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}
