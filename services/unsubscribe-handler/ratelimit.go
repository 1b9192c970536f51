package main

import (
	"net/http"
	"strconv"

	"github.com/consentry/consentry/platform/ratelimit"
)

// limited wraps a public page with the per-client rate limit. A refused request gets 429
// with Retry-After and a page saying to wait; the client's address is never logged.
func (a *api) limited(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allow(w, r, a.limiter, ratelimit.ClientKey(r, a.trusted)) {
			h(w, r)
		}
	})
}

// allow takes a token from lim for key, or answers 429 and reports false.
func (a *api) allow(w http.ResponseWriter, r *http.Request, lim *ratelimit.Limiter, key string) bool {
	ok, wait := lim.Allow(key, a.now())
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		a.render(w, r, http.StatusTooManyRequests, view{Title: "rate_limited.title", Message: "rate_limited.message"})
	}
	return ok
}
