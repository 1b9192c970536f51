// Package apierror gives every Consentry HTTP API one error shape and one mapping from
// error codes to HTTP statuses.
//
// Messages name the field at fault and what is wrong with it; they never repeat the value,
// which may be a personal identifier.
package apierror

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// Code classifies an error.
type Code string

const (
	Invalid      Code = "invalid"      // the request is malformed or a field is wrong
	Unauthorized Code = "unauthorized" // no valid credential
	Forbidden    Code = "forbidden"    // a valid credential that may not do this
	NotFound     Code = "not_found"
	Conflict     Code = "conflict" // e.g. an idempotency key reused with another body
	// StateConflict: the resource is not in a state that allows this (approving a request
	// already approved); fetch it again before deciding.
	StateConflict Code = "state_conflict"
	TooLarge      Code = "too_large"   // the body exceeds the limit
	Unavailable   Code = "unavailable" // a dependency is down; retry with the same idempotency key
	Internal      Code = "internal"
)

// FieldError names one field at fault.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an API error.
type Error struct {
	Code    Code         `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an error with a code and message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Fields returns an Invalid error listing every field at fault.
func Fields(fields []FieldError) *Error {
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: fields}
}

// Status maps a code to its HTTP status. It is the only place that does.
func Status(c Code) int {
	switch c {
	case Invalid:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusUnprocessableEntity
	case StateConflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Wrap returns an error that answers the client with code and msg while keeping cause
// for the log. The cause must not hold personal data (errors from Kafka, PostgreSQL and
// the key store do not).
func Wrap(code Code, msg string, cause error) error {
	return &wrapped{api: New(code, msg), cause: cause}
}

type wrapped struct {
	api   *Error
	cause error
}

func (e *wrapped) Error() string   { return e.api.Message + ": " + e.cause.Error() }
func (e *wrapped) Unwrap() []error { return []error{e.api, e.cause} }

// Write answers with err as JSON. An error that is not an *Error is logged and answered
// as a plain internal error, so no internal detail leaks to the client; a wrapped cause
// is logged too.
func Write(w http.ResponseWriter, log *slog.Logger, err error) {
	var e *Error
	switch {
	case !errors.As(err, &e):
		log.Error("request failed", "error", err)
		e = New(Internal, "internal error")
	case error(e) != err:
		log.Warn("request failed", "code", string(e.Code), "error", err)
	}
	if e.Code == Unavailable {
		w.Header().Set("Retry-After", "1")
	}
	if e.Code == Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="consentry"`)
	}
	JSON(w, Status(e.Code), map[string]*Error{"error": e})
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
