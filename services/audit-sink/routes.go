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

// routes names the permission each route needs (docs/api-keys.md); handlers still check
// the tenant, and the cross-tenant views the operator key.
func routes(a *api, keys *apikey.Keys) *apikey.Mux {
	mux := keys.NewMux(func(w http.ResponseWriter, err error) { apierror.Write(w, a.log, err) })
	mux.Handle("GET /v1/subjects/{tenant}/{subject_id}/history", apikey.SubjectsRead, a.getHistory)
	mux.Handle("GET /v1/subjects/{tenant}/{subject_id}/consent", apikey.SubjectsRead, a.getConsent)
	mux.Handle("GET /v1/privacy-requests", apikey.RequestsRead, a.listRequests)
	mux.Handle("GET /v1/privacy-requests/{id}", apikey.RequestsRead, a.getRequest)
	mux.Handle("GET /v1/privacy-requests/{id}/export", apikey.ExportsRead, a.exportRequest)
	mux.Handle("GET /v1/audit/verify", apikey.Operator, a.getVerify)
	mux.Handle("GET /v1/audit/last-verification", apikey.Operator, a.getLastVerification)
	mux.Handle("GET /v1/audit/heads", apikey.Operator, a.getHeads)
	mux.Public("GET /openapi.yaml", server.Document(openAPI))
	return mux
}
