package main

import (
	"strings"
	"testing"

	"github.com/consentry/consentry/services/console/internal/roles"
)

// Every screen needs at least View, and every action a permission beyond it, so a route
// added without one fails here; sign-out is the one action every signed-in person has.
func TestEveryRouteNamesAPermission(t *testing.T) {
	for _, rt := range (&app{}).routes() {
		method, _, _ := strings.Cut(rt.pattern, " ")
		switch {
		case rt.pattern == "POST /auth/logout":
		case method == "GET" && rt.perm == "":
			t.Errorf("%s names no permission", rt.pattern)
		case method == "POST" && (rt.perm == "" || rt.perm == roles.View):
			t.Errorf("%s changes something with permission %q", rt.pattern, rt.perm)
		}
	}
}
