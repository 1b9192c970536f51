package vendortest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Answer is one reply of a fuzzed vendor.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// FuzzVendor is a vendor for fuzz targets: whatever is asked, it answers the n-th call
// since the last Reply with the n-th answer (the last one repeats), at once. Fuzz
// iterations run one at a time, so one server serves a whole target.
type FuzzVendor struct {
	// URL is the server's root; any path is answered.
	URL string
	// Clock is the adapters' clock; it never moves.
	Clock *Clock
	// HTTP is a client with a short timeout, for the adapters.
	HTTP *http.Client

	mu      sync.Mutex
	answers []Answer
	calls   int
}

// StartFuzzVendor serves a FuzzVendor on a loopback listener until the target ends.
func StartFuzzVendor(tb testing.TB) *FuzzVendor {
	tb.Helper()
	v := &FuzzVendor{Clock: NewClock(), HTTP: &http.Client{Timeout: 5 * time.Second}}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	tb.Cleanup(srv.Close)
	v.URL = srv.URL
	return v
}

// Reply sets the answers to the next calls.
func (v *FuzzVendor) Reply(answers ...Answer) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.answers, v.calls = answers, 0
}

// Calls returns how many calls were answered since the last Reply.
func (v *FuzzVendor) Calls() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

func (v *FuzzVendor) serve(w http.ResponseWriter, _ *http.Request) {
	v.mu.Lock()
	a := Answer{Status: http.StatusNotImplemented}
	if n := len(v.answers); n > 0 {
		a = v.answers[min(v.calls, n-1)]
	}
	v.calls++
	v.mu.Unlock()
	for k, vv := range a.Header {
		w.Header()[k] = vv
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// FuzzStatus maps a fuzzed number onto a final status a server can send, 200 to 599.
func FuzzStatus(n uint16) int { return 200 + int(n)%400 }

// FuzzHeader returns the throttling headers vendors send, each only when not empty.
func FuzzHeader(retryAfter, rateLimitReset string) http.Header {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	if rateLimitReset != "" {
		h.Set("X-RateLimit-Reset", rateLimitReset)
	}
	return h
}

// FuzzRequest is a delivery whose identifiers are distinctive enough that finding one
// in an error cannot be a coincidence.
func FuzzRequest(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6:fuzz:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "3f1c2a9e0b7d4c5f",
		IDs: vendor.Identifiers{
			SubjectID:   "subject-8d41f0c2",
			Email:       "ada.lovelace+fuzz@example.com",
			AnonymousID: "anon-77f3e1b9",
			VendorIDs: map[string]string{
				"amplitude": "amp-user-5c0e", "fullstory": "fs-uid-91d2", "posthog": "ph-distinct-4b7a",
				"salesforce": "003Dn00000FuzzAAA", "hubspot": "hs-contact-2f88",
			},
		},
		EventID:    "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6",
		OccurredAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Purposes:   map[string]string{schemas.PurposeAnalytics: schemas.Denied},
	}
}

// PII lists req's personal identifiers, which no error may hold.
func PII(req vendor.Request) []string {
	out := []string{req.IDs.SubjectID, req.IDs.Email, req.IDs.AnonymousID}
	for _, id := range req.IDs.VendorIDs {
		out = append(out, id)
	}
	return out
}

// ExceptCodes returns pii without the identifiers that a vendor's answer put under one
// of codeKeys: the keys whose values the adapter reports as the vendor's error code.
// Adapters pass codes through on trust (vendor.Error: "status, vendor error code") and
// never messages, which echo the request; an identifier the vendor itself wrote into a
// code is the vendor's doing, not an echo by the adapter. Keys match in any case, as
// encoding/json matches them.
func ExceptCodes(pii []string, codeKeys []string, bodies ...[]byte) []string {
	var codes []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, inner := range v {
				if s, ok := inner.(string); ok && slices.ContainsFunc(codeKeys, func(c string) bool { return strings.EqualFold(c, k) }) {
					codes = append(codes, strings.ToLower(s))
				}
				walk(inner)
			}
		case []any:
			for _, inner := range v {
				walk(inner)
			}
		}
	}
	for _, b := range bodies {
		var v any
		if json.Unmarshal(b, &v) == nil {
			walk(v)
		}
	}
	return slices.DeleteFunc(slices.Clone(pii), func(id string) bool {
		return slices.ContainsFunc(codes, func(code string) bool { return strings.Contains(code, strings.ToLower(id)) })
	})
}

// CheckDelivery checks what an adapter promises whatever the vendor answered: an
// error is a context error or a classified *vendor.Error without a personal identifier,
// with a wait only when throttled and never a negative or absurd one; success is a
// known outcome whose detail names no one.
func CheckDelivery(tb testing.TB, res vendor.Result, err error, pii ...string) {
	tb.Helper()
	if err != nil {
		if res != (vendor.Result{}) {
			tb.Errorf("error %v comes with the result %+v", err, res)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		var ve *vendor.Error
		if !errors.As(err, &ve) {
			tb.Fatalf("error %v (%T) is neither a *vendor.Error nor a context error", err, err)
		}
		switch ve.Kind {
		case vendor.Transient, vendor.Throttled, vendor.Auth, vendor.Permanent:
		default:
			tb.Errorf("error %+v has an unknown kind", ve)
		}
		if ve.RetryAfter < 0 || ve.RetryAfter > vendor.MaxRetryAfter || (ve.RetryAfter != 0 && ve.Kind != vendor.Throttled) {
			tb.Errorf("error %+v: a wait of %v", ve, ve.RetryAfter)
		}
		if ve.Msg == "" && ve.HTTPStatus == 0 {
			tb.Errorf("error %+v says nothing", ve) // an unnamed status (e.g. 577) speaks for itself
		}
		NoPII(tb, err, pii...)
		return
	}
	switch res.Outcome {
	case vendor.Delivered, vendor.Accepted, vendor.Completed, vendor.AlreadyDone, vendor.Skipped:
	default:
		tb.Errorf("result %+v has an unknown outcome", res)
	}
	if res.Detail != "" {
		NoPII(tb, errors.New(res.Detail), pii...)
	}
}

// CheckPoll checks a Poll's answer like CheckDelivery.
func CheckPoll(tb testing.TB, done bool, err error, pii ...string) {
	tb.Helper()
	if err != nil && done {
		tb.Errorf("done and the error %v", err)
	}
	res := vendor.Result{Outcome: vendor.Completed}
	if err != nil {
		res = vendor.Result{}
	}
	CheckDelivery(tb, res, err, pii...)
}
