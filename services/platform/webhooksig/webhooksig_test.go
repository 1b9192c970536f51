package webhooksig_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
)

func TestPostIsVerifiableAndTamperingIsNot(t *testing.T) {
	secret := []byte("receiver-secret-0123456789")
	now := time.Unix(1_800_000_000, 0)
	var got error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhooksig.HeaderTimestamp), 10, 64)
		got = webhooksig.Verify(secret, ts, body, r.Header.Get(webhooksig.HeaderSignature), now, 5*time.Minute)
		if r.Header.Get(webhooksig.HeaderKeyID) != "k1" {
			t.Errorf("key id %q", r.Header.Get(webhooksig.HeaderKeyID))
		}
	}))
	defer srv.Close()
	s := webhooksig.Sender{KeyID: "k1", Secret: secret, Now: func() time.Time { return now }}
	if err := s.Post(t.Context(), srv.URL, []byte(`{"a":1}`)); err != nil || got != nil {
		t.Fatalf("post %v, verify %v", err, got)
	}
	sig := webhooksig.Sign(secret, now.Unix(), []byte(`{"a":1}`))
	for name, c := range map[string]struct {
		body []byte
		sig  string
		at   time.Time
		want error
	}{
		"altered body": {[]byte(`{"a":2}`), sig, now, webhooksig.ErrBadSignature},
		"stale":        {[]byte(`{"a":1}`), sig, now.Add(time.Hour), webhooksig.ErrStale},
		"no prefix":    {[]byte(`{"a":1}`), sig[3:], now, webhooksig.ErrMalformedSignature},
		"other secret": {[]byte(`{"a":1}`), webhooksig.Sign([]byte("x"), now.Unix(), []byte(`{"a":1}`)), now, webhooksig.ErrBadSignature},
	} {
		if err := webhooksig.Verify(secret, now.Unix(), c.body, c.sig, c.at, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestPostReportsRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	if err := (webhooksig.Sender{KeyID: "k", Secret: []byte("s")}).Post(t.Context(), srv.URL, []byte(`{}`)); err == nil {
		t.Fatal("a 502 was taken as delivered")
	}
}
