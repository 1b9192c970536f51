package lifecycle

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Verification links carry the request id and the link's expiry, signed with HMAC-SHA256
// under a key named inside the token: the first key signs, the others still verify, so
// keys rotate without breaking links already sent. The link names no person: whoever
// holds it can only confirm the request it was sent for.

// ErrBadLink covers every way a link can be wrong; the page answers them alike.
var ErrBadLink = errors.New("the verification link is not valid")

// ErrLinkExpired means a well-signed link is past its expiry.
var ErrLinkExpired = errors.New("the verification link has expired")

// LinkKeys sign and verify verification links.
type LinkKeys struct {
	current string
	keys    map[string][]byte
}

// ParseLinkKeys reads "kid:base64,kid2:base64" (the format of CONSENTRY_LINK_KEYS).
func ParseLinkKeys(spec string) (*LinkKeys, error) {
	lk := &LinkKeys{keys: map[string][]byte{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		kid, b64, ok := strings.Cut(entry, ":")
		secret, err := base64.StdEncoding.DecodeString(b64)
		switch {
		case !ok || kid == "" || strings.Contains(kid, "."):
			return nil, fmt.Errorf("link keys: entry %d: want kid:base64 (kid without '.')", i+1)
		case err != nil || len(secret) < 32:
			return nil, fmt.Errorf("link keys: key %q: want base64 of at least 32 bytes", kid)
		case lk.keys[kid] != nil:
			return nil, fmt.Errorf("link keys: key %q appears twice", kid)
		}
		lk.keys[kid] = secret
		if lk.current == "" {
			lk.current = kid
		}
	}
	if lk.current == "" {
		return nil, errors.New("link keys: none configured")
	}
	return lk, nil
}

// Sign returns the token of a link confirming requestID, valid until expires.
func (lk *LinkKeys) Sign(requestID string, expires time.Time) (string, error) {
	id, err := hex.DecodeString(strings.ReplaceAll(requestID, "-", ""))
	if err != nil || len(id) != 16 {
		return "", fmt.Errorf("link: request id is not a UUID")
	}
	payload := binary.BigEndian.AppendUint64(id, uint64(expires.Unix()))
	return lk.current + "." + base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(linkMAC(lk.keys[lk.current], payload)), nil
}

// Verify returns the request id a token confirms.
func (lk *LinkKeys) Verify(token string, now time.Time) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", ErrBadLink
	}
	secret := lk.keys[parts[0]]
	payload, err1 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if secret == nil || err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(sig, linkMAC(secret, payload)) {
		return "", ErrBadLink
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(payload[16:])) {
		return "", ErrLinkExpired
	}
	h := hex.EncodeToString(payload[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// linkMAC is domain-separated: the same keys may sign unsubscribe links, and a token of
// one kind must never pass as the other.
func linkMAC(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("consentry verification link\x00"))
	m.Write(payload)
	return m.Sum(nil)
}
