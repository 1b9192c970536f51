package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := keys.Guard(a.log)
	mux.Handle("POST /v1/unsubscribe-links", auth(a.postLink))
	mux.Handle("DELETE /v1/unsubscribe-links/{id}", auth(a.deleteLink))
	mux.Handle("POST /v1/email-events", auth(a.postEmailEvents))
	// SendGrid cannot hold our API key: its ECDSA signature, checked against the tenant's
	// configured key, is the authority here (postSendGridEvents).
	mux.HandleFunc("POST /v1/email-events/sendgrid", a.postSendGridEvents)
	mux.Handle("GET /v1/suppressions", auth(a.listSuppressions))
	mux.Handle("GET /v1/suppressions/{email_sha256}", auth(a.getSuppression))
	// Public pages: the signed token is the only authority, and anyone can reach them, so
	// each client address gets a bounded rate — except the one-click POST, limited per
	// link once its signature checks out, so that no one's opt-out waits on someone
	// else's traffic (postUnsubscribe).
	mux.Handle("GET /u/{token}", a.limited(a.getUnsubscribe))
	mux.HandleFunc("POST /u/{token}", a.postUnsubscribe)
	mux.Handle("GET /preferences/{token}", a.limited(a.getPreferences))
	mux.Handle("POST /preferences/{token}", a.limited(a.postPreferences))
	mux.Handle("GET /confirm/{token}", a.limited(a.getConfirm))
	mux.Handle("POST /confirm/{token}", a.limited(a.postConfirm))
	return mux
}
