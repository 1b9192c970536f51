// Package webhooksig signs the JSON POSTs Consentry sends to systems it does not own —
// verification senders, enterprise Customers' request endpoints, in-house systems behind
// vendor-fanout's webhook adapter — so that a receiver can tell them from forgeries and
// replays, and verifies them for receivers written in Go.
//
// The scheme is Standard Webhooks' asymmetric one (docs/webhooks.md): a request carries
// webhook-id, webhook-timestamp (unix seconds) and webhook-signature, a space-separated
// list of v1a,<base64 Ed25519 signature of "id.timestamp.body">. Only Consentry holds the
// private key; receivers verify with the public keys served at
// GET /.well-known/webhook-keys. A shared HMAC secret would let every receiver sign what
// the others receive; a public key lets none of them.
package webhooksig

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// signatureVersion marks an asymmetric (Ed25519) signature; "v1" would be the
// specification's HMAC one, which Consentry does not send.
const signatureVersion = "v1a"

// Verify's errors.
var (
	ErrMissingHeaders     = errors.New("webhooksig: webhook-id, webhook-timestamp and webhook-signature are required")
	ErrMalformedSignature = errors.New("webhooksig: no v1a,<base64> signature, or a malformed id or timestamp")
	ErrStale              = errors.New("webhooksig: timestamp outside the replay window")
	ErrBadSignature       = errors.New("webhooksig: no signature by a trusted key matches")
)

// NewMessageID returns a fresh webhook-id.
func NewMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail since Go 1.24
	return "msg_" + hex.EncodeToString(b)
}

// MessageID derives a webhook-id from a delivery's own idempotency key, so every retry of
// a delivery carries the same id and a receiver can drop repeats by it. The key is hashed:
// it may hold a dot, which the signed content reserves as its separator.
func MessageID(idempotencyKey string) string {
	sum := sha256.Sum256([]byte(idempotencyKey))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// signedContent is what is signed: id.timestamp.body, the body byte for byte as sent.
func signedContent(id string, ts int64, body []byte) []byte {
	prefix := id + "." + strconv.FormatInt(ts, 10) + "."
	return append([]byte(prefix), body...)
}

// Signature returns the webhook-signature value for body sent as message id at ts: the
// current key's signature, and during a rotation also the signature of each previous
// private key whose window is still open at ts, so that a receiver that has not yet
// fetched the new public key keeps verifying.
func (ks *Keys) Signature(id string, ts time.Time, body []byte) string {
	content := signedContent(id, ts.Unix(), body)
	var sigs []string
	for _, k := range ks.keys {
		if k.private == nil || (k.notAfter != nil && ts.After(*k.notAfter)) {
			continue
		}
		sigs = append(sigs, signatureVersion+","+base64.StdEncoding.EncodeToString(ed25519.Sign(k.private, content)))
	}
	return strings.Join(sigs, " ")
}

// SetHeaders signs body as message id sent at ts and sets the three headers on h.
func (ks *Keys) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, ks.Signature(id, ts, body))
}

// Verify checks a signed request for a receiver: the headers h as received, the raw body
// (not re-encoded JSON), the receiver's trusted keys (from GET /.well-known/webhook-keys
// or configured), its clock and its replay tolerance. The timestamp must be within
// tolerance of now either way, and one of the v1a signatures must verify under a key whose
// not_after has not passed at now. Signatures of other schemes are ignored.
func Verify(keys []PublicKey, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	// A dot in the id, or a timestamp spelled other than as its digits ("+17…", "017…"),
	// would let the same signed bytes be read as another id, timestamp and body.
	if err != nil || strconv.FormatInt(ts, 10) != tsText || strings.Contains(id, ".") {
		return ErrMalformedSignature
	}
	if skew := now.Sub(time.Unix(ts, 0)); tolerance <= 0 || skew > tolerance || skew < -tolerance {
		return ErrStale
	}
	content := signedContent(id, ts, body)
	seen := false
	for _, s := range strings.Fields(sigs) {
		version, enc, ok := strings.Cut(s, ",")
		if !ok || version != signatureVersion {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(sig) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(sig) != enc {
			continue
		}
		seen = true
		for _, k := range keys {
			if len(k.PublicKey) == ed25519.PublicKeySize && k.validAt(now) && ed25519.Verify(ed25519.PublicKey(k.PublicKey), content, sig) {
				return nil
			}
		}
	}
	if !seen {
		return ErrMalformedSignature
	}
	return ErrBadSignature
}
