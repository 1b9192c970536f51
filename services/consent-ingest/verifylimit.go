package main

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/ratelimit"
)

// verifyGuard bounds the public verification page, the one route reachable without a
// key: a token bucket per client address, so that one client cannot guess tokens or
// load the database at will, and an in-flight budget of its own, so that a flood from
// many addresses cannot take the slots the API's callers need.
type verifyGuard struct {
	limiter *ratelimit.Limiter
	trusted []netip.Prefix
	slots   chan struct{}
	now     func() time.Time
}

func newVerifyGuard(c verifyLimits, now func() time.Time) *verifyGuard {
	return &verifyGuard{limiter: ratelimit.New(float64(c.Rate)/60, c.Burst, 100_000), trusted: c.TrustedProxies,
		slots: make(chan struct{}, c.MaxInFlight), now: now}
}

// limitVerify wraps a /verify/ handler. A refused request gets 429 (or 503 when the
// budget is spent) with Retry-After and a page saying to wait; the client's address is
// never logged.
func (a *api) limitVerify(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := a.verify
		if ok, wait := g.limiter.Allow(ratelimit.ClientKey(r, g.trusted), g.now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
			a.verifyPage(w, http.StatusTooManyRequests, pageBusy, "")
			return
		}
		select {
		case g.slots <- struct{}{}:
			defer func() { <-g.slots }()
			h(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			a.verifyPage(w, http.StatusServiceUnavailable, pageBusy, "")
		}
	})
}
