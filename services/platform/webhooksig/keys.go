package webhooksig

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Key encodings of the Standard Webhooks specification: base64 (standard, padded) behind a
// prefix that tells a secret key from a public one at a glance.
const (
	secretKeyPrefix = "whsk_"
	publicKeyPrefix = "whpk_"
)

// Key is an Ed25519 public key; as text it is whpk_<base64 of its 32 bytes>.
type Key ed25519.PublicKey

// MarshalText writes the whpk_ form.
func (k Key) MarshalText() ([]byte, error) {
	if len(k) != ed25519.PublicKeySize {
		return nil, errors.New("webhooksig: not an Ed25519 public key")
	}
	return []byte(publicKeyPrefix + base64.StdEncoding.EncodeToString(k)), nil
}

// UnmarshalText reads the whpk_ form.
func (k *Key) UnmarshalText(b []byte) error {
	raw, ok := strings.CutPrefix(string(b), publicKeyPrefix)
	dec, err := base64.StdEncoding.DecodeString(raw)
	if !ok || err != nil || len(dec) != ed25519.PublicKeySize {
		return errors.New("webhooksig: a public key is whpk_ followed by the base64 of 32 bytes")
	}
	*k = dec
	return nil
}

// PublicKey is one key a receiver verifies with, as GET /.well-known/webhook-keys serves
// it. NotAfter nil is the current key; a previous key is trusted until NotAfter and no
// longer, so that a rotated-out key (perhaps rotated out because it leaked) stops
// verifying on a date every receiver knows.
type PublicKey struct {
	KeyID     string     `json:"key_id"`
	PublicKey Key        `json:"public_key"`
	NotAfter  *time.Time `json:"not_after"`
}

func (p PublicKey) validAt(now time.Time) bool {
	return p.NotAfter == nil || !now.After(*p.NotAfter)
}

// KeySet is the document of GET /.well-known/webhook-keys.
type KeySet struct {
	Keys []PublicKey `json:"keys"`
}

type signingKey struct {
	id       string
	private  ed25519.PrivateKey // nil for a previous key of which only the public half is kept
	public   ed25519.PublicKey
	notAfter *time.Time
}

// Keys are Consentry's webhook signing keys: the current one, and previous ones that stay
// trusted until their not_after.
type Keys struct {
	keys []signingKey // current first
}

// GenerateSecretKey returns a new Ed25519 private key in the whsk_ form ParseKeys reads.
func GenerateSecretKey() string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader) // crypto/rand does not fail since Go 1.24
	return secretKeyPrefix + base64.StdEncoding.EncodeToString(priv)
}

// ParseKeys reads CONSENTRY_WEBHOOK_SIGNING_KEYS: a comma-separated list of
// id:whsk_<base64> entries, the current key first, then previous keys each as
// id:whsk_<base64>@<RFC 3339 not_after> (still signed with, so that receivers holding only
// the old public key keep verifying during the rotation) or id:whpk_<base64>@<not_after>
// (served for receivers, no longer signed with). whsk_ holds the 64-byte Ed25519 private
// key (seed then public key, as Go's crypto/ed25519 and libsodium keep it) or its 32-byte
// seed. Errors never quote key material.
func ParseKeys(spec string) (*Keys, error) {
	var ks Keys
	var errs []error
	seen := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, err := parseEntry(entry, len(ks.keys) == 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		if seen[k.id] {
			errs = append(errs, fmt.Errorf("entry %d: key id %q appears twice", i+1, k.id))
		}
		seen[k.id] = true
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no key: want id:whsk_<base64>, the current key first"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &ks, nil
}

func parseEntry(entry string, current bool) (signingKey, error) {
	id, rest, ok := strings.Cut(entry, ":")
	if !ok || id == "" || strings.ContainsAny(id, " .@") {
		return signingKey{}, errors.New("want id:whsk_<base64>[@not_after], the id without spaces, dots or @")
	}
	k := signingKey{id: id}
	material, notAfter, windowed := strings.Cut(rest, "@")
	if windowed {
		t, err := time.Parse(time.RFC3339, notAfter)
		if err != nil {
			return k, fmt.Errorf("key %s: not_after %q is not an RFC 3339 time", id, notAfter)
		}
		k.notAfter = &t
	}
	switch {
	case current && windowed:
		return k, fmt.Errorf("key %s: the first key is the current one and has no not_after", id)
	case !current && !windowed:
		return k, fmt.Errorf("key %s: a previous key needs @not_after (RFC 3339), the end of its rotation window", id)
	}
	if strings.HasPrefix(material, publicKeyPrefix) {
		if current {
			return k, fmt.Errorf("key %s: the current key signs, so it must be a whsk_ private key", id)
		}
		var pub Key
		if err := pub.UnmarshalText([]byte(material)); err != nil {
			return k, fmt.Errorf("key %s: %w", id, err)
		}
		k.public = ed25519.PublicKey(pub)
		return k, nil
	}
	raw, ok := strings.CutPrefix(material, secretKeyPrefix)
	b, err := base64.StdEncoding.DecodeString(raw)
	switch {
	case !ok || err != nil:
		return k, fmt.Errorf("key %s: want whsk_<base64> (or whpk_<base64> for a previous key)", id)
	case len(b) == ed25519.SeedSize:
		k.private = ed25519.NewKeyFromSeed(b)
	case len(b) == ed25519.PrivateKeySize:
		k.private = ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !k.private.Equal(ed25519.PrivateKey(b)) {
			return k, fmt.Errorf("key %s: the private key's public half does not match its seed", id)
		}
	default:
		return k, fmt.Errorf("key %s: whsk_ holds %d bytes, want 32 (seed) or 64 (private key)", id, len(b))
	}
	k.public = k.private.Public().(ed25519.PublicKey)
	return k, nil
}

// CurrentID names the key new signatures are made with.
func (ks *Keys) CurrentID() string { return ks.keys[0].id }

// Public is the key set receivers are served at now: the current key and every previous
// key whose window has not ended.
func (ks *Keys) Public(now time.Time) KeySet {
	set := KeySet{Keys: []PublicKey{}}
	for _, k := range ks.keys {
		p := PublicKey{KeyID: k.id, PublicKey: Key(k.public), NotAfter: k.notAfter}
		if p.validAt(now) {
			set.Keys = append(set.Keys, p)
		}
	}
	return set
}

// Handler serves Public as JSON. The keys are public: no credential is asked. Receivers
// may cache the set for the five minutes Cache-Control allows: during a rotation the
// previous key (kept as whsk_) still signs beside the new one, so a set cached before the
// rotation still verifies.
func (ks *Keys) Handler(now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(ks.Public(now()))
	})
}
