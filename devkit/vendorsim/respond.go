package vendorsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// writeJSON answers with v as JSON. Encoding errors cannot happen for the plain maps
// and structs used here, so none is returned.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// plainError is the shape for the webhook receiver and unknown prefixes.
func plainError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeJSON reads exactly one JSON value from r into v. Unknown fields are accepted,
// as the real vendors accept them.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body is empty")
		}
		return fmt.Errorf("malformed JSON body: %v", err)
	}
	if dec.More() {
		return errors.New("malformed JSON body: trailing data after the JSON value")
	}
	return nil
}

// authToken returns the credential after the given scheme in the Authorization header,
// or "" when it is missing or malformed.
func authToken(r *http.Request, scheme string) string {
	got, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(got, scheme) || token == "" || strings.ContainsAny(token, " \t") {
		return ""
	}
	return token
}

// stableID derives a hex id from parts, so the same subject always gets the same
// vendor-side id without the simulator having to be seeded with data.
func stableID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// stableUUID derives a UUID-shaped id (version 8, "custom") from parts.
func stableUUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// isUUID reports whether s is in the canonical 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(byte(c), true) {
				return false
			}
		}
	}
	return true
}

// isLowerHex reports whether s is exactly n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if !isHex(s[i], false) {
			return false
		}
	}
	return true
}

func isHex(c byte, upperOK bool) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || upperOK && 'A' <= c && c <= 'F'
}

// looksLikeEmail is deliberately loose: the vendors validate addresses, but an adapter
// sending an id or an empty string where an email belongs is the bug worth catching.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// normEmail is the key vendors match addresses by.
func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// stamp formats a vendor timestamp: RFC 3339 in UTC, as the vendors emit them.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
