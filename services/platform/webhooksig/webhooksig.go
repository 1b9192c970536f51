// Package webhooksig signs the JSON POSTs Consentry sends to systems it does not own —
// verification senders, enterprise Customers' request endpoints — so that a receiver can
// tell them from forgeries and replays.
//
// A request carries X-Consentry-Key-Id, X-Consentry-Timestamp (unix seconds) and
// X-Consentry-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>; the
// vendor-fanout webhook adapter uses the same scheme.
package webhooksig

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request.
const (
	HeaderKeyID     = "X-Consentry-Key-Id"
	HeaderTimestamp = "X-Consentry-Timestamp"
	HeaderSignature = "X-Consentry-Signature"
)

const signaturePrefix = "v1="

// Verify's errors.
var (
	ErrMalformedSignature = errors.New("webhooksig: signature is not v1=<hex>")
	ErrStale              = errors.New("webhooksig: timestamp outside the replay window")
	ErrBadSignature       = errors.New("webhooksig: signature does not match")
)

// Sign returns the X-Consentry-Signature value for body sent at timestamp.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

// Verify checks a signature made by Sign: the timestamp within window of now either way,
// the digest compared in constant time, against the raw body as received.
func Verify(secret []byte, timestamp int64, body []byte, signature string, now time.Time, window time.Duration) error {
	hexSig, ok := strings.CutPrefix(signature, signaturePrefix)
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || hex.EncodeToString(got) != hexSig {
		return ErrMalformedSignature
	}
	if skew := now.Sub(time.Unix(timestamp, 0)); window <= 0 || skew > window || skew < -window {
		return ErrStale
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	return nil
}

func mac(secret []byte, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(timestamp, 10) + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Sender posts signed JSON.
type Sender struct {
	KeyID  string
	Secret []byte
	HTTP   *http.Client
	Now    func() time.Time
}

// Post sends body to url, signed, and returns an error unless the receiver answered 2xx.
// The error names the status only: receivers' answers may echo what was sent.
func (s Sender) Post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhooksig: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderKeyID, s.KeyID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.Secret, ts, body))
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhooksig: post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhooksig: receiver answered %d", resp.StatusCode)
	}
	return nil
}
