package apikey

import (
	"net/http"
	"strings"
)

// Route is one entry of a Mux's registration table.
type Route struct {
	Pattern string
	// Permission is what a key needs to reach the route; empty for a public route.
	Permission Permission
}

// Mux registers a service's routes, each with the permission it needs, so that an API
// route cannot be added without one: Handle takes the permission, and a route that needs
// no key must say so with Public. Routes lists the table for tests to walk.
type Mux struct {
	mux     *http.ServeMux
	keys    *Keys
	onError func(http.ResponseWriter, error)
	table   []Route
}

// NewMux returns an empty Mux whose refusals (no key, a bad key, a missing permission)
// are written by onError.
func (ks *Keys) NewMux(onError func(http.ResponseWriter, error)) *Mux {
	return &Mux{mux: http.NewServeMux(), keys: ks, onError: onError}
}

// Handle registers h for pattern, reachable only with a valid key that holds p. A route
// whose p is not a known permission refuses every key, so a typo fails closed.
func (m *Mux) Handle(pattern string, p Permission, h http.HandlerFunc) {
	m.table = append(m.table, Route{Pattern: pattern, Permission: p})
	m.mux.Handle(pattern, m.keys.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := FromContext(r.Context())
		if !known(p) || !k.Can(p) {
			m.onError(w, Forbidden(p))
			return
		}
		h(w, r)
	}), m.onError))
}

// Public registers h for pattern with no key: for pages and calls whose authority is
// something else (a signed link token, a published key set).
func (m *Mux) Public(pattern string, h http.Handler) {
	m.table = append(m.table, Route{Pattern: pattern})
	m.mux.Handle(pattern, h)
}

// ServeHTTP dispatches to the registered routes.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Routes returns the registration table in the order routes were added.
func (m *Mux) Routes() []Route { return append([]Route(nil), m.table...) }

// Undeclared returns the table's API routes (path under /v1/) that name no known
// permission; each service's routes test wants it empty.
func (m *Mux) Undeclared() []string {
	var bad []string
	for _, r := range m.table {
		path := r.Pattern
		if _, p, ok := strings.Cut(r.Pattern, " "); ok {
			path = p
		}
		if strings.HasPrefix(path, "/v1/") && !known(r.Permission) {
			bad = append(bad, r.Pattern)
		}
	}
	return bad
}
