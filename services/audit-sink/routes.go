package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := keys.Guard(a.log)
	mux.Handle("GET /v1/subjects/{tenant}/{subject_id}/history", auth(a.getHistory))
	mux.Handle("GET /v1/subjects/{tenant}/{subject_id}/consent", auth(a.getConsent))
	mux.Handle("GET /v1/privacy-requests", auth(a.listRequests))
	mux.Handle("GET /v1/privacy-requests/{id}", auth(a.getRequest))
	mux.Handle("GET /v1/privacy-requests/{id}/export", auth(a.exportRequest))
	mux.Handle("GET /v1/audit/verify", auth(a.getVerify))
	mux.Handle("GET /v1/audit/heads", auth(a.getHeads))
	return mux
}
