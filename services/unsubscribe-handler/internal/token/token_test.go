package token_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

func key(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32)))
}

var now = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

func claims() token.Claims {
	return token.Claims{Tenant: "consumer", SubjectKey: "sk", LinkID: "bGluay1pZA", IssuedAt: now.Unix(),
		Sealed: &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte("0123456789ab"), Ciphertext: []byte{0xde, 0xad}}}
}

func TestSignVerifyTamperExpiryRotation(t *testing.T) {
	v1, err := token.ParseKeys("k1:" + key('a'))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := token.ParseKeys("k2:" + key('b') + ",k1:" + key('a')) // k2 signs, k1 still verifies
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, _ := token.ParseKeys("k2:" + key('b'))
	forger, _ := token.ParseKeys("k1:" + key('z')) // right key id, wrong secret

	old, err := v1.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := rotated.Sign(claims())
	forged, _ := forger.Sign(claims())
	payload, sig, _ := strings.Cut(old, ".")
	other := claims()
	other.Tenant = "acme"
	otherTok, _ := v1.Sign(other)
	otherPayload, _, _ := strings.Cut(otherTok, ".")

	cases := []struct {
		name string
		keys *token.Keys
		tok  string
		at   time.Time
		want error
	}{
		{"valid", v1, old, now, nil},
		{"old key verifies after rotation", rotated, old, now, nil},
		{"new key signs after rotation", rotated, fresh, now, nil},
		{"retired key no longer verifies", onlyNew, old, now, token.ErrUnknownKey},
		{"forged with a guessed secret", v1, forged, now, token.ErrSignature},
		{"claims swapped under an old signature", v1, otherPayload + "." + sig, now, token.ErrSignature},
		{"expired", v1, old, now.Add(91 * 24 * time.Hour), token.ErrExpired},
		{"issued in the future", v1, old, now.Add(-time.Hour), token.ErrExpired},
		{"no signature", v1, payload, now, token.ErrMalformed},
		{"garbage", v1, "%%%.%%%", now, token.ErrMalformed},
		{"empty", v1, "", now, token.ErrMalformed},
		{"truncated signature", v1, old[:len(old)-3], now, token.ErrSignature},
		// Found by FuzzSignVerify: the decoder ignores the last character's unused low
		// bits and line breaks, so other spellings of a signature verified.
		{"other spelling of the signature", v1, respell(old), now, token.ErrMalformed},
		{"line break in the signature", v1, old[:len(old)-5] + "\r\n" + old[len(old)-5:], now, token.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.keys.Verify(c.tok, c.at, 90*24*time.Hour)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err == nil && (got.Tenant != "consumer" || got.LinkID != claims().LinkID) {
				t.Errorf("claims %+v", got)
			}
		})
	}
}

// respell changes the last character of tok's signature to another that decodes to the
// same bytes: a 32-byte MAC leaves its last character two unused low bits.
func respell(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i^1])
}

func TestTokenHoldsNoEmail(t *testing.T) {
	keys, _ := token.ParseKeys("k1:" + key('a'))
	tok, _ := keys.Sign(claims())
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if strings.Contains(string(raw), "@") {
		t.Errorf("payload %s holds an address", raw)
	}
}

func TestParseKeysRejects(t *testing.T) {
	for name, spec := range map[string]string{
		"short secret": "k1:" + base64.StdEncoding.EncodeToString([]byte("short")),
		"no id":        ":" + key('a'),
		"not base64":   "k1:***",
		"duplicate":    "k1:" + key('a') + ",k1:" + key('b'),
	} {
		if _, err := token.ParseKeys(spec); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A link token and a confirmation token are signed under different domains: neither
// verifies as the other, so a link cannot confirm a grant by itself.
func TestLinkAndGrantTokensDoNotStandForEachOther(t *testing.T) {
	keys, _ := token.ParseKeys("k1:" + key('a'))
	c := claims()
	link, _ := keys.Sign(c)
	grant, err := keys.SignGrant(token.Grant{Tenant: c.Tenant, SubjectKey: c.SubjectKey, LinkID: c.LinkID,
		Purposes: []string{"analytics"}, IssuedAt: now.Unix(), Sealed: c.Sealed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.VerifyGrant(grant, now, time.Hour); err != nil {
		t.Fatalf("a fresh grant: %v", err)
	}
	if _, err := keys.VerifyGrant(link, now, time.Hour); !errors.Is(err, token.ErrSignature) {
		t.Errorf("a link verified as a grant: %v", err)
	}
	if _, err := keys.Verify(grant, now, time.Hour); !errors.Is(err, token.ErrSignature) {
		t.Errorf("a grant verified as a link: %v", err)
	}
}

// Links issued before docs/adr/0006 carried the address hash; they still verify (and
// are never re-signed with it by the service).
func TestLegacyLinkStillVerifies(t *testing.T) {
	keys, _ := token.ParseKeys("k1:" + key('a'))
	c := claims()
	c.LinkID = ""
	c.LegacyEmailHash = strings.Repeat("ab", 32)
	tok, _ := keys.Sign(c)
	got, err := keys.Verify(tok, now, time.Hour)
	if err != nil || got.LinkID != "" || got.Sealed == nil {
		t.Fatalf("legacy link: %+v %v", got, err)
	}
}
