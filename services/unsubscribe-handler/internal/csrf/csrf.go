// Package csrf issues and checks the hidden form token that proves a preference-center
// POST comes from a page this service rendered. The link token already authorises the
// person; this one stops another site from submitting a form to that link on their
// behalf (a page they visit could hold the link, which travels in email). It is an HMAC
// of the link token and a time window, so it needs no server-side state and works across
// replicas, and is only good for the link it was rendered for and for a limited time.
package csrf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors a check ends with.
var (
	ErrMissing = errors.New("csrf: no token")
	ErrForged  = errors.New("csrf: token does not match")
	ErrStale   = errors.New("csrf: token has expired")
)

// Guard issues and checks tokens.
type Guard struct {
	secret []byte
	window time.Duration
}

// New returns a guard keyed by secret. A token is accepted in the window it was issued in
// and the next one, so it lives between window and twice window.
func New(secret []byte, window time.Duration) *Guard {
	return &Guard{secret: secret, window: window}
}

var enc = base64.RawURLEncoding

// Issue returns a token bound to bound (the link token) for the window now falls in.
func (g *Guard) Issue(bound string, now time.Time) string {
	w := g.slot(now)
	return strconv.FormatInt(w, 10) + "." + enc.EncodeToString(g.mac(bound, w))
}

// Check verifies tok for bound at now.
func (g *Guard) Check(tok, bound string, now time.Time) error {
	if tok == "" {
		return ErrMissing
	}
	ws, sig, ok := strings.Cut(tok, ".")
	w, err := strconv.ParseInt(ws, 10, 64)
	if !ok || err != nil {
		return ErrForged
	}
	raw, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(raw, g.mac(bound, w)) {
		return ErrForged
	}
	if cur := g.slot(now); w != cur && w != cur-1 {
		return ErrStale
	}
	return nil
}

func (g *Guard) slot(t time.Time) int64 { return t.Unix() / int64(g.window/time.Second) }

func (g *Guard) mac(bound string, w int64) []byte {
	m := hmac.New(sha256.New, g.secret)
	m.Write([]byte("consentry/csrf/v1\x00"))
	m.Write([]byte(strconv.FormatInt(w, 10)))
	m.Write([]byte{0})
	m.Write([]byte(bound))
	return m.Sum(nil)
}
