package main

import (
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
)

func routes(a *api, keys *apikey.Keys) http.Handler {
	mux := http.NewServeMux()
	auth := keys.Guard(a.log)
	mux.Handle("GET /v1/vendors", auth(a.getVendors))
	mux.Handle("POST /v1/vendors/{name}/replay-dead-letters", auth(a.replayVendor))
	mux.Handle("GET /v1/dead-letters", auth(a.getDeadLetters))
	mux.Handle("POST /v1/dead-letters/{id}/replay", auth(a.replayDeadLetter))
	mux.Handle("POST /v1/vendors/{name}/backfill", auth(a.postBackfill))
	mux.Handle("GET /v1/manual-tasks", auth(a.getTasks))
	mux.Handle("GET /v1/manual-tasks/{id}", auth(a.getTask))
	mux.Handle("GET /v1/manual-tasks/{id}/identifiers", auth(a.getTaskIdentifiers))
	mux.Handle("POST /v1/manual-tasks/{id}/complete", auth(a.completeTask))
	if a.webhookKeys != nil {
		// Public keys for receivers of the webhook adapter's deliveries: no credential.
		mux.Handle("GET /.well-known/webhook-keys", a.webhookKeys.Handler(a.now))
	}
	return mux
}
