// Package pseudonym turns personal identifiers into the keys Consentry uses in their place:
// the subject_key (an HMAC under a secret pepper, so it cannot be reversed by guessing ids)
// and the email hash (a plain SHA-256, because marketing tools must compute the same key
// from an address they hold).
package pseudonym

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// MinPepperLen is the shortest pepper accepted: 32 bytes, the HMAC-SHA256 block strength.
const MinPepperLen = 32

// Pepper is the secret under which subject keys are computed. Changing it changes every
// subject_key, so it is configured once per deployment and never rotated casually.
type Pepper struct{ key []byte }

// NewPepper checks and wraps the secret.
func NewPepper(secret []byte) (Pepper, error) {
	if len(secret) < MinPepperLen {
		return Pepper{}, errors.New("pseudonym: pepper must be at least 32 bytes")
	}
	return Pepper{key: append([]byte(nil), secret...)}, nil
}

// SubjectKey returns hex(HMAC-SHA256(pepper, tenant 0x00 subject_id)). The separator keeps
// ("ab", "c") and ("a", "bc") apart.
func (p Pepper) SubjectKey(tenant, subjectID string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(tenant))
	m.Write([]byte{0})
	m.Write([]byte(subjectID))
	return hex.EncodeToString(m.Sum(nil))
}

// NormalizeEmail trims and lower-cases an address: the form whose hash is the
// suppression key.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// EmailSHA256 returns the hex SHA-256 of the normalised address.
func EmailSHA256(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// MaxEmail is the longest address accepted (RFC 5321's path limit).
const MaxEmail = 254

// PlausibleEmail accepts what a sending system could deliver to: one @, a non-empty local
// part, a dotted domain, no spaces or list punctuation. Deliverability is the sender's
// concern, not ours.
func PlausibleEmail(s string) bool {
	if len(s) > MaxEmail || strings.ContainsAny(s, " \t\r\n<>,;") {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && !strings.Contains(domain, "@") &&
		strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// IsHexSHA256 reports whether s looks like a hex SHA-256 (64 lower-case hex digits).
func IsHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
