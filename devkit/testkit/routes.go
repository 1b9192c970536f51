package testkit

import (
	"slices"
	"testing"

	"github.com/consentry/consentry/platform/apikey"
)

// RoutesNamePermissions fails unless every API route of mux names the permission a key
// needs for it, except the public ones listed (each such route must say why in its
// caller), and unless mux registers at least one API route at all.
func RoutesNamePermissions(t testing.TB, mux *apikey.Mux, public ...string) {
	t.Helper()
	bad := mux.Undeclared()
	slices.Sort(bad)
	slices.Sort(public)
	if !slices.Equal(bad, public) {
		t.Fatalf("routes without a permission: %v, want only %v", bad, public)
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
