package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type state struct{ Who string }

func TestSealedValuesOpenOnlyUnalteredForTheirPurposeBeforeExpiry(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v, err := s.Seal("session", state{"alice"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got state
	if err := s.Open("session", v, now, &got); err != nil || got.Who != "alice" {
		t.Fatalf("Open = %v, %+v", err, got)
	}
	if strings.Contains(v, "alice") {
		t.Error("the cookie shows its content")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	raw[len(raw)-1] ^= 1
	other, _ := NewSealer(bytes.Repeat([]byte{8}, 32))
	for name, open := range map[string]func() error{
		"altered":         func() error { return s.Open("session", base64.RawURLEncoding.EncodeToString(raw), now, &got) },
		"expired":         func() error { return s.Open("session", v, now.Add(time.Hour), &got) },
		"another purpose": func() error { return s.Open("login", v, now, &got) },
		"another key":     func() error { return other.Open("session", v, now, &got) },
		"garbage":         func() error { return s.Open("session", "%%%", now, &got) },
	} {
		if err := open(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Open = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{true, false} {
		w := httptest.NewRecorder()
		Cookies{Secure: secure}.Set(w, "console", "v", time.Hour)
		h := w.Header().Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(h, want) {
				t.Errorf("secure=%v: %q lacks %s", secure, h, want)
			}
		}
		if secure != strings.HasPrefix(h, "__Host-console=") || secure != strings.Contains(h, "Secure") {
			t.Errorf("secure=%v: %q", secure, h)
		}
		if strings.Contains(h, "Domain") {
			t.Errorf("%q names a domain", h)
		}
	}
}
