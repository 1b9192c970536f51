package vendorsim_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/webhooksig"
)

func signingKeys(t *testing.T, spec string) *webhooksig.Keys {
	t.Helper()
	ks, err := webhooksig.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func seed(b byte) string {
	return "whsk_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func TestWebhook(t *testing.T) {
	clock := newClock()
	end := clock.Now().Add(time.Hour)
	consentry := signingKeys(t, "k2:"+seed(2)+",k1:"+seed(1)+"@"+end.Format(time.RFC3339))
	previous := signingKeys(t, "k1:"+seed(1))
	other := signingKeys(t, "k1:"+seed(9)) // a key the receiver was never given
	// The receiver trusts what Consentry serves: k2, and k1 until end.
	e := start(t, vendorsim.Options{Now: clock.Now, WebhookKeys: consentry.Public(clock.Now()).Keys})
	now := clock.Now()
	const body = `{"event":"opt_out","subject":"abc"}`
	sign := func(ks *webhooksig.Keys, at time.Time, signed string) []string {
		h := http.Header{}
		ks.SetHeaders(h, "msg_1", at, []byte(signed))
		var out []string
		for _, k := range []string{webhooksig.HeaderID, webhooksig.HeaderTimestamp, webhooksig.HeaderSignature} {
			out = append(out, k, h.Get(k))
		}
		return out
	}
	tests := []struct {
		name   string
		body   string
		header []string
		at     time.Time // the simulator's clock when the request arrives
		want   int
	}{
		{"valid", body, sign(consentry, now, body), now, 204},
		{"valid within the window", body, sign(consentry, now.Add(-4*time.Minute), body), now, 204},
		{"previous key inside its rotation window", body, sign(previous, now, body), now, 204},
		{"previous key after its rotation window", body, sign(previous, end.Add(time.Minute), body), end.Add(time.Minute), 401},
		{"tampered body", `{"event":"opt_in","subject":"abc"}`, sign(consentry, now, body), now, 401},
		{"untrusted key", body, sign(other, now, body), now, 401},
		{"stale", body, sign(consentry, now.Add(-6*time.Minute), body), now, 401},
		{"from the future", body, sign(consentry, now.Add(6*time.Minute), body), now, 401},
		{"no headers", body, nil, now, 401},
		{"hmac scheme", body, func() []string {
			h := sign(consentry, now, body)
			h[5] = "v1," + strings.SplitN(h[5], ",", 2)[1][:44]
			return h
		}(), now, 401},
		{"signed but not JSON", `not json`, sign(consentry, now, `not json`), now, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.at.Sub(clock.Now()))
			r := e.do(t, "POST", "/webhook/lusha", tc.body, tc.header...)
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.want, r.body)
			}
			if tc.want != 204 {
				if msg := decode[map[string]string](t, r.body)["error"]; msg == "" {
					t.Errorf("error body = %s, want {\"error\": ...}", r.body)
				}
			}
		})
	}
	if r := e.do(t, "GET", "/webhook/lusha", ""); r.status != 405 {
		t.Errorf("GET = %d, want 405", r.status)
	}
}
