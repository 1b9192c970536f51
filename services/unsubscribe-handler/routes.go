package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := keys.Guard(a.log)
	mux.Handle("POST /v1/unsubscribe-links", auth(a.postLink))
	mux.Handle("POST /v1/email-events", auth(a.postEmailEvents))
	mux.Handle("GET /v1/suppressions", auth(a.listSuppressions))
	mux.Handle("GET /v1/suppressions/{email_sha256}", auth(a.getSuppression))
	// Public pages: the signed token is the only authority, and anyone can reach them, so
	// each client address gets a bounded rate.
	mux.Handle("GET /u/{token}", a.limited(a.getUnsubscribe))
	mux.Handle("POST /u/{token}", a.limited(a.postUnsubscribe))
	mux.Handle("GET /preferences/{token}", a.limited(a.getPreferences))
	mux.Handle("POST /preferences/{token}", a.limited(a.postPreferences))
	return mux
}
