package main

import (
	"log/slog"
	"testing"

	"github.com/consentry/consentry/platform/apikey"
)

// Every API route names the permission a key needs for it: one added without a
// permission, or registered as public under /v1/, fails here.
func TestEveryAPIRouteNamesAPermission(t *testing.T) {
	keys, err := apikey.Parse("t:0123456789abcdef:*")
	if err != nil {
		t.Fatal(err)
	}
	mux := routes(&api{log: slog.New(slog.DiscardHandler)}, keys)
	// SendGrid's webhook carries SendGrid's signature, not our key: the one API route
	// that is public by design (postSendGridEvents checks the signature).
	bad := mux.Undeclared()
	if len(bad) != 1 || bad[0] != "POST /v1/email-events/sendgrid" {
		t.Fatalf("routes without a permission: %v, want only SendGrid's signed webhook", bad)
	}
	api := 0
	for _, r := range mux.Routes() {
		if r.Permission != "" {
			api++
		}
	}
	if api == 0 {
		t.Fatal("no API route registered")
	}
}
