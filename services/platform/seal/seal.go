// Package seal keeps personal identifiers encrypted everywhere but in the memory of the
// service that needs them (docs/architecture.md, guarantee 5).
//
// Each subject has its own 256-bit data key. Identifiers are sealed with AES-256-GCM under
// that key, with the tenant and subject_key as associated data, so a sealed blob cannot be
// moved onto another subject's event. Data keys are stored wrapped (encrypted) under a
// master key that only the environment holds. Destroying a subject's data key makes every
// copy of its identifiers — on Kafka, in PostgreSQL, in backups — unreadable.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/consentry/consentry/schemas"
)

// Scheme names the sealing format written into every schemas.Sealed.
const Scheme = "A256GCM-v1"

// ErrShredded is returned when a subject's data key has been destroyed.
var ErrShredded = errors.New("seal: the subject's data key was destroyed")

// ErrNoKey is returned by Open when the subject has no data key at all.
var ErrNoKey = errors.New("seal: the subject has no data key")

// Identifiers are the personal identifiers of one subject, as sealed on events.
type Identifiers struct {
	SubjectID   string            `json:"subject_id,omitempty"`
	Email       string            `json:"email,omitempty"`
	AnonymousID string            `json:"anonymous_id,omitempty"`
	VendorIDs   map[string]string `json:"vendor_ids,omitempty"`
}

// Empty reports whether there is nothing to seal.
func (i Identifiers) Empty() bool {
	return i.SubjectID == "" && i.Email == "" && i.AnonymousID == "" && len(i.VendorIDs) == 0
}

// WrappedKey is a data key encrypted under a master key.
type WrappedKey struct {
	MasterKeyID string
	Ciphertext  []byte // nonce || sealed key
	Destroyed   bool
}

// Store persists wrapped data keys. Implementations must make Create safe against a
// concurrent Create for the same subject: the first writer wins and both callers get the
// winner's key.
type Store interface {
	Get(ctx context.Context, subjectKey string) (WrappedKey, error) // ErrNoKey when absent
	Create(ctx context.Context, tenant, subjectKey string, k WrappedKey) (WrappedKey, error)
}

// MasterKeys are the key-encryption keys. The first one wraps new data keys; all of them
// unwrap, which is what lets the master key rotate without downtime.
type MasterKeys struct {
	current string
	aeads   map[string]cipher.AEAD
}

// ParseMasterKeys reads "id:base64key[,id:base64key...]" — each key 32 bytes, standard or
// URL base64. The first entry is the current key.
func ParseMasterKeys(spec string) (*MasterKeys, error) {
	mk := &MasterKeys{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		id, enc, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("seal: master key %d: want id:base64key", i+1)
		}
		key, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("seal: master key %q: %w", id, err)
		}
		if _, dup := mk.aeads[id]; dup {
			return nil, fmt.Errorf("seal: master key id %q appears twice", id)
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		mk.aeads[id] = aead
		if i == 0 {
			mk.current = id
		}
	}
	return mk, nil
}

// CurrentID is the id of the key that wraps new data keys.
func (m *MasterKeys) CurrentID() string { return m.current }

