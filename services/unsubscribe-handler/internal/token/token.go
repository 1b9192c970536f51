// Package token signs and verifies the links in promotional emails. A token is what
// authorises a public page (docs/architecture.md, guarantee 6), so it carries everything the page needs
// — tenant, subject key, the email's hash, the list — and is signed with HMAC-SHA256
// under a key named inside it: the current key signs, older keys still verify, which is
// how keys rotate without breaking links already sent.
//
// The email itself is never in a token in clear: it travels sealed under the subject's
// data key, so that a one-click unsubscribe can still tell vendors whom to unsubscribe,
// and an erased subject's old links reveal nothing.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/schemas"
)

// Errors a verification can end with. Pages answer them all alike, so a visitor learns
// nothing about which part of a link was wrong or whether an address is known.
var (
	ErrMalformed  = errors.New("token: malformed")
	ErrUnknownKey = errors.New("token: signed with an unknown key")
	ErrSignature  = errors.New("token: bad signature")
	ErrExpired    = errors.New("token: expired")
)

// Claims are what a link proves.
type Claims struct {
	KeyID      string          `json:"k"`
	Tenant     string          `json:"t"`
	SubjectKey string          `json:"s"`
	EmailHash  string          `json:"h"`
	List       string          `json:"l,omitempty"` // an email topic; empty means all marketing email
	IssuedAt   int64           `json:"i"`
	Sealed     *schemas.Sealed `json:"e,omitempty"`
}

// Keys sign and verify tokens.
type Keys struct {
	current string
	secrets map[string][]byte
}

// ParseKeys reads "kid:base64secret[,kid:base64secret...]"; the first key signs. Secrets
// must be at least 32 bytes.
func ParseKeys(spec string) (*Keys, error) {
	k := &Keys{secrets: map[string][]byte{}}
	for i, part := range strings.Split(spec, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" || strings.ContainsAny(id, ".") {
			return nil, fmt.Errorf("token: key %d: want kid:base64secret", i+1)
		}
		secret, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("token: key %q: not standard base64", id)
		}
		if len(secret) < 32 {
			return nil, fmt.Errorf("token: key %q: secret is %d bytes, want at least 32", id, len(secret))
		}
		if _, dup := k.secrets[id]; dup {
			return nil, fmt.Errorf("token: key id %q appears twice", id)
		}
		k.secrets[id] = secret
		if i == 0 {
			k.current = id
		}
	}
	return k, nil
}

var enc = base64.RawURLEncoding

// Sign returns the token for c, signed with the current key (c.KeyID is set to it).
func (k *Keys) Sign(c Claims) (string, error) {
	c.KeyID = k.current
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := enc.EncodeToString(payload)
	return p + "." + enc.EncodeToString(mac(k.secrets[c.KeyID], p)), nil
}

// Verify checks a token's signature and age and returns its claims.
func (k *Keys) Verify(tok string, now time.Time, maxAge time.Duration) (Claims, error) {
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || p == "" || sig == "" || len(tok) > 4096 {
		return Claims{}, ErrMalformed
	}
	rawSig, err := enc.DecodeString(sig)
	// The decoder ignores the unused low bits of the last character and any CR or LF, so
	// one signature has several spellings: only the one Sign writes is a token.
	if err != nil || enc.EncodeToString(rawSig) != sig {
		return Claims{}, ErrMalformed
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, ErrMalformed
	}
	secret, ok := k.secrets[c.KeyID]
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	// The claims were parsed before the signature was checked only to find the key;
	// nothing in them is trusted until this comparison passes.
	if !hmac.Equal(rawSig, mac(secret, p)) {
		return Claims{}, ErrSignature
	}
	issued := time.Unix(c.IssuedAt, 0)
	if issued.After(now.Add(5*time.Minute)) || now.Sub(issued) > maxAge {
		return Claims{}, ErrExpired
	}
	if c.Tenant == "" || c.SubjectKey == "" || c.EmailHash == "" {
		return Claims{}, ErrMalformed
	}
	return c, nil
}

// Derive returns a secret for another use of the current key (label names the use), so a
// service that signs links needs no second secret for what it binds to them. It changes
// when the key rotates.
func (k *Keys) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.secrets[k.current])
	m.Write([]byte("consentry/derive/" + label))
	return m.Sum(nil)
}

func mac(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("consentry/unsubscribe/v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
