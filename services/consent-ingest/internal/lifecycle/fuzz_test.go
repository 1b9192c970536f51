package lifecycle_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
)

// FuzzVerifyLink: a verification token comes from anyone who types a URL. Whatever it
// holds, Verify must not panic, must answer only ErrBadLink or ErrLinkExpired, and may
// accept only a token it signed itself.
func FuzzVerifyLink(f *testing.F) {
	keys, err := lifecycle.ParseLinkKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	good, err := keys.Sign("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f7", now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good[:len(good)-1], "k1..", "..", "k2." + good[3:], strings.Repeat("A", 300), ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := keys.Verify(token, now)
		switch {
		case err == nil:
			// Only a token in the signed shape, under the one key, naming a request id.
			if parts := strings.Split(token, "."); len(parts) != 3 || parts[0] != "k1" || !eventid.Valid(id) {
				t.Fatalf("accepted %q for %q", token, id)
			}
		case err != lifecycle.ErrBadLink && err != lifecycle.ErrLinkExpired:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