func decodeKey(enc string) ([]byte, error) {
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := e.DecodeString(enc); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("key is %d bytes, want 32", len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("key is not base64")
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}

func (m *MasterKeys) wrap(subjectKey string, dataKey []byte) (WrappedKey, error) {
	aead := m.aeads[m.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return WrappedKey{}, err
	}
	return WrappedKey{
		MasterKeyID: m.current,
		Ciphertext:  aead.Seal(nonce, nonce, dataKey, wrapAAD(subjectKey)),
	}, nil
}

func (m *MasterKeys) unwrap(subjectKey string, w WrappedKey) ([]byte, error) {
	aead, ok := m.aeads[w.MasterKeyID]
	if !ok {
		return nil, fmt.Errorf("seal: data key is wrapped under master key %q, which is not configured", w.MasterKeyID)
	}
	n := aead.NonceSize()
	if len(w.Ciphertext) < n {
		return nil, errors.New("seal: wrapped data key is truncated")
	}
	key, err := aead.Open(nil, w.Ciphertext[:n], w.Ciphertext[n:], wrapAAD(subjectKey))
	if err != nil {
		return nil, errors.New("seal: data key does not unwrap (wrong master key or tampered)")
	}
	return key, nil
}

// Rewrap re-encrypts a subject's data key under the current master key, for finishing a
// rotation: after every key is rewrapped, the old master key can leave the configuration.
// A key already under the current master key comes back as it is; a destroyed key stays
// destroyed (ErrShredded). The data key itself never changes, so every sealed copy keeps
// opening, and it never appears in an error.
func (m *MasterKeys) Rewrap(subjectKey string, w WrappedKey) (WrappedKey, error) {
	if w.Destroyed {
		return WrappedKey{}, ErrShredded
	}
	if w.MasterKeyID == m.current {
		return w, nil
	}
	key, err := m.unwrap(subjectKey, w)
	if err != nil {
		return WrappedKey{}, err
	}
	defer clear(key)
	return m.wrap(subjectKey, key)
}

func wrapAAD(subjectKey string) []byte { return []byte("consentry/dek/v1\x00" + subjectKey) }

func sealAAD(tenant, subjectKey string) []byte {
	return []byte("consentry/identifiers/v1\x00" + tenant + "\x00" + subjectKey)
}

// Sealer seals and opens identifiers, caching unwrapped data keys for a short time so that
// a busy subject costs one database read per TTL, not one per event.
type Sealer struct {
	master *MasterKeys
	store  Store
	ttl    time.Duration
	max    int
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	aead    cipher.AEAD
	expires time.Time
}

// Options tune the data-key cache.
type Options struct {
	// CacheTTL bounds how long a key destroyed elsewhere can still open here when the
	// destruction's notification is missed (keystore.Listen disconnected); default 5 s.
	CacheTTL  time.Duration
	CacheSize int // default 10,000 subjects
	Now       func() time.Time
}

// NewSealer returns a Sealer over the store.
func NewSealer(master *MasterKeys, store Store, opts Options) *Sealer {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sealer{master: master, store: store, ttl: opts.CacheTTL, max: opts.CacheSize, now: opts.Now, cache: map[string]cachedKey{}}
}

// Seal encrypts ids under the subject's data key, creating the key on first use. It
// returns nil for empty identifiers.
func (s *Sealer) Seal(ctx context.Context, tenant, subjectKey string, ids Identifiers) (*schemas.Sealed, error) {
	if ids.Empty() {
		return nil, nil
	}
	aead, err := s.dataKey(ctx, tenant, subjectKey, true)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &schemas.Sealed{Scheme: Scheme, Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, plain, sealAAD(tenant, subjectKey))}, nil
}

// Open decrypts sealed identifiers. It returns ErrShredded once the subject's key is gone.
func (s *Sealer) Open(ctx context.Context, tenant, subjectKey string, sealed *schemas.Sealed) (Identifiers, error) {
	if sealed == nil {
		return Identifiers{}, nil
	}
	if sealed.Scheme != Scheme {
		return Identifiers{}, fmt.Errorf("seal: unknown scheme %q", sealed.Scheme)
	}
	aead, err := s.dataKey(ctx, tenant, subjectKey, false)
	if err != nil {
		return Identifiers{}, err
	}
	if len(sealed.Nonce) != aead.NonceSize() {
		return Identifiers{}, errors.New("seal: nonce has the wrong size")
	}
	plain, err := aead.Open(nil, sealed.Nonce, sealed.Ciphertext, sealAAD(tenant, subjectKey))
	if err != nil {
		return Identifiers{}, errors.New("seal: identifiers do not open (wrong subject or tampered)")
	}
	var ids Identifiers
	if err := json.Unmarshal(plain, &ids); err != nil {
		return Identifiers{}, errors.New("seal: opened identifiers are not valid JSON")
	}
	return ids, nil
}

// Forget drops a subject's key from the cache, for when the key has just been destroyed.
func (s *Sealer) Forget(subjectKey string) {
	s.mu.Lock()
	delete(s.cache, subjectKey)
	s.mu.Unlock()
}

// ForgetAll drops every key from the cache, for when destructions may have been missed
// (keystore.Listen reconnecting).
func (s *Sealer) ForgetAll() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

func (s *Sealer) dataKey(ctx context.Context, tenant, subjectKey string, create bool) (cipher.AEAD, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[subjectKey]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.aead, nil
	}

	w, err := s.store.Get(ctx, subjectKey)
	if errors.Is(err, ErrNoKey) && create {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		wrapped, werr := s.master.wrap(subjectKey, fresh)
		if werr != nil {
			return nil, werr
		}
		w, err = s.store.Create(ctx, tenant, subjectKey, wrapped)
	}
	if err != nil {
		return nil, err
	}
	if w.Destroyed {
		return nil, ErrShredded
	}
	key, err := s.master.unwrap(subjectKey, w)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.cache) >= s.max {
		// Dropping everything is crude but bounded and rare: it only happens when more
		// distinct subjects than CacheSize were touched within one TTL.
		clear(s.cache)
	}
	s.cache[subjectKey] = cachedKey{aead: aead, expires: now.Add(s.ttl)}
	s.mu.Unlock()
	return aead, nil
}
