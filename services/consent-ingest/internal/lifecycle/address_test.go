package lifecycle_test

import (
	"errors"
	"testing"

	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
)

func TestLinkAddressIsOnlyTheOneOnFile(t *testing.T) {
	for name, c := range map[string]struct {
		named, onFile, want string
		err                 error
	}{
		"the address on file":               {"ada@example.com", "ada@example.com", "ada@example.com", nil},
		"the same address, written apart":   {" Ada@Example.com ", "ada@example.com", "ada@example.com", nil},
		"none named: the one on file":       {"", "ada@example.com", "ada@example.com", nil},
		"another address":                   {"mallory@example.net", "ada@example.com", "", lifecycle.ErrNotOnFile},
		"nothing on file":                   {"ada@example.com", "", "", lifecycle.ErrNothingOnFile},
		"nothing named and nothing on file": {"", "", "", lifecycle.ErrNothingOnFile},
	} {
		got, err := lifecycle.LinkAddress(c.named, c.onFile)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s: %q, %v; want %q, %v", name, got, err, c.want, c.err)
		}
	}
}
