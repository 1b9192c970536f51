package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/server"
)

func routes(a *api, keys *apikey.Keys, maxInFlight int) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/consents", keys.Require(http.HandlerFunc(a.postConsents), a.writeError))
	mux.Handle("POST /v1/privacy-requests", keys.Require(http.HandlerFunc(a.postPrivacyRequest), a.writeError))
	return server.LimitInFlight(maxInFlight, a.log, mux)
}
