package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := keys.Guard(a.log)
	mux.Handle("POST /v1/unsubscribe-links", auth(a.postLink))
	mux.Handle("GET /v1/suppressions/{email_sha256}", auth(a.getSuppression))
	// Public pages: the signed token is the only authority.
	mux.HandleFunc("GET /u/{token}", a.getUnsubscribe)
	mux.HandleFunc("POST /u/{token}", a.postUnsubscribe)
	return mux
}
