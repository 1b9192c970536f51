package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/consents", keys.Require(http.HandlerFunc(a.postConsents), a.writeError))
	mux.Handle("POST /v1/privacy-requests", keys.Require(http.HandlerFunc(a.postPrivacyRequest), a.writeError))
	return mux
}
