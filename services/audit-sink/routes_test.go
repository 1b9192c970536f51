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
	if bad := mux.Undeclared(); len(bad) > 0 {
		t.Fatalf("routes without a permission: %v", bad)
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
