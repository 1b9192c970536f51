// Package hubspotsig verifies HubSpot's v3 request signature: base64 HMAC-SHA256, keyed
// with the app's client secret, over method + URI + raw body + timestamp, as HubSpot's
// validation page and its own SDKs compute it (hubspot-api-python
// hubspot/utils/signature.py, hubspot-api-nodejs src/utils/signature.ts; cited in
// docs/vendors/hubspot.md). The timestamp is in Unix milliseconds and a request older
// than five minutes is refused, as HubSpot asks.
package hubspotsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Headers HubSpot signs with.
const (
	SignatureHeader = "X-HubSpot-Signature-v3"
	TimestampHeader = "X-HubSpot-Request-Timestamp"
)

// MaxAge is HubSpot's own bound ("reject the request if the timestamp is older than 5
// minutes"); MaxSkew allows for clocks that disagree, which HubSpot does not document,
// so a minute, as for SendGrid's signed webhook.
const (
	MaxAge  = 5 * time.Minute
	MaxSkew = time.Minute
)

// Errors a check returns; none of them names the body, the URI or the secret.
var (
	ErrMissing = errors.New("the signature or timestamp header is missing")
	ErrBad     = errors.New("the signature does not verify")
	ErrStale   = errors.New("the timestamp is outside the accepted window")
)

// Sign returns the v3 signature of a request: what HubSpot puts in SignatureHeader.
func Sign(secret []byte, method, uri string, body []byte, timestamp string) string {
	return base64.StdEncoding.EncodeToString(mac(secret, method, uri, body, timestamp))
}

func mac(secret []byte, method, uri string, body []byte, timestamp string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(method))
	m.Write([]byte(uri))
	m.Write(body)
	m.Write([]byte(timestamp))
	return m.Sum(nil)
}

// Verify checks sig against the request's method, uri (the full URL HubSpot posted to,
// scheme and host included), raw body and timestamp header, in constant time, and then
// that the timestamp is no older than MaxAge and no more than MaxSkew ahead of now. The
// signature is checked first, so a forged post learns nothing about the clock.
func Verify(secret []byte, method, uri string, body []byte, sig, timestamp string, now time.Time) error {
	if sig == "" || timestamp == "" {
		return ErrMissing
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, method, uri, body, timestamp)) {
		return ErrBad
	}
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not Unix milliseconds", ErrStale)
	}
	at := time.UnixMilli(ms)
	if at.Before(now.Add(-MaxAge)) || at.After(now.Add(MaxSkew)) {
		return ErrStale
	}
	return nil
}
