package seal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/consentry/consentry/platform/seal"
)

// memStore is a seal.Store in memory: package seal's logic is pure, the PostgreSQL store
// is tested through the services that use it.
type memStore struct {
	mu   sync.Mutex
	keys map[string]seal.WrappedKey
}

func (m *memStore) Get(_ context.Context, sk string) (seal.WrappedKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[sk]
	if !ok {
		return seal.WrappedKey{}, seal.ErrNoKey
	}
	return k, nil
}

func (m *memStore) Create(_ context.Context, _, sk string, k seal.WrappedKey) (seal.WrappedKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.keys[sk]; ok {
		return old, nil
	}
	m.keys[sk] = k
	return k, nil
}

func (m *memStore) destroy(sk string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[sk] = seal.WrappedKey{MasterKeyID: m.keys[sk].MasterKeyID, Destroyed: true}
}

func masterKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func newSealer(t *testing.T, spec string, store seal.Store) *seal.Sealer {
	t.Helper()
	mk, err := seal.ParseMasterKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return seal.NewSealer(mk, store, seal.Options{})
}

var ada = seal.Identifiers{SubjectID: "u_8d41", Email: "ada@example.com", AnonymousID: "a_77f", VendorIDs: map[string]string{"amplitude": "u_8d41"}}

func TestSealOpenRoundTripAndNoClearText(t *testing.T) {
	ctx := context.Background()
	s := newSealer(t, masterKey("k1", 1), &memStore{keys: map[string]seal.WrappedKey{}})
	sealed, err := s.Seal(ctx, "consumer", "sk1", ada)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Ciphertext, []byte("ada@example.com")) || sealed.Scheme != seal.Scheme {
		t.Fatalf("sealed %+v", sealed)
	}
	again, _ := s.Seal(ctx, "consumer", "sk1", ada)
	if bytes.Equal(again.Ciphertext, sealed.Ciphertext) {
		t.Error("two seals of the same identifiers are identical: the nonce is not fresh")
	}
	got, err := s.Open(ctx, "consumer", "sk1", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != ada.Email || got.SubjectID != ada.SubjectID || got.VendorIDs["amplitude"] != "u_8d41" {
		t.Errorf("opened %+v", got)
	}
	if empty, err := s.Seal(ctx, "consumer", "sk1", seal.Identifiers{}); err != nil || empty != nil {
		t.Errorf("sealing nothing gave %+v, %v", empty, err)
	}
}

func TestSealedBlobIsBoundToItsSubjectAndUntampered(t *testing.T) {
	ctx := context.Background()
	s := newSealer(t, masterKey("k1", 1), &memStore{keys: map[string]seal.WrappedKey{}})
	sealed, _ := s.Seal(ctx, "consumer", "sk1", ada)
	if _, err := s.Seal(ctx, "consumer", "sk2", ada); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "consumer", "sk2", sealed); err == nil {
		t.Error("a blob moved onto another subject's event opened")
	}
	if _, err := s.Open(ctx, "acme", "sk1", sealed); err == nil {
		t.Error("a blob opened under another tenant")
	}
	tampered := *sealed
	tampered.Ciphertext = append([]byte(nil), sealed.Ciphertext...)
	tampered.Ciphertext[0] ^= 1
	if _, err := s.Open(ctx, "consumer", "sk1", &tampered); err == nil {
		t.Error("a tampered blob opened")
	}
	if _, err := s.Open(ctx, "consumer", "nobody", sealed); !errors.Is(err, seal.ErrNoKey) {
		t.Errorf("opening for a subject without a key: %v, want ErrNoKey", err)
	}
}

