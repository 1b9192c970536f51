// Package token signs and verifies the links in promotional emails. A token is what
// authorises a public page (docs/architecture.md, guarantee 6), so it carries what the
// page needs — tenant, subject key, the list, a link id — and is signed with HMAC-SHA256
// under a key named inside it: the current key signs, older keys still verify, which is
// how keys rotate without breaking links already sent.
//
// Neither the email nor any hash of it is in a token (docs/adr/0006): the address
// travels sealed under the subject's data key, and the server opens it to find the
// suppression hash, so a link read by anyone reveals nothing about whose it is, and an
// erased subject's old links reveal nothing even to the server.
package token

import (
	"crypto/hmac"
	"crypto/rand"
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
	LinkID     string          `json:"j,omitempty"` // names the link for revocation; empty on links issued before it existed
	List       string          `json:"l,omitempty"` // an email topic; empty means all marketing email
	IssuedAt   int64           `json:"i"`
	Sealed     *schemas.Sealed `json:"e,omitempty"`
	// LegacyEmailHash is the address's SHA-256 that links issued before docs/adr/0006
	// carried. It is kept only so that those links still verify byte for byte; nothing
	// reads it and nothing new sets it.
	LegacyEmailHash string `json:"h,omitempty"`
}

// Grant is what a confirmation link proves: the person behind a preference link asked
// to grant these purposes and resubscribe to these topics, and the confirmation mail
// reached their mailbox. It is signed under another domain than Claims, so neither
// kind of token can stand for the other.
type Grant struct {
	KeyID      string          `json:"k"`
	Tenant     string          `json:"t"`
	SubjectKey string          `json:"s"`
	LinkID     string          `json:"j,omitempty"`
	List       string          `json:"l,omitempty"`
	Purposes   []string        `json:"p,omitempty"`
	Topics     []string        `json:"o,omitempty"`
	IssuedAt   int64           `json:"i"`
	Sealed     *schemas.Sealed `json:"e"`
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

const (
	linkDomain  = "consentry/unsubscribe/v1\x00"
	grantDomain = "consentry/grant/v1\x00"
)

// Sign returns the token for c, signed with the current key (c.KeyID is set to it).
func (k *Keys) Sign(c Claims) (string, error) {
	c.KeyID = k.current
	return k.sign(linkDomain, c.KeyID, c)
}

// Verify checks a token's signature and age and returns its claims.
func (k *Keys) Verify(tok string, now time.Time, maxAge time.Duration) (Claims, error) {
	var c Claims
	if err := k.verify(linkDomain, tok, &c); err != nil {
		return Claims{}, err
	}
	if err := fresh(c.IssuedAt, now, maxAge); err != nil {
		return Claims{}, err
	}
	// Sealed is required: it is the only way the server learns the address's hash.
	if c.Tenant == "" || c.SubjectKey == "" || c.Sealed == nil {
		return Claims{}, ErrMalformed
	}
	return c, nil
}

// SignGrant returns the confirmation token for g, signed with the current key.
func (k *Keys) SignGrant(g Grant) (string, error) {
	g.KeyID = k.current
	return k.sign(grantDomain, g.KeyID, g)
}

// VerifyGrant checks a confirmation token's signature and age and returns it.
func (k *Keys) VerifyGrant(tok string, now time.Time, maxAge time.Duration) (Grant, error) {
	var g Grant
	if err := k.verify(grantDomain, tok, &g); err != nil {
		return Grant{}, err
	}
	if err := fresh(g.IssuedAt, now, maxAge); err != nil {
		return Grant{}, err
	}
	if g.Tenant == "" || g.SubjectKey == "" || g.Sealed == nil || len(g.Purposes)+len(g.Topics) == 0 {
		return Grant{}, ErrMalformed
	}
	return g, nil
}

func (k *Keys) sign(domain, kid string, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := enc.EncodeToString(payload)
	return p + "." + enc.EncodeToString(mac(k.secrets[kid], domain, p)), nil
}

func (k *Keys) verify(domain, tok string, into any) error {
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || p == "" || sig == "" || len(tok) > 4096 {
		return ErrMalformed
	}
	rawSig, err := enc.DecodeString(sig)
	// The decoder ignores the unused low bits of the last character and any CR or LF, so
	// one signature has several spellings: only the one Sign writes is a token.
	if err != nil || enc.EncodeToString(rawSig) != sig {
		return ErrMalformed
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return ErrMalformed
	}
	var kid struct {
		K string `json:"k"`
	}
	if err := json.Unmarshal(payload, &kid); err != nil {
		return ErrMalformed
	}
	secret, ok := k.secrets[kid.K]
	if !ok {
		return ErrUnknownKey
	}
	// The key id was read before the signature was checked only to find the key;
	// nothing in the payload is trusted until this comparison passes.
	if !hmac.Equal(rawSig, mac(secret, domain, p)) {
		return ErrSignature
	}
	if err := json.Unmarshal(payload, into); err != nil {
		return ErrMalformed
	}
	return nil
}

func fresh(issuedAt int64, now time.Time, maxAge time.Duration) error {
	issued := time.Unix(issuedAt, 0)
	if issued.After(now.Add(5*time.Minute)) || now.Sub(issued) > maxAge {
		return ErrExpired
	}
	return nil
}

// Derive returns a secret for another use of the current key (label names the use), so a
// service that signs links needs no second secret for what it binds to them. It changes
// when the key rotates.
func (k *Keys) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.secrets[k.current])
	m.Write([]byte("consentry/derive/" + label))
	return m.Sum(nil)
}

func mac(secret []byte, domain, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(domain))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// NewLinkID returns a fresh link id: 128 random bits, which name a link and say nothing
// about whom it was sent to.
func NewLinkID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return enc.EncodeToString(b), nil
}
