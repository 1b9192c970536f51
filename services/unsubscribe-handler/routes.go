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

// routes names the permission each API route needs (docs/api-keys.md).
func routes(a *api, keys *apikey.Keys) *apikey.Mux {
	mux := keys.NewMux(func(w http.ResponseWriter, err error) { apierror.Write(w, a.log, err) })
	mux.Handle("POST /v1/unsubscribe-links", apikey.LinksWrite, a.postLink)
	mux.Handle("DELETE /v1/unsubscribe-links/{id}", apikey.LinksWrite, a.deleteLink)
	mux.Handle("POST /v1/email-events", apikey.EmailEventsWrite, a.postEmailEvents)
	// SendGrid cannot hold our API key: its ECDSA signature, checked against the tenant's
	// configured key, is the authority here (postSendGridEvents).
	mux.Public("POST /v1/email-events/sendgrid", http.HandlerFunc(a.postSendGridEvents))
	// Nor can HubSpot: the v3 signature made with the tenant app's client secret is the
	// authority (postHubSpotEvents).
	mux.Public("POST /v1/email-events/hubspot", http.HandlerFunc(a.postHubSpotEvents))
	mux.Handle("GET /v1/suppressions", apikey.SuppressionsRead, a.listSuppressions)
	mux.Handle("GET /v1/suppressions/{email_sha256}", apikey.SuppressionsRead, a.getSuppression)
	// Public pages: the signed token is the only authority, and anyone can reach them, so
	// each client address gets a bounded rate — except the one-click POST, limited per
	// link once its signature checks out, so that no one's opt-out waits on someone
	// else's traffic (postUnsubscribe).
	mux.Public("GET /u/{token}", a.limited(a.getUnsubscribe))
	mux.Public("POST /u/{token}", http.HandlerFunc(a.postUnsubscribe))
	mux.Public("GET /preferences/{token}", a.limited(a.getPreferences))
	mux.Public("POST /preferences/{token}", a.limited(a.postPreferences))
	mux.Public("GET /confirm/{token}", a.limited(a.getConfirm))
	mux.Public("POST /confirm/{token}", a.limited(a.postConfirm))
	mux.Public("GET /openapi.yaml", server.Document(openAPI))
	return mux
}
