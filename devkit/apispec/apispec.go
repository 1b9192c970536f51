// Package apispec holds Consentry's OpenAPI documents to what the services do: Drift
// compares a service's route table with its document, and Transport validates real
// requests and responses against the documents with kin-openapi.
//
// The documents are OpenAPI 3.1; kin-openapi validates their schemas as JSON Schema
// 2020-12. They keep to what kin-openapi checks (no $dynamicRef, no webhooks), see
// docs/openapi/README.md.
package apispec

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// PermissionExtension names, on each operation, the API-key permission its route needs;
// an operation without it is public (and says `security: []`).
const PermissionExtension = "x-consentry-permission"

func init() {
	// The person-facing pages are HTML: a string as far as a schema goes.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// Doc is one service's loaded and validated document.
type Doc struct {
	Name   string
	T      *openapi3.T
	router routers.Router
}

// Load parses and validates a document; name says whose it is in error messages.
func Load(name string, spec []byte) (*Doc, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: OpenAPI document does not load: %w", name, err)
	}
	if !t.IsOpenAPI31OrLater() || t.IsOpenAPI32OrLater() {
		return nil, fmt.Errorf("%s: OpenAPI document is %q, want 3.1.x", name, t.OpenAPI)
	}
	if err := t.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		return nil, fmt.Errorf("%s: OpenAPI document is not valid: %w", name, err)
	}
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("%s: OpenAPI document's paths do not route: %w", name, err)
	}
	return &Doc{Name: name, T: t, router: r}, nil
}

// Route is one documented operation as a route table names it.
type Route struct {
	Pattern    string // "METHOD /path/{param}", net/http's pattern syntax
	Permission string // empty for a public route
}

// Routes lists the document's operations, sorted by pattern.
func (d *Doc) Routes() []Route {
	var out []Route
	for path, item := range d.T.Paths.Map() {
		for method, op := range item.Operations() {
			p, _ := op.Extensions[PermissionExtension].(string)
			out = append(out, Route{Pattern: method + " " + path, Permission: p})
		}
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

// Drift compares a service's route table with its document, both ways, and returns
// every difference in words: a route the document lacks, an operation no route serves,
// or a permission that differs. An operation that names a permission must also require
// the API key, and a public one must not.
func Drift(d *Doc, served []Route) []string {
	documented := map[string]Route{}
	for _, r := range d.Routes() {
		documented[r.Pattern] = r
	}
	var bad []string
	seen := map[string]bool{}
	for _, r := range served {
		seen[r.Pattern] = true
		doc, ok := documented[r.Pattern]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("route %q is served but not in %s's OpenAPI document", r.Pattern, d.Name))
		case doc.Permission != r.Permission:
			bad = append(bad, fmt.Sprintf("route %q needs permission %q but the document says %s %q", r.Pattern, r.Permission, PermissionExtension, doc.Permission))
		}
	}
	for _, r := range d.Routes() {
		if !seen[r.Pattern] {
			bad = append(bad, fmt.Sprintf("operation %q is in %s's OpenAPI document but no route serves it", r.Pattern, d.Name))
		}
		method, path, _ := strings.Cut(r.Pattern, " ")
		op := d.T.Paths.Value(path).GetOperation(method)
		security := d.T.Security
		if op.Security != nil {
			security = *op.Security
		}
		switch {
		case r.Permission != "" && len(security) == 0:
			bad = append(bad, fmt.Sprintf("operation %q names a permission but requires no API key (security)", r.Pattern))
		case r.Permission == "" && len(security) > 0:
			bad = append(bad, fmt.Sprintf("operation %q is public but requires an API key; give it `security: []` or %s", r.Pattern, PermissionExtension))
		}
	}
	slices.Sort(bad)
	return bad
}

// find routes req to one of docs' operations.
func find(docs []*Doc, req *http.Request) (*Doc, *routers.Route, map[string]string, bool) {
	for _, d := range docs {
		route, params, err := d.router.FindRoute(req)
		if err == nil {
			return d, route, params, true
		}
	}
	return nil, nil, nil, false
}
