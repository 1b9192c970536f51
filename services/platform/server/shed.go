package server

import (
	"log/slog"
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
)

// LimitInFlight answers 503 with a Retry-After when max requests are already being
// handled. Under overload a service that takes every request holds each one's body,
// decoded events and connection until its dependencies answer, and grows until it is
// killed with all of them; one that sheds keeps its footprint and tells clients when
// to come back. Nothing of a shed request was accepted, so a retry is always safe.
func LimitInFlight(max int, log *slog.Logger, next http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			apierror.Write(w, log, apierror.New(apierror.Unavailable,
				"the service is at capacity; nothing was accepted, retry after the Retry-After delay"))
		}
	})
}
