package testkit

import (
	"testing"

	"github.com/consentry/consentry/devkit/apispec"
	"github.com/consentry/consentry/platform/apikey"
)

// serverRoutes are served by platform/server.New on every public listener, outside the
// service's own table.
var serverRoutes = []apispec.Route{{Pattern: "GET /healthz"}}

// RoutesMatchOpenAPI fails unless the service's route table (and the routes
// platform/server adds) and its OpenAPI document name the same routes with the same
// permissions, both ways, and unless the document is valid OpenAPI 3.1.
func RoutesMatchOpenAPI(t testing.TB, name string, mux *apikey.Mux, spec []byte) {
	t.Helper()
	doc, err := apispec.Load(name, spec)
	if err != nil {
		t.Fatal(err)
	}
	served := append([]apispec.Route(nil), serverRoutes...)
	for _, r := range mux.Routes() {
		served = append(served, apispec.Route{Pattern: r.Pattern, Permission: string(r.Permission)})
	}
	for _, d := range apispec.Drift(doc, served) {
		t.Error(d)
	}
}