// TestMasterKeyRotation: data keys wrapped under the old master key still open after a
// new key becomes current; a deployment missing the old key cannot open them.
func TestMasterKeyRotation(t *testing.T) {
	ctx := context.Background()
	store := &memStore{keys: map[string]seal.WrappedKey{}}
	old := newSealer(t, masterKey("k1", 1), store)
	sealed, _ := old.Seal(ctx, "consumer", "sk1", ada)

	rotated := newSealer(t, masterKey("k2", 2)+","+masterKey("k1", 1), store)
	if got, err := rotated.Open(ctx, "consumer", "sk1", sealed); err != nil || got.Email != ada.Email {
		t.Fatalf("after rotation: %+v, %v", got, err)
	}
	if _, err := rotated.Seal(ctx, "consumer", "sk-new", ada); err != nil {
		t.Fatal(err)
	}
	if k, _ := store.Get(ctx, "sk-new"); k.MasterKeyID != "k2" {
		t.Errorf("a new data key is wrapped under %q, want the current k2", k.MasterKeyID)
	}
	withoutOld := newSealer(t, masterKey("k2", 2), store)
	if _, err := withoutOld.Open(ctx, "consumer", "sk1", sealed); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("opening without the old master key: %v", err)
	}
}

func TestShreddedKeyOpensNothing(t *testing.T) {
	ctx := context.Background()
	store := &memStore{keys: map[string]seal.WrappedKey{}}
	s := newSealer(t, masterKey("k1", 1), store)
	sealed, _ := s.Seal(ctx, "consumer", "sk1", ada)
	store.destroy("sk1")
	s.Forget("sk1")
	if _, err := s.Open(ctx, "consumer", "sk1", sealed); !errors.Is(err, seal.ErrShredded) {
		t.Errorf("open after shredding: %v, want ErrShredded", err)
	}
	if _, err := s.Seal(ctx, "consumer", "sk1", ada); !errors.Is(err, seal.ErrShredded) {
		t.Errorf("seal after shredding: %v, want ErrShredded (a shredded subject gets no new key)", err)
	}
}

func TestParseMasterKeysRejects(t *testing.T) {
	for name, spec := range map[string]string{
		"no id":      ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		"short key":  "k1:" + base64.StdEncoding.EncodeToString([]byte("short")),
		"not base64": "k1:***",
		"duplicate":  masterKey("k1", 1) + "," + masterKey("k1", 2),
		"empty":      "",
	} {
		if _, err := seal.ParseMasterKeys(spec); err == nil {
			t.Errorf("%s: accepted %q", name, spec)
		}
	}
}

// TestRewrap: a data key rewrapped under the current master key opens where only that
// key is configured, opens the same sealed identifiers as before, and never shows the
// data key in an error.
func TestRewrap(t *testing.T) {
	ctx := context.Background()
	store := &memStore{keys: map[string]seal.WrappedKey{}}
	sealed, _ := newSealer(t, masterKey("k1", 1), store).Seal(ctx, "consumer", "sk1", ada)
	old, _ := store.Get(ctx, "sk1")

	rotated, err := seal.ParseMasterKeys(masterKey("k2", 2) + "," + masterKey("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	w, err := rotated.Rewrap("sk1", old)
	if err != nil || w.MasterKeyID != "k2" || bytes.Equal(w.Ciphertext, old.Ciphertext) {
		t.Fatalf("rewrap: %+v, %v", w, err)
	}
	store.keys["sk1"] = w
	if got, err := newSealer(t, masterKey("k2", 2), store).Open(ctx, "consumer", "sk1", sealed); err != nil || got.Email != ada.Email {
		t.Errorf("opening with k2 alone after the rewrap: %+v, %v", got, err)
	}
	if again, err := rotated.Rewrap("sk1", w); err != nil || !bytes.Equal(again.Ciphertext, w.Ciphertext) {
		t.Errorf("rewrapping a key already under the current master key changed it: %v", err)
	}
	if _, err := rotated.Rewrap("sk2", old); err == nil {
		t.Error("a wrapped key moved onto another subject was rewrapped")
	}
	if _, err := rotated.Rewrap("sk1", seal.WrappedKey{MasterKeyID: "k1", Destroyed: true}); !errors.Is(err, seal.ErrShredded) {
		t.Errorf("rewrapping a destroyed key: %v, want ErrShredded", err)
	}
	onlyK2, _ := seal.ParseMasterKeys(masterKey("k2", 2))
	if _, err := onlyK2.Rewrap("sk1", old); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("rewrapping without the old master key: %v", err)
	}
}
