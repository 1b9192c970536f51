package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.Handler {
		return keys.Require(h, func(w http.ResponseWriter, err error) { apierror.Write(w, a.log, err) })
	}
	mux.Handle("GET /v1/vendors", auth(a.getVendors))
	mux.Handle("POST /v1/vendors/{name}/replay-dead-letters", auth(a.replayVendor))
	mux.Handle("GET /v1/dead-letters", auth(a.getDeadLetters))
	mux.Handle("POST /v1/dead-letters/{id}/replay", auth(a.replayDeadLetter))
	return mux
}
