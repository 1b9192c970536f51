package vendorsim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

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
		"LinkedIn-Version", "202601",
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
		{"remove", path, body("REMOVE", "SHA256_EMAIL", hash), good, 200},
		{"add", path, body("ADD", "SHA256_EMAIL", hash), good, 200},
		{"sha512", path, body("REMOVE", "SHA512_EMAIL", strings.Repeat("ab", 64)), good, 200},
		// The clock is 14 March 2026: a version from February 2025 has had its year.
		{"sunset version", path, body("REMOVE", "SHA256_EMAIL", hash), with("LinkedIn-Version", "202502"), 426},
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
			if tc.want == 200 {
				b := decode[map[string][]map[string]any](t, r.body)
				if len(b["elements"]) != 1 || b["elements"][0]["status"] != float64(201) {
					t.Errorf("body = %s, want one element status 201", r.body)
				}
				return
			}
			b := decode[map[string]any](t, r.body)
			if b["status"] != float64(tc.want) || b["message"] == "" || b["code"] == "" {
				t.Errorf("error body = %s, want LinkedIn's shape", r.body)
			}
		})
	}
}

// TestLinkedInVersionSunset: LinkedIn stops serving a version on its published sunset
// date (202511: 16 November 2026), answering 426 NONEXISTENT_VERSION.
func TestLinkedInVersionSunset(t *testing.T) {
	e := start(t, vendorsim.Options{})
	sum := sha256.Sum256([]byte("ann@example.com"))
	body := `{"elements":[{"action":"REMOVE","userIds":[{"idType":"SHA256_EMAIL","idValue":"` + hex.EncodeToString(sum[:]) + `"}]}]}`
	call := func() resp {
		return e.do(t, "POST", "/linkedin/rest/dmpSegments/123456/users", body, "Authorization", "Bearer t",
			"X-RestLi-Method", "BATCH_CREATE", "X-Restli-Protocol-Version", "2.0.0", "LinkedIn-Version", "202511")
	}
	e.clock.Set(time.Date(2026, 11, 15, 23, 59, 0, 0, time.UTC))
	if r := call(); r.status != 200 {
		t.Fatalf("the day before sunset: status %d, want 200", r.status)
	}
	e.clock.Set(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC))
	r := call()
	b := decode[map[string]any](t, r.body)
	if r.status != 426 || b["status"] != float64(426) || b["code"] != "NONEXISTENT_VERSION" || !strings.Contains(b["message"].(string), "20251101") {
		t.Errorf("on the sunset day: %d %s, want 426 NONEXISTENT_VERSION naming the version", r.status, r.body)
	}
}

// TestLinkedInPartial: the partial fault answers 200 with the element failed.
func TestLinkedInPartial(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.setFault(t, `{"vendor":"linkedin","mode":"partial"}`)
	sum := sha256.Sum256([]byte("ann@example.com"))
	body := `{"elements":[{"action":"REMOVE","userIds":[{"idType":"SHA256_EMAIL","idValue":"` + hex.EncodeToString(sum[:]) + `"}]}]}`
	r := e.do(t, "POST", "/linkedin/rest/dmpSegments/123456/users", body, "Authorization", "Bearer t",
		"X-RestLi-Method", "BATCH_CREATE", "X-Restli-Protocol-Version", "2.0.0", "LinkedIn-Version", "202601")
	b := decode[map[string][]map[string]any](t, r.body)
	if r.status != 200 || len(b["elements"]) != 1 || b["elements"][0]["status"] != float64(400) {
		t.Errorf("got %d %s, want 200 with element status 400", r.status, r.body)
	}
}

// TestLinkedInRejectsANamedElement: the reject fault fails the element carrying the
// named hash, and only that one.
func TestLinkedInRejectsANamedElement(t *testing.T) {
	e := start(t, vendorsim.Options{})
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	e.setFault(t, `{"vendor":"linkedin","mode":"reject","item":"`+hash("bob@example.com")+`"}`)
	var els []string
	for _, email := range []string{"ann@example.com", "bob@example.com", "cat@example.com"} {
		els = append(els, `{"action":"REMOVE","userIds":[{"idType":"SHA256_EMAIL","idValue":"`+hash(email)+`"}]}`)
	}
	r := e.do(t, "POST", "/linkedin/rest/dmpSegments/123456/users", `{"elements":[`+strings.Join(els, ",")+`]}`, "Authorization", "Bearer t",
		"X-RestLi-Method", "BATCH_CREATE", "X-Restli-Protocol-Version", "2.0.0", "LinkedIn-Version", "202601")
	b := decode[map[string][]map[string]any](t, r.body)
	if r.status != 200 || len(b["elements"]) != 3 || b["elements"][0]["status"] != float64(201) ||
		b["elements"][1]["status"] != float64(400) || b["elements"][2]["status"] != float64(201) {
		t.Errorf("got %d %s, want 200 with only the second element failed", r.status, r.body)
	}
}
