package vendorsim

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Fault modes. Each imitates a failure an adapter must classify correctly.
const (
	ModeOK   = "ok"   // clears the vendor's fault
	ModeDown = "down" // connection closed with no response: retryable, breaker-worthy
	ModeSlow = "slow" // answer normally after DelayMS: exercises client timeouts
	Mode5xx  = "5xx"  // 503 in the vendor's error shape: retryable
	Mode429  = "429"  // the vendor's own throttling signal (403 for Salesforce): retry later
	Mode4xx  = "4xx"  // 400 in the vendor's error shape: permanent, dead-letter
	// ModePartial answers the call with success but reports an item of it failed, as
	// vendors that take batches do: a LinkedIn element status 400, PostHog
	// deletion_errors. Only vendors with such an answer accept it (partialVendors).
	ModePartial = "partial"
	// ModeReject refuses one named item (Fault.Item: a user id, a hashed email) wherever
	// a batch carries it, the way the vendor refuses a bad item: LinkedIn with that
	// element's status 400, Amplitude and SendGrid with a 400 for the whole request,
	// which names no id. The other items of a batch go through. Only vendors with a batch endpoint
	// accept it (rejectVendors).
	ModeReject = "reject"
)

// partialVendors are the vendors whose success answer can report a failed item.
var partialVendors = map[string]bool{"linkedin": true, "posthog": true}

// rejectVendors are the vendors whose batch endpoints honour mode reject.
var rejectVendors = map[string]bool{"amplitude": true, "linkedin": true, "sendgrid": true}

// Fault makes a share of one vendor's calls fail.
type Fault struct {
	Vendor string `json:"vendor"`
	Mode   string `json:"mode"`
	// Rate is the probability a call is affected. 0 (or omitted) means 1: a fault that
	// never fires is never what the caller meant, and mode "ok" is the way to pause one.
	Rate float64 `json:"rate"`
	// RetryAfterS is sent as Retry-After on a 429 only when above zero, so a test can
	// also model vendors that throttle without one (LinkedIn, SendGrid, HubSpot per
	// their pages in docs/vendors/). Salesforce's 403 never carries it.
	RetryAfterS int `json:"retry_after_s"`
	// DelayMS is how long mode "slow" waits; required for it.
	DelayMS int `json:"delay_ms"`
	// Item is the one item mode "reject" refuses, as the request carries it; required
	// for it. Test data only: the simulator never logs it.
	Item string `json:"item,omitempty"`
}

// fieldError is a rejected input, naming the field so the JSON error can too.
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Msg }

// SetFault sets (or with mode "ok" clears) a vendor's fault. It is what
// POST /_sim/faults does; the error names the offending field.
func (s *Simulator) SetFault(f Fault) error {
	if _, ok := s.vendors[f.Vendor]; !ok {
		return &fieldError{"vendor", fmt.Sprintf("unknown vendor %q; want one of %v", f.Vendor, s.vendorNames())}
	}
	switch f.Mode {
	case ModeOK, ModeDown, ModeSlow, Mode5xx, Mode429, Mode4xx:
	case ModePartial:
		if !partialVendors[f.Vendor] {
			return &fieldError{"mode", fmt.Sprintf("vendor %q has no partial-failure answer; mode partial is for linkedin and posthog", f.Vendor)}
		}
	case ModeReject:
		if !rejectVendors[f.Vendor] {
			return &fieldError{"mode", fmt.Sprintf("vendor %q has no batch endpoint the simulator rejects items of; mode reject is for amplitude, linkedin and sendgrid", f.Vendor)}
		}
		if f.Item == "" {
			return &fieldError{"item", "required for mode reject: the item to refuse"}
		}
	default:
		return &fieldError{"mode", fmt.Sprintf("unknown mode %q; want ok, down, slow, 5xx, 429, 4xx, partial or reject", f.Mode)}
	}
	if f.Item != "" && f.Mode != ModeReject {
		return &fieldError{"item", "only mode reject takes an item"}
	}
	if math.IsNaN(f.Rate) || f.Rate < 0 || f.Rate > 1 {
		return &fieldError{"rate", "must be between 0 and 1"}
	}
	if f.RetryAfterS < 0 {
		return &fieldError{"retry_after_s", "must not be negative"}
	}
	if f.DelayMS < 0 || (f.Mode == ModeSlow && f.DelayMS == 0) {
		return &fieldError{"delay_ms", "must be positive for mode slow and never negative"}
	}
	if f.Rate == 0 {
		f.Rate = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Mode == ModeOK {
		delete(s.faults, f.Vendor)
		return nil
	}
	s.faults[f.Vendor] = f
	return nil
}

// listFaults returns the current faults ordered by vendor.
func (s *Simulator) listFaults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fault) int { return strings.Compare(a.Vendor, b.Vendor) })
	return out
}

// drawFault returns the fault that hits this call, or the zero Fault.
func (s *Simulator) drawFault(vendor string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.faults[vendor]
	// A rate of 1 draws nothing, so adding a full fault does not shift the random
	// sequence that partial faults on other vendors see.
	if !ok || (f.Rate < 1 && s.random() >= f.Rate) {
		return Fault{}
	}
	return f
}

type partialKey struct{}

// partial reports whether the call's fault asks its handler for a partial failure.
func partial(r *http.Request) bool {
	on, _ := r.Context().Value(partialKey{}).(bool)
	return on
}

type rejectKey struct{}

// rejected is the item the call's fault asks its handler to refuse, or "".
func rejected(r *http.Request) string {
	item, _ := r.Context().Value(rejectKey{}).(string)
	return item
}

// retryAfter sets Retry-After per the Fault.RetryAfterS contract.
func retryAfter(h http.Header, seconds int) {
	if seconds > 0 {
		h.Set("Retry-After", strconv.Itoa(seconds))
	}
}
