package vendor_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// FuzzRetryAfter: whatever a vendor puts in Retry-After, the wait is never negative and
// never longer than MaxRetryAfter; delta-seconds are honoured exactly up to that bound,
// an HTTP-date is the time until it, and anything else means no wait.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"", "0", "7", " 120 ", "-1", "+5", "1.5", "0x10", "007",
		"86400", "86401", "31536000", "9223372036", "9223372037", "9223372036854775807", "99999999999999999999",
		"Mon, 02 Mar 2026 10:00:30 GMT", "Monday, 02-Mar-26 10:00:30 GMT", "Mon Mar  2 10:00:30 2026",
		"Mon, 02 Mar 2026 09:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 02 Mar 2026 10:00:30 +0100",
		"soon", "\t\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := vendor.RetryAfter(v, now)
		if got < 0 || got > vendor.MaxRetryAfter {
			t.Fatalf("RetryAfter(%q) = %v, outside [0, %v]", v, got, vendor.MaxRetryAfter)
		}
		trimmed := strings.TrimSpace(v)
		if secs, err := strconv.Atoi(trimmed); err == nil {
			want := time.Duration(0)
			switch {
			case secs > int(vendor.MaxRetryAfter/time.Second):
				want = vendor.MaxRetryAfter
			case secs > 0:
				want = time.Duration(secs) * time.Second
			}
			if got != want {
				t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
			}
			return
		}
		if at, err := http.ParseTime(trimmed); err == nil {
			if want := min(max(at.Sub(now), 0), vendor.MaxRetryAfter); got != want {
				t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
			}
			return
		}
		if got != 0 {
			t.Errorf("RetryAfter(%q) = %v for an unreadable value, want 0", v, got)
		}
	})
}
