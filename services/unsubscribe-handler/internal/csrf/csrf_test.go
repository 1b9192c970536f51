package csrf_test

import (
	"errors"
	"testing"
	"time"

	"github.com/consentry/consentry/services/unsubscribe-handler/internal/csrf"
)

func TestCheck(t *testing.T) {
	g := csrf.New([]byte("0123456789abcdef0123456789abcdef"), 30*time.Minute)
	other := csrf.New([]byte("fedcba9876543210fedcba9876543210"), 30*time.Minute)
	now := time.Date(2026, 11, 28, 21, 10, 0, 0, time.UTC)
	tok := g.Issue("link-a", now)
	cases := []struct {
		name  string
		tok   string
		bound string
		at    time.Time
		want  error
	}{
		{"fresh", tok, "link-a", now, nil},
		{"in the next window", tok, "link-a", now.Add(30 * time.Minute), nil},
		{"two windows later", tok, "link-a", now.Add(61 * time.Minute), csrf.ErrStale},
		{"from the future", tok, "link-a", now.Add(-31 * time.Minute), csrf.ErrStale},
		{"for another link", tok, "link-b", now, csrf.ErrForged},
		{"under another secret", other.Issue("link-a", now), "link-a", now, csrf.ErrForged},
		{"missing", "", "link-a", now, csrf.ErrMissing},
		{"garbage", "abc", "link-a", now, csrf.ErrForged},
		{"window moved forward", bump(tok), "link-a", now, csrf.ErrForged},
	}
	for _, c := range cases {
		if err := g.Check(c.tok, c.bound, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// bump moves a token's window forward without re-signing it, as a forger would try to
// extend an old token.
func bump(tok string) string {
	b := []byte(tok)
	for i := 0; b[i] != '.'; i++ {
		if b[i+1] == '.' {
			b[i]++
		}
	}
	return string(b)
}
