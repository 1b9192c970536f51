package vendor_test

import (
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// TestRetryAfterIsBounded: found by FuzzRetryAfter, "10000000000" seconds overflowed
// time.Duration to a negative wait.
func TestRetryAfterIsBounded(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"7", 7 * time.Second},
		{"86400", 24 * time.Hour},
		{"86401", vendor.MaxRetryAfter},
		{"10000000000", vendor.MaxRetryAfter},
		{"9223372036854775807", vendor.MaxRetryAfter},
		{"Mon, 02 Mar 2026 10:00:30 GMT", 30 * time.Second},
		{"Fri, 31 Dec 9999 23:59:59 GMT", vendor.MaxRetryAfter},
	}
	for _, tc := range tests {
		if got := vendor.RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
