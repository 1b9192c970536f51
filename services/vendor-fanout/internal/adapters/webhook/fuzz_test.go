package webhook_test

import (
	"errors"
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
	a, err := webhook.New(webhook.Config{URL: v.URL + "/consentry", KeyID: "k1", Secret: secret, HTTP: v.HTTP, Now: v.Clock.Now})
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

// FuzzVerify: Verify never panics and accepts exactly what Sign makes for the same
// secret, timestamp and body, inside the window — no other spelling of it, no one-byte
// change of it (counted from the end, where the hex digest is), no signature under
// another secret and no other timestamp.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	body := []byte(`{"event_id":"019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6","action":"delete_user"}`)
	good := webhook.Sign(secret, now.Unix(), body)
	f.Add(secret, now.Unix(), body, good, uint16(0), byte('0'))
	f.Add(secret, now.Unix()-300, body, good, uint16(1), byte('f'))
	f.Add(secret, now.Unix()+301, []byte{}, "v1=", uint16(63), byte('A'))
	f.Add([]byte{}, int64(0), body, "v1=zz", uint16(64), byte('='))
	f.Add([]byte("k"), int64(-1<<63), body, "v2="+good[3:], uint16(70), byte('v'))
	f.Add(secret, int64(1<<62), body, good+"00", uint16(5), byte(' '))
	f.Fuzz(func(t *testing.T, key []byte, ts int64, body []byte, sig string, pos uint16, ch byte) {
		want := webhook.Sign(key, ts, body)
		skew := now.Sub(time.Unix(ts, 0))
		fresh := skew <= window && skew >= -window

		err := webhook.Verify(key, ts, body, sig, now, window)
		if err == nil && sig != want {
			t.Errorf("verified %q; Sign makes %q", sig, want)
		}
		if err != nil && !errors.Is(err, webhook.ErrMalformedSignature) && !errors.Is(err, webhook.ErrStale) && !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("unclassified error %v", err)
		}

		switch err := webhook.Verify(key, ts, body, want, now, window); {
		case fresh && err != nil:
			t.Errorf("Sign's own signature, %v from now: %v", skew, err)
		case !fresh && !errors.Is(err, webhook.ErrStale):
			t.Errorf("a signature %v from now: %v, want ErrStale", skew, err)
		}
		if !fresh {
			return
		}
		b := []byte(want)
		b[len(b)-1-int(pos)%len(b)] = ch
		if tampered := string(b); tampered != want && webhook.Verify(key, ts, body, tampered, now, window) == nil {
			t.Errorf("verified %q, a one-byte change of %q", tampered, want)
		}
		other := append([]byte{'x'}, key...)
		if webhook.Verify(key, ts, body, webhook.Sign(other, ts, body), now, window) == nil {
			t.Error("verified a signature under another secret")
		}
		if webhook.Verify(key, ts+1, body, want, now, window) == nil || webhook.Verify(key, ts, append(body, ' '), want, now, window) == nil {
			t.Error("verified a signature for another timestamp or body")
		}
	})
}
