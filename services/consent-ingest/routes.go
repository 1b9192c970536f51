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
	mux.Handle("POST /v1/privacy-requests/{id}/approve", keys.Require(http.HandlerFunc(a.postApprove), a.writeError))
	mux.Handle("POST /v1/privacy-requests/{id}/reject", keys.Require(http.HandlerFunc(a.postReject), a.writeError))
	mux.Handle("POST /v1/privacy-requests/{id}/extend", keys.Require(http.HandlerFunc(a.postExtend), a.writeError))
	// The person's verification link: public, authorised by its signed token alone.
	mux.Handle("GET /verify/{token}", a.limitVerify(a.getVerify))
	mux.Handle("POST /verify/{token}", a.limitVerify(a.postVerify))
	return server.LimitInFlight(maxInFlight, a.log, mux)
}
