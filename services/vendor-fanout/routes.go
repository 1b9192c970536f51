package main

import (
	_ "embed"
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/server"
)

// openAPI is this service's API as served at GET /openapi.yaml (docs/openapi/README.md);
// TestRoutesMatchTheOpenAPIDocument holds it to routes.
//
//go:embed openapi.yaml
var openAPI []byte

// routes names the permission each API route needs (docs/api-keys.md). Opening a task's
// identifiers is its own permission: it shows a person's identifiers in the clear.
func routes(a *api, keys *apikey.Keys) *apikey.Mux {
	mux := keys.NewMux(func(w http.ResponseWriter, err error) { apierror.Write(w, a.log, err) })
	mux.Handle("GET /v1/vendors", apikey.Operator, a.getVendors)
	mux.Handle("POST /v1/vendors/{name}/replay-dead-letters", apikey.Operator, a.replayVendor)
	mux.Handle("GET /v1/dead-letters", apikey.DeadLettersRead, a.getDeadLetters)
	mux.Handle("POST /v1/dead-letters/{id}/replay", apikey.Operator, a.replayDeadLetter)
	mux.Handle("POST /v1/vendors/{name}/backfill", apikey.Operator, a.postBackfill)
	mux.Handle("GET /v1/manual-tasks", apikey.TasksRead, a.getTasks)
	mux.Handle("GET /v1/manual-tasks/{id}", apikey.TasksRead, a.getTask)
	mux.Handle("GET /v1/manual-tasks/{id}/identifiers", apikey.IdentifiersRead, a.getTaskIdentifiers)
	mux.Handle("GET /v1/manual-tasks/{id}/disclosures", apikey.TasksRead, a.getTaskDisclosures)
	mux.Handle("POST /v1/manual-tasks/{id}/complete", apikey.TasksWrite, a.completeTask)
	mux.Public("GET /openapi.yaml", server.Document(openAPI))
	if a.webhookKeys != nil {
		// Public keys for receivers of the webhook adapter's deliveries: no credential.
		mux.Public("GET /.well-known/webhook-keys", a.webhookKeys.Handler(a.now))
	}
	return mux
}
