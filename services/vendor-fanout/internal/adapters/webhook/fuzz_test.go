package webhook_test

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/webhook"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// FuzzDeliver answers a signed delivery with any status, Retry-After and body (in-house
// bodies are free text that may echo the payload, identifiers included), and checks the
// adapter's promises (vendortest.CheckDelivery).
func FuzzDeliver(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := webhook.New(webhook.Config{URL: v.URL + "/consentry", Keys: keys, HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		action     uint8
		status     uint16
		retryAfter string
		body       string
	}{
		{0, 200 - 200, "", `{"ok":true}`},
		{4, 204 - 200, "", ``},
		{1, 400 - 200, "", `bad payload: {"identifiers":{"email":"ada.lovelace+fuzz@example.com","subject_id":"subject-8d41f0c2"}}`},
		{2, 409 - 200, "", `duplicate`},
		{3, 429 - 200, "120", ``},
		{0, 503 - 200, "Mon, 02 Mar 2026 10:05:00 GMT", `maintenance`},
		{0, 401 - 200, "", `signature mismatch`},
	} {
		f.Add(s.action, s.status, s.retryAfter, []byte(s.body))
	}
	actions := []vendor.Action{vendor.DeleteUser, vendor.OptOut, vendor.SuppressEmail, vendor.Restrict, vendor.UpdateConsent}
	f.Fuzz(func(t *testing.T, action uint8, status uint16, retryAfter string, body []byte) {
		req := vendortest.FuzzRequest(actions[int(action)%len(actions)])
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status), Header: vendortest.FuzzHeader(retryAfter, ""), Body: body})
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.PII(req)...)
	})
}

// FuzzVerify: Verify never panics, classifies every refusal, and accepts a request only
// when one of its signatures is one Consentry's key makes for the same id, timestamp and
// body, inside the window — no one-byte change of it, no other timestamp or body.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	body := []byte(`{"event_id":"019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6","action":"delete_user"}`)
	good := keys.Signature("msg_1", now, body)
	f.Add("msg_1", now.Unix(), body, good, uint16(0), byte('0'))
	f.Add("msg_1", now.Unix()-300, body, good, uint16(1), byte('f'))
	f.Add("msg.1", now.Unix()+301, []byte{}, "v1a,", uint16(63), byte('A'))
	f.Add("", int64(0), body, "v1,zz", uint16(64), byte('='))
	f.Add("m", int64(-1<<63), body, "v2,"+good[4:], uint16(70), byte('v'))
	f.Add("msg_1", int64(1<<62), body, good+" "+good, uint16(5), byte(' '))
	f.Fuzz(func(t *testing.T, id string, ts int64, body []byte, sig string, pos uint16, ch byte) {
		header := func(ts int64, sig string) http.Header {
			return headers(id, strconv.FormatInt(ts, 10), sig)
		}
		want := keys.Signature(id, time.Unix(ts, 0), body)
		skew := now.Sub(time.Unix(ts, 0))
		fresh := skew <= window && skew >= -window
		wellFormed := id != "" && !strings.Contains(id, ".")

		err := webhook.Verify(trusted, header(ts, sig), body, now, window)
		if err == nil && !slices.Contains(strings.Fields(sig), want) {
			t.Errorf("verified %q; the key makes %q", sig, want)
		}
		if err != nil && !errors.Is(err, webhook.ErrMissingHeaders) && !errors.Is(err, webhook.ErrMalformedSignature) &&
			!errors.Is(err, webhook.ErrStale) && !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("unclassified error %v", err)
		}
		if !wellFormed {
			return
		}
		switch err := webhook.Verify(trusted, header(ts, want), body, now, window); {
		case fresh && err != nil:
			t.Errorf("the key's own signature, %v from now: %v", skew, err)
		case !fresh && !errors.Is(err, webhook.ErrStale):
			t.Errorf("a signature %v from now: %v, want ErrStale", skew, err)
		}
		if !fresh {
			return
		}
		b := []byte(want)
		b[len(b)-1-int(pos)%len(b)] = ch
		if tampered := string(b); tampered != want && webhook.Verify(trusted, header(ts, tampered), body, now, window) == nil {
			t.Errorf("verified %q, a one-byte change of %q", tampered, want)
		}
		if webhook.Verify(trusted, header(ts, other.Signature(id, time.Unix(ts, 0), body)), body, now, window) == nil {
			t.Error("verified a signature by an untrusted key")
		}
		if webhook.Verify(trusted, header(ts+1, want), body, now, window) == nil || webhook.Verify(trusted, header(ts, want), append(body, ' '), now, window) == nil {
			t.Error("verified a signature for another timestamp or body")
		}
	})
}

// headers builds a request's signature headers as a sender sets them (canonical names).
func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, ts)
	h.Set(webhook.HeaderSignature, sig)
	return h
}
