package main

import (
	_ "embed"
	"net/http"

	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/server"
)

// openAPI is this service's API as served at GET /openapi.yaml (docs/openapi/README.md);
// TestRoutesMatchTheOpenAPIDocument holds it to apiRoutes.
//
//go:embed openapi.yaml
var openAPI []byte

func routes(a *api, keys *apikey.Keys, maxInFlight int) http.Handler {
	return server.LimitInFlight(maxInFlight, a.log, apiRoutes(a, keys))
}

// apiRoutes names the permission each route needs (docs/api-keys.md). Approving a request
// of an enterprise tenant needs the controller permission besides (postApprove).
func apiRoutes(a *api, keys *apikey.Keys) *apikey.Mux {
	mux := keys.NewMux(a.writeError)
	mux.Handle("POST /v1/consents", apikey.ConsentsWrite, a.postConsents)
	mux.Handle("POST /v1/privacy-requests", apikey.RequestsWrite, a.postPrivacyRequest)
	mux.Handle("POST /v1/privacy-requests/{id}/approve", apikey.RequestsManage, a.postApprove)
	mux.Handle("POST /v1/privacy-requests/{id}/reject", apikey.RequestsManage, a.postReject)
	mux.Handle("POST /v1/privacy-requests/{id}/extend", apikey.RequestsManage, a.postExtend)
	// The person's verification link: public, authorised by its signed token alone.
	mux.Public("GET /verify/{token}", a.limitVerify(a.getVerify))
	mux.Public("POST /verify/{token}", a.limitVerify(a.postVerify))
	mux.Public("GET /openapi.yaml", server.Document(openAPI))
	return mux
}
