package vendorsim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestLinkedIn(t *testing.T) {
	sum := sha256.Sum256([]byte("ann@example.com"))
	hash := hex.EncodeToString(sum[:])
	body := func(action, idType, value string) string {
		return `{"elements":[{"action":"` + action + `","userIds":[{"idType":"` + idType + `","idValue":"` + value + `"}]}]}`
	}
	good := []string{
		"Authorization", "Bearer AQX-token",
		"X-RestLi-Method", "BATCH_CREATE",
		"X-Restli-Protocol-Version", "2.0.0",
		"LinkedIn-Version", "202406",
	}
	// without returns good minus one header.
	without := func(name string) []string {
		i := slices.Index(good, name)
		return slices.Concat(good[:i], good[i+2:])
	}
	with := func(name, value string) []string {
		h := slices.Clone(good)
		h[slices.Index(h, name)+1] = value
		return h
	}
	const path = "/linkedin/rest/dmpSegments/123456/users"
	tests := []struct {
		name   string
		path   string
		body   string
		header []string
		want   int
	}{
		{"remove", path, body("REMOVE", "SHA256_EMAIL", hash), good, 204},
		{"add", path, body("ADD", "SHA256_EMAIL", hash), good, 204},
		{"sha512", path, body("REMOVE", "SHA512_EMAIL", strings.Repeat("ab", 64)), good, 204},
		{"no auth", path, body("REMOVE", "SHA256_EMAIL", hash), without("Authorization"), 401},
		{"no method header", path, body("REMOVE", "SHA256_EMAIL", hash), without("X-RestLi-Method"), 400},
		{"wrong method header", path, body("REMOVE", "SHA256_EMAIL", hash), with("X-RestLi-Method", "CREATE"), 400},
		{"no protocol version", path, body("REMOVE", "SHA256_EMAIL", hash), without("X-Restli-Protocol-Version"), 400},
		{"no linkedin version", path, body("REMOVE", "SHA256_EMAIL", hash), without("LinkedIn-Version"), 400},
		{"bad linkedin version", path, body("REMOVE", "SHA256_EMAIL", hash), with("LinkedIn-Version", "2024-6"), 400},
		{"month 13", path, body("REMOVE", "SHA256_EMAIL", hash), with("LinkedIn-Version", "202413"), 400},
		{"uppercase hash", path, body("REMOVE", "SHA256_EMAIL", strings.ToUpper(hash)), good, 400},
		{"unhashed email", path, body("REMOVE", "SHA256_EMAIL", "ann@example.com"), good, 400},
		{"short hash", path, body("REMOVE", "SHA256_EMAIL", hash[:63]), good, 400},
		{"unknown id type", path, body("REMOVE", "EMAIL", hash), good, 400},
		{"unknown action", path, body("DELETE", "SHA256_EMAIL", hash), good, 400},
		{"no elements", path, `{"elements":[]}`, good, 400},
		{"no user ids", path, `{"elements":[{"action":"REMOVE","userIds":[]}]}`, good, 400},
		{"malformed", path, `{"elements":`, good, 400},
		{"segment not numeric", "/linkedin/rest/dmpSegments/seg-1/users", body("REMOVE", "SHA256_EMAIL", hash), good, 400},
	}
	e := start(t, vendorsim.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", tc.path, tc.body, tc.header...)
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.want, r.body)
			}
			if tc.want == 204 {
				emptyBody(t, r)
				return
			}
			b := decode[map[string]any](t, r.body)
			if b["status"] != float64(tc.want) || b["message"] == "" || b["code"] == "" {
				t.Errorf("error body = %s, want LinkedIn's shape", r.body)
			}
		})
	}
}
