package sendgridsig_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/sendgridsig"
)

func TestVerify(t *testing.T) {
	signer, err := vendorsim.NewSendGridEventSigner()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := vendorsim.NewSendGridEventSigner()
	pub, _ := signer.PublicKey()
	key, err := sendgridsig.ParseKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`[{"email":"a@example.com","event":"unsubscribe"}]`)
	sign := func(s *vendorsim.SendGridEventSigner, b []byte, at time.Time) (string, string) {
		h, err := s.Headers(b, at)
		if err != nil {
			t.Fatal(err)
		}
		return h[sendgridsig.SignatureHeader], h[sendgridsig.TimestampHeader]
	}
	good, ts := sign(signer, body, now)
	forged, _ := sign(other, body, now)
	oldSig, oldTS := sign(signer, body, now.Add(-sendgridsig.MaxAge-time.Second))
	futSig, futTS := sign(signer, body, now.Add(sendgridsig.MaxSkew+time.Second))
	cases := []struct {
		name           string
		body           []byte
		sig, timestamp string
		want           error
	}{
		{"valid", body, good, ts, nil},
		{"no signature", body, "", ts, sendgridsig.ErrMissing},
		{"no timestamp", body, good, "", sendgridsig.ErrMissing},
		{"another key", body, forged, ts, sendgridsig.ErrBad},
		{"body altered", append([]byte(" "), body...), good, ts, sendgridsig.ErrBad},
		{"timestamp altered", body, good, strconv.FormatInt(now.Unix()+1, 10), sendgridsig.ErrBad},
		{"not base64", body, "%%%", ts, sendgridsig.ErrBad},
		{"too old", body, oldSig, oldTS, sendgridsig.ErrStale},
		{"in the future", body, futSig, futTS, sendgridsig.ErrStale},
	}
	for _, c := range cases {
		if err := sendgridsig.Verify(key, c.body, c.sig, c.timestamp, now); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestParseKey(t *testing.T) {
	for name, in := range map[string]string{
		"not base64": "%%%",
		"not DER":    "AAAA",
		// An Ed25519 SubjectPublicKeyInfo: valid DER, wrong algorithm.
		"not ECDSA": "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
	} {
		if _, err := sendgridsig.ParseKey(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
