package token_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

const fuzzMaxAge = 90 * 24 * time.Hour

// fuzzKeys are a rotated key set (k2 signs, k1 still verifies), a signer per key id, and
// forgers: the right key ids with other secrets, and a right secret under an unknown id.
type fuzzKeys struct {
	verifier *token.Keys
	signers  map[string]*token.Keys
	forgers  []*token.Keys
}

func newFuzzKeys(tb testing.TB) fuzzKeys {
	tb.Helper()
	parse := func(spec string) *token.Keys {
		k, err := token.ParseKeys(spec)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	return fuzzKeys{
		verifier: parse("k2:" + key('b') + ",k1:" + key('a')),
		signers:  map[string]*token.Keys{"k1": parse("k1:" + key('a')), "k2": parse("k2:" + key('b'))},
		forgers:  []*token.Keys{parse("k2:" + key('z')), parse("k1:" + key('y')), parse("k3:" + key('b'))},
	}
}

func mustSign(tb testing.TB, signer *token.Keys, c token.Claims) string {
	tb.Helper()
	tok, err := signer.Sign(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// FuzzVerify feeds arbitrary strings to Verify. It must never panic, must end every
// failure with one of its four errors, and may accept only a token that Sign made: the
// exact string the signer of its key id makes of its claims, and no other spelling.
func FuzzVerify(f *testing.F) {
	k := newFuzzKeys(f)
	c := claims()
	withAll := claims()
	withAll.List = "newsletter"
	withAll.Sealed = &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte("0123456789ab"), Ciphertext: []byte{0xde, 0xad}}
	old := mustSign(f, k.signers["k1"], c)
	fresh := mustSign(f, k.signers["k2"], withAll)
	payload, sig, _ := strings.Cut(old, ".")
	expired := c
	expired.IssuedAt = now.Add(-fuzzMaxAge - time.Hour).Unix()
	empty := c
	empty.Tenant = ""
	for _, s := range []string{
		old,
		fresh,
		mustSign(f, k.signers["k1"], expired),
		mustSign(f, k.signers["k2"], empty),
		mustSign(f, k.forgers[0], c),
		mustSign(f, k.forgers[2], c),
		payload + "." + sig[:len(sig)-1],
		payload + "." + sig + "A",
		payload + "==." + sig,
		payload,
		"." + sig,
		"%%%.%%%",
		"e30." + sig, // "{}" under a real signature
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := k.verifier.Verify(tok, now, fuzzMaxAge)
		if err != nil {
			if !errors.Is(err, token.ErrMalformed) && !errors.Is(err, token.ErrUnknownKey) &&
				!errors.Is(err, token.ErrSignature) && !errors.Is(err, token.ErrExpired) {
				t.Errorf("unclassified error %v", err)
			}
			return
		}
		signer, ok := k.signers[got.KeyID]
		if !ok {
			t.Fatalf("verified a token under key %q, which the set does not hold", got.KeyID)
		}
		if want := mustSign(t, signer, got); tok != want {
			t.Errorf("verified %q, which Sign never made; it makes %q of those claims", tok, want)
		}
		checkClaims(t, got)
	})
}

// FuzzSignVerify signs fuzzed claims and checks that the token verifies to the same
// claims, that what the forgers sign never verifies, and that no one-byte change to the
// token verifies either.
func FuzzSignVerify(f *testing.F) {
	k := newFuzzKeys(f)
	hash := "bGluay1pZA" // a link id
	f.Add("consumer", "sk", hash, "", int64(0), false, uint16(0), byte('x'))
	f.Add("acme", "3f1c2a9e", hash, "newsletter", int64(3600), true, uint16(60), byte('A'))
	f.Add("consumer", "sk", hash, "", int64(fuzzMaxAge/time.Second), false, uint16(120), byte('.'))
	f.Add("consumer", "sk", hash, "", int64(-299), true, uint16(999), byte('-'))
	f.Add("consumer", "sk", hash, "", int64(-301), false, uint16(1), byte('_'))
	f.Add("", "sk", hash, "", int64(0), false, uint16(5), byte('='))
	f.Add("consumer", "", "", "ünïcödé \x00", int64(1<<40), true, uint16(7), byte('\n'))
	f.Add("consumer", "sk", hash, strings.Repeat("l", 4000), int64(0), false, uint16(3), byte('a'))
	f.Fuzz(func(t *testing.T, tenant, subjectKey, linkID, list string, age int64, sealed bool, pos uint16, ch byte) {
		c := token.Claims{Tenant: tenant, SubjectKey: subjectKey, LinkID: linkID, List: list, IssuedAt: now.Unix() - age}
		if sealed {
			c.Sealed = &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte(subjectKey), Ciphertext: []byte(tenant)}
		}
		tok := mustSign(t, k.verifier, c)
		got, err := k.verifier.Verify(tok, now, fuzzMaxAge)
		issued := time.Unix(c.IssuedAt, 0)
		switch {
		case len(tok) > 4096 || tenant == "" || subjectKey == "" || !sealed:
			if err == nil {
				t.Errorf("verified %+v, a token too long or with a claim missing", got)
			}
		case issued.After(now.Add(5*time.Minute)) || now.Sub(issued) > fuzzMaxAge:
			if !errors.Is(err, token.ErrExpired) {
				t.Errorf("token issued %v: %v, want ErrExpired", issued, err)
			}
		case err != nil:
			t.Fatalf("a fresh token does not verify: %v", err)
		default:
			c.KeyID = "k2"
			if validUTF8(c) && !reflect.DeepEqual(got, c) {
				t.Errorf("claims changed:\nsigned   %+v\nverified %+v", c, got)
			}
		}
		for _, forger := range k.forgers {
			if got, err := k.verifier.Verify(mustSign(t, forger, c), now, fuzzMaxAge); err == nil {
				t.Errorf("verified a forgery: %+v", got)
			}
		}
		if len(tok) > 0 {
			// pos counts from the end, where the signature is.
			b := []byte(tok)
			b[len(b)-1-int(pos)%len(b)] = ch
			if tampered := string(b); tampered != tok {
				if got, err := k.verifier.Verify(tampered, now, fuzzMaxAge); err == nil {
					t.Errorf("verified %q, a one-byte change of %q: %+v", tampered, tok, got)
				}
			}
		}
	})
}

func checkClaims(t *testing.T, c token.Claims) {
	t.Helper()
	if c.Tenant == "" || c.SubjectKey == "" || c.Sealed == nil {
		t.Errorf("verified claims with a field missing: %+v", c)
	}
	if issued := time.Unix(c.IssuedAt, 0); issued.After(now.Add(5*time.Minute)) || now.Sub(issued) > fuzzMaxAge {
		t.Errorf("verified a token issued %v", issued)
	}
}

// validUTF8 reports whether every string claim survives JSON unchanged.
func validUTF8(c token.Claims) bool {
	return utf8.ValidString(c.Tenant) && utf8.ValidString(c.SubjectKey) && utf8.ValidString(c.LinkID) && utf8.ValidString(c.List)
}
