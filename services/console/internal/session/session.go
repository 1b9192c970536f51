// Package session keeps the console's signed-in state in a cookie that the browser cannot
// read or alter: JSON sealed with AES-256-GCM (encrypted and authenticated), carrying its
// own expiry, so the console stores nothing server-side.
package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sealer seals and opens cookie values under one key.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer takes a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("session: the key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

type envelope struct {
	Exp  int64           `json:"exp"`
	Data json.RawMessage `json:"d"`
}

// ErrInvalid is any cookie that does not open: forged, altered, expired, or for another purpose.
var ErrInvalid = errors.New("session: invalid or expired")

// Seal encodes v to expire at exp. purpose binds the value to one cookie, so that the
// short-lived login cookie cannot be replayed as a session and the other way round.
func (s *Sealer) Seal(purpose string, v any, exp time.Time) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(envelope{Exp: exp.Unix(), Data: data})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(purpose))), nil
}

// Open decodes a value Seal produced for purpose into v, refusing it after its expiry.
func (s *Sealer) Open(purpose, value string, now time.Time, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return ErrInvalid
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(purpose))
	if err != nil {
		return ErrInvalid
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil || now.Unix() >= env.Exp {
		return ErrInvalid
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return ErrInvalid
	}
	return nil
}

// Cookies names and sets the console's cookies. Over HTTPS they carry the __Host- prefix
// (Secure, Path=/, no Domain: no subdomain can set or shadow them); a plain-HTTP loopback
// console (make run) cannot use the prefix, so it drops it there and only there.
type Cookies struct {
	Secure bool
}

// Name returns the cookie name for base.
func (c Cookies) Name(base string) string {
	if c.Secure {
		return "__Host-" + base
	}
	return base
}

// Set writes a sealed value. SameSite=Lax: the identity provider's redirect back to the
// callback is a top-level GET from another site, which Strict would strip the login cookie
// from; every state-changing request is a POST, which Lax never carries cross-site.
func (c Cookies) Set(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: c.Name(base), Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
}

// Clear removes a cookie.
func (c Cookies) Clear(w http.ResponseWriter, base string) {
	http.SetCookie(w, &http.Cookie{Name: c.Name(base), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
}

// Get returns a cookie's value.
func (c Cookies) Get(r *http.Request, base string) (string, bool) {
	ck, err := r.Cookie(c.Name(base))
	if err != nil || ck.Value == "" {
		return "", false
	}
	return ck.Value, true
}
