package vendorhttp_test

import (
	"bytes"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// answer has the shapes adapters decode: nested objects, arrays, a map keyed by the
// vendor (SendGrid keys its search answer by address) and pointers.
type answer struct {
	Results []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"results"`
	Result map[string]struct {
		Contact *struct {
			ID string `json:"id"`
		} `json:"contact"`
	} `json:"result"`
	Found *int  `json:"persons_found"`
	Done  *bool `json:"is_being_deleted"`
}

// decodeProblem is every message Decode may give: fixed text, a byte offset, or a
// field path and a type of our own — never text from the answer, which holds no "@"
// in Go types and field names but does in the seeds (an echoed address).
var decodeProblem = regexp.MustCompile(`^unreadable answer: (invalid JSON at offset \d+|field "[a-z_.]*" is not a [^@]+|truncated JSON|invalid JSON)$`)

// FuzzDo has a vendor answer with any status, Retry-After and body, and checks what
// every adapter builds on: Do returns the answer whatever its status, body intact up to
// MaxBody; Decode fails as a Transient error that quotes nothing of the answer; Error
// classifies by the common rules with a bounded wait.
func FuzzDo(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	c := vendorhttp.NewClient(v.HTTP, v.Clock.Now, nil)
	for _, s := range []struct {
		status     uint16
		retryAfter string
		body       string
	}{
		{200 - 200, "", `{"results":[{"id":"018e5b7c","status":"completed"}],"persons_found":1}`},
		{200 - 200, "", `{"result":{"ada.lovelace+fuzz@example.com":{"contact":{"id":7}}}}`},
		{200 - 200, "", `{"result":{"ada.lovelace+fuzz@example.com":"ada.lovelace+fuzz@example.com"}}`},
		{202 - 200, "", `{"results":[{"id":"ada.lovelace+fuzz@example.com"}],"is_being_deleted":"ada.lovelace+fuzz@example.com"}`},
		{200 - 200, "", `{"results":[{"id":`},
		{200 - 200, "", `ada.lovelace+fuzz@example.com`},
		{429 - 200, "7", `{"message":"slow down, ada.lovelace+fuzz@example.com"}`},
		{429 - 200, "9999999999999", ``},
		{503 - 200, "Mon, 02 Mar 2026 10:00:30 GMT", `<html>`},
		{401 - 200, "", ``},
		{208 - 200, "", `null`},
	} {
		f.Add(s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte) {
		want := vendortest.FuzzStatus(status)
		v.Reply(vendortest.Answer{Status: want, Header: vendortest.FuzzHeader(retryAfter, ""), Body: body})
		resp, err := c.Do(t.Context(), vendorhttp.Request{Method: http.MethodPost, URL: v.URL + "/v3/contacts/ada.lovelace+fuzz@example.com", Body: map[string]string{"a": "b"}})
		if err != nil {
			// Only an answer net/http cannot read (a header with a control character)
			// fails the call: Transient, and without the URL, whose path holds an email.
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Transient || strings.Contains(err.Error(), "lovelace") {
				t.Fatalf("Do: %v, want a Transient *vendor.Error without the URL", err)
			}
			return
		}
		if resp.StatusCode != want || resp.OK() != (want < 300) {
			t.Errorf("status %d (ok %v), sent %d", resp.StatusCode, resp.OK(), want)
		}
		if sent := body[:min(len(body), vendorhttp.MaxBody)]; !bytes.Equal(resp.Body, sent) && want != http.StatusNoContent && want != http.StatusNotModified {
			t.Errorf("body %q, sent %q", resp.Body, sent)
		}

		var a answer
		if err := resp.Decode(&a); err != nil {
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Transient || ve.HTTPStatus != want || !decodeProblem.MatchString(ve.Msg) {
				t.Errorf("Decode error %#v: want a Transient *vendor.Error with a fixed message", err)
			}
		}

		e := resp.Error("", v.Clock.Now())
		kind := vendor.Permanent
		switch {
		case want == http.StatusTooManyRequests:
			kind = vendor.Throttled
		case want == http.StatusUnauthorized || want == http.StatusForbidden:
			kind = vendor.Auth
		case want == http.StatusRequestTimeout || want >= 500:
			kind = vendor.Transient
		}
		if e.Kind != kind || e.HTTPStatus != want || e.Msg != http.StatusText(want) {
			t.Errorf("Error() = %+v for status %d, want kind %s", e, want, kind)
		}
		if e.RetryAfter < 0 || e.RetryAfter > vendor.MaxRetryAfter || (kind != vendor.Throttled && e.RetryAfter != 0) {
			t.Errorf("Error() = %+v: a wait of %v", e, e.RetryAfter)
		}
		// Compare with what arrived: net/http rewrites some bytes of a header value.
		if got := resp.Header.Get("Retry-After"); kind == vendor.Throttled && e.RetryAfter != vendor.RetryAfter(got, v.Clock.Now()) {
			t.Errorf("Error() waits %v; Retry-After %q says %v", e.RetryAfter, got, vendor.RetryAfter(got, v.Clock.Now()))
		}
	})
}
