package vendorsim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestWebhook(t *testing.T) {
	secret := []byte("whsec-test")
	e := start(t, vendorsim.Options{WebhookSecrets: map[string][]byte{"k1": secret}})
	now := e.clock.Now()
	const body = `{"event":"opt_out","subject":"abc"}`
	sign := func(keyID string, key []byte, at time.Time, signed string) []string {
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(ts + "." + signed))
		return []string{
			"X-Consentry-Key-Id", keyID,
			"X-Consentry-Timestamp", ts,
			"X-Consentry-Signature", "v1=" + hex.EncodeToString(mac.Sum(nil)),
		}
	}
	tests := []struct {
		name   string
		body   string
		header []string
		want   int
	}{
		{"valid", body, sign("k1", secret, now, body), 204},
		{"valid within the window", body, sign("k1", secret, now.Add(-4*time.Minute), body), 204},
		{"tampered body", `{"event":"opt_in","subject":"abc"}`, sign("k1", secret, now, body), 401},
		{"wrong secret", body, sign("k1", []byte("other"), now, body), 401},
		{"unknown key", body, sign("k2", secret, now, body), 401},
		{"stale", body, sign("k1", secret, now.Add(-6*time.Minute), body), 401},
		{"from the future", body, sign("k1", secret, now.Add(6*time.Minute), body), 401},
		{"no headers", body, nil, 401},
		{"no v1 prefix", body, func() []string { h := sign("k1", secret, now, body); h[5] = h[5][3:]; return h }(), 401},
		{"signed but not JSON", `not json`, sign("k1", secret, now, `not json`), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
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
