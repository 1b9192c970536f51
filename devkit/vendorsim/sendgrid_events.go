package vendorsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strconv"
	"time"
)

// SendGridEventSigner signs Event Webhook posts as SendGrid does when "Signed Event
// Webhook" is on (docs/vendors/sendgrid.md): ECDSA P-256 over SHA-256(timestamp || raw
// body), the signature base64 ASN.1 DER, the key shown as base64 DER SubjectPublicKeyInfo.
type SendGridEventSigner struct {
	key *ecdsa.PrivateKey
}

// NewSendGridEventSigner makes a signer with a fresh key.
func NewSendGridEventSigner() (*SendGridEventSigner, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &SendGridEventSigner{key: k}, nil
}

// PublicKey is the verification key as SendGrid's settings page shows it.
func (s *SendGridEventSigner) PublicKey() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return base64.StdEncoding.EncodeToString(der), err
}

// Headers returns the two headers SendGrid would send with body at time at.
func (s *SendGridEventSigner) Headers(body []byte, at time.Time) (map[string]string, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h.Sum(nil))
	return map[string]string{
		"X-Twilio-Email-Event-Webhook-Signature": base64.StdEncoding.EncodeToString(sig),
		"X-Twilio-Email-Event-Webhook-Timestamp": ts,
	}, err
}
