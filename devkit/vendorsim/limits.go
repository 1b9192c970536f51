package vendorsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Limit makes the simulator enforce a vendor's rate limit and batch size, as the vendor
// documents them (docs/vendors/<vendor>.md), for load tools that measure how close a
// back-fill comes to the fastest drain the vendor allows. NoRateLimits does not turn a
// Limit off: a Limit is asked for explicitly.
type Limit struct {
	Vendor string `json:"vendor"`
	// PerSecond is how many requests the vendor takes a second; a burst of up to one
	// second's worth is admitted, as a token bucket refilled at that rate. Zero clears
	// the vendor's limit.
	PerSecond float64 `json:"per_second"`
	// MaxBatch is how many items (addresses, ids) one request may carry; zero means no
	// maximum beyond the vendor's own.
	MaxBatch int `json:"max_batch"`
}

// bucket is the state of one vendor's Limit.
type bucket struct {
	limit  Limit
	tokens float64
	at     time.Time
}

// retryAfterVendors document a Retry-After on their 429 (docs/vendors/fullstory.md,
// posthog.md). The others get their own throttle signal without one, as in production.
var retryAfterVendors = map[string]bool{"fullstory": true, "posthog": true}

// SetLimit sets (or with PerSecond 0 clears) a vendor's Limit. The error names the
// offending field.
func (s *Simulator) SetLimit(l Limit) error {
	if _, ok := s.vendors[l.Vendor]; !ok {
		return &fieldError{"vendor", fmt.Sprintf("unknown vendor %q; want one of %v", l.Vendor, s.vendorNames())}
	}
	if math.IsNaN(l.PerSecond) || math.IsInf(l.PerSecond, 0) || l.PerSecond < 0 {
		return &fieldError{"per_second", "must be a finite number, zero or more"}
	}
	if l.MaxBatch < 0 {
		return &fieldError{"max_batch", "must not be negative"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.PerSecond == 0 {
		delete(s.limits, l.Vendor)
		return nil
	}
	// Starting full: a vendor's window has not been spent by calls the simulator never saw.
	s.limits[l.Vendor] = &bucket{limit: l, tokens: max(l.PerSecond, 1), at: s.now()}
	return nil
}

// admit takes a token from vendor's bucket, or returns how long until one is there.
func (s *Simulator) admit(vendor string) (wait time.Duration, limited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.limits[vendor]
	if !ok {
		return 0, false
	}
	now := s.now()
	capacity := max(b.limit.PerSecond, 1)
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(capacity, b.tokens+d.Seconds()*b.limit.PerSecond)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	return time.Duration((1 - b.tokens) / b.limit.PerSecond * float64(time.Second)), true
}

// maxBatch is the vendor's MaxBatch, 0 when none is set.
func (s *Simulator) maxBatch(vendor string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.limits[vendor]; ok {
		return b.limit.MaxBatch
	}
	return 0
}

// limited answers a call beyond the vendor's Limit in the vendor's own voice and reports
// whether it did: a 429 (with Retry-After only where the vendor documents one) past the
// rate, a 400 past the batch size. A refused call is not served.
func (s *Simulator) limited(w http.ResponseWriter, r *http.Request, body []byte, vendor string, spec vendorSpec) bool {
	if n, most := batchItems(r, body), s.maxBatch(vendor); most > 0 && n > most {
		spec.fail(w, http.StatusBadRequest, fmt.Sprintf("a request may carry at most %d items; this one has %d", most, n))
		return true
	}
	wait, refused := s.admit(vendor)
	if !refused {
		return false
	}
	secs := 0
	if retryAfterVendors[vendor] {
		secs = max(1, int(math.Ceil(wait.Seconds())))
	}
	spec.throttle(w, secs)
	return true
}

// batchItems counts the items of the batch endpoints; any other request is one item.
func batchItems(r *http.Request, body []byte) int {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v3/asm/suppressions/global"):
		var b struct {
			RecipientEmails []string `json:"recipient_emails"`
		}
		if json.Unmarshal(body, &b) == nil {
			return max(1, len(b.RecipientEmails))
		}
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v3/marketing/contacts/search/emails"):
		var b struct {
			Emails []string `json:"emails"`
		}
		if json.Unmarshal(body, &b) == nil {
			return max(1, len(b.Emails))
		}
	case r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/v3/marketing/contacts"):
		return max(1, len(strings.Split(r.URL.Query().Get("ids"), ",")))
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/api/2/deletions/users"):
		var b struct {
			AmplitudeIDs []json.RawMessage `json:"amplitude_ids"`
			UserIDs      []json.RawMessage `json:"user_ids"`
		}
		if json.Unmarshal(body, &b) == nil {
			return max(1, len(b.AmplitudeIDs)+len(b.UserIDs))
		}
	}
	return 1
}
