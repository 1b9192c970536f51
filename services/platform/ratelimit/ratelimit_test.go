package ratelimit_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/ratelimit"
)

func TestBurstThenRefusedThenRefilled(t *testing.T) {
	l := ratelimit.New(1, 3, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth request: allowed=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Error("another client was limited by a's requests")
	}
	// Refused requests do not push the refill further out.
	for range 5 {
		l.Allow("a", now)
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); !ok {
		t.Error("no token a second later")
	}
}

func TestTableIsBounded(t *testing.T) {
	l := ratelimit.New(1, 1, 10)
	now := time.Now()
	for i := range 1000 {
		l.Allow(fmt.Sprint(i), now)
	}
	if n := l.Len(); n != 10 {
		t.Errorf("%d clients remembered, want 10", n)
	}
}

func TestClientKey(t *testing.T) {
	proxies, err := ratelimit.ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote, xff string
		trusted           bool
		want              string
	}{
		{"direct", "203.0.113.5:4000", "", true, "203.0.113.5"},
		{"header ignored without a trusted proxy", "203.0.113.5:4000", "198.51.100.1", false, "203.0.113.5"},
		{"header ignored from an untrusted peer", "203.0.113.5:4000", "198.51.100.1", true, "203.0.113.5"},
		{"behind a trusted proxy", "10.1.2.3:4000", "198.51.100.1", true, "198.51.100.1"},
		{"forged left-most hop", "10.1.2.3:4000", "1.2.3.4, 198.51.100.1", true, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:4000", "198.51.100.1, 192.0.2.7", true, "198.51.100.1"},
		{"garbage hop stops the walk", "10.1.2.3:4000", "198.51.100.1, nonsense", true, "10.1.2.3"},
		{"ipv6 grouped by /64", "[2001:db8:1:2:3:4:5:6]:443", "", true, "2001:db8:1:2::/64"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		var trusted = proxies
		if !c.trusted {
			trusted = nil
		}
		if got := ratelimit.ClientKey(r, trusted); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
