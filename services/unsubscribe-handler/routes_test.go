package main

import (
	"log/slog"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/apikey"
)

// Every API route names the permission a key needs for it: one added without a
// permission, or registered as public under /v1/, fails here.
func TestEveryAPIRouteNamesAPermission(t *testing.T) {
	keys, err := apikey.Parse("t:0123456789abcdef:*")
	if err != nil {
		t.Fatal(err)
	}
	// SendGrid's and HubSpot's webhooks carry the vendor's signature, not our key: the
	// API routes that are public by design (postSendGridEvents and postHubSpotEvents check
	// the signature).
	testkit.RoutesNamePermissions(t, routes(&api{log: slog.New(slog.DiscardHandler)}, keys),
		"POST /v1/email-events/sendgrid", "POST /v1/email-events/hubspot")
}

// The OpenAPI document and the route table name the same routes with the same
// permissions: a route added without documenting it, or documented and not served, fails.
func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	keys, err := apikey.Parse("t:0123456789abcdef:*")
	if err != nil {
		t.Fatal(err)
	}
	testkit.RoutesMatchOpenAPI(t, "unsubscribe-handler", routes(&api{log: slog.New(slog.DiscardHandler)}, keys), openAPI)
}
