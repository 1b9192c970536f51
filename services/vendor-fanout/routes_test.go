package main

import (
	"log/slog"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/webhooksig"
)

// Every API route names the permission a key needs for it: one added without a
// permission, or registered as public under /v1/, fails here.
func TestEveryAPIRouteNamesAPermission(t *testing.T) {
	keys, err := apikey.Parse("t:0123456789abcdef:*")
	if err != nil {
		t.Fatal(err)
	}
	testkit.RoutesNamePermissions(t, routes(&api{log: slog.New(slog.DiscardHandler)}, keys))
}

// The OpenAPI document and the route table name the same routes with the same
// permissions: a route added without documenting it, or documented and not served, fails.
// The webhook keys are served only when signing keys are configured: they are here.
func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	keys, err := apikey.Parse("t:0123456789abcdef:*")
	if err != nil {
		t.Fatal(err)
	}
	signing, err := webhooksig.ParseKeys("k1:" + webhooksig.GenerateSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	a := &api{log: slog.New(slog.DiscardHandler), webhookKeys: signing}
	testkit.RoutesMatchOpenAPI(t, "vendor-fanout", routes(a, keys), openAPI)
}
