// Package apikey authenticates machine callers by bearer API key. Each key is scoped to
// tenants (docs/architecture.md, guarantee 6: a tenant's credentials reach only that tenant's data).
package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/consentry/consentry/platform/apierror"
)

// Key is an authenticated caller.
type Key struct {
	// Name identifies the key in logs and audit; it is not secret.
	Name    string
	all     bool
	tenants map[string]bool
	perms   map[Permission]bool
}

// Permission is one thing a key may do. Every API route names the one it needs (Mux), so a
// key holds only what its caller's job calls for: a key that posts consents cannot open a
// subject's identifiers or close an erasure task. docs/api-keys.md has the table.
type Permission string

const (
	ConsentsWrite    Permission = "consents:write"     // POST /v1/consents
	RequestsWrite    Permission = "requests:write"     // POST /v1/privacy-requests
	RequestsRead     Permission = "requests:read"      // GET /v1/privacy-requests[/{id}]
	RequestsManage   Permission = "requests:manage"    // approve, reject, extend a request
	ExportsRead      Permission = "exports:read"       // GET /v1/privacy-requests/{id}/export
	SubjectsRead     Permission = "subjects:read"      // a subject's history and consent proof
	LinksWrite       Permission = "links:write"        // mint and revoke unsubscribe links
	EmailEventsWrite Permission = "email-events:write" // report bounces and complaints
	SuppressionsRead Permission = "suppressions:read"  // GET /v1/suppressions[/{hash}]
	TasksRead        Permission = "tasks:read"         // list and read manual tasks
	TasksWrite       Permission = "tasks:write"        // complete a manual task (may start shredding)
	IdentifiersRead  Permission = "identifiers:read"   // open a manual task's identifiers
	DeadLettersRead  Permission = "dead-letters:read"  // list dead-lettered deliveries
	// Operator runs Consentry itself: vendor lanes, replays, backfills, the audit chains.
	// Only an all-tenant ("*") key may hold it.
	Operator Permission = "operator"
	// Verify lets a product service assert that it verified the person behind a privacy
	// request (a logged-in session, say), so no verification link is sent.
	Verify Permission = "verify"
	// Controller marks an enterprise Customer's own credential: the controller of its
	// tenant's data, whose submissions and approvals let a request run. Never on a "*" key:
	// no one is the controller of every tenant.
	Controller Permission = "controller"
	// Actor lets a trusted front end (the console) name the signed-in person it acts for
	// in the Consentry-Actor header, so the service that acts records who asked, not only
	// which key. A key without it that sends the header is refused (ActorHeader).
	Actor Permission = "actor"
)

// All lists every permission, in the order docs/api-keys.md gives them.
var All = []Permission{ConsentsWrite, RequestsWrite, RequestsRead, RequestsManage, ExportsRead, SubjectsRead,
	LinksWrite, EmailEventsWrite, SuppressionsRead, TasksRead, TasksWrite, IdentifiersRead, DeadLettersRead,
	Operator, Verify, Controller, Actor}

// ProductDefault is what a tenant key written without a permission list holds: what a
// product service needs to report consents, file requests and follow them, and send mail.
// It reads no export, no manual task and no subject's identifiers, and moves no request.
var ProductDefault = []Permission{ConsentsWrite, RequestsWrite, RequestsRead, LinksWrite, EmailEventsWrite, SuppressionsRead}

// OperatorDefault is what a "*" key written without a permission list holds: running the
// pipeline and seeing a request through, but not speaking for a tenant's product (it
// posts no consent, request, link or email event).
var OperatorDefault = []Permission{Operator, RequestsRead, RequestsManage, ExportsRead, SubjectsRead,
	SuppressionsRead, TasksRead, TasksWrite, IdentifiersRead, DeadLettersRead}

// controllerExtra is what a legacy "controller" key gains beside ProductDefault: the
// Customer decides on its users' requests and receives their data.
var controllerExtra = []Permission{RequestsManage, ExportsRead}

func known(p Permission) bool {
	for _, q := range All {
		if p == q {
			return true
		}
	}
	return false
}

// Can reports whether the key holds permission p.
func (k Key) Can(p Permission) bool { return k.perms[p] }

// Allows reports whether the key may act for tenant.
func (k Key) Allows(tenant string) bool { return k.all || k.tenants[tenant] }

// AllTenants reports whether the key may act for every tenant (an operator key).
func (k Key) AllTenants() bool { return k.all }

// Tenants returns the tenants a scoped key may act for, sorted, for a listing to filter
// by in its query (before its LIMIT, so that other tenants' rows cannot fill the page);
// nil for an operator key, which sees every tenant.
func (k Key) Tenants() []string {
	if k.all {
		return nil
	}
	out := make([]string, 0, len(k.tenants))
	for t := range k.tenants {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Keys is the set of valid keys, held as SHA-256 digests so that a memory dump does not
// hand out credentials and lookup time does not depend on how much of a guess is right.
type Keys struct{ byDigest map[[32]byte]Key }

// MinSecretLen is the shortest secret accepted.
const MinSecretLen = 16

// Parse reads "name:secret:tenant|tenant[:permission|permission],name2:secret2:*" ("*" is
// every tenant). A key without a permission list, or whose list names only verify and
// controller (the two that existed before permissions per route), holds a default set:
// ProductDefault for a tenant key (plus RequestsManage and ExportsRead with controller),
// OperatorDefault for a "*" key; the listed ones are added. A list naming any other
// permission is exactly that list.
func Parse(spec string) (*Keys, error) {
	ks := &Keys{byDigest: map[[32]byte]Key{}}
	names := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// Permission names hold a colon themselves, so the list is everything after the third.
		parts := strings.SplitN(entry, ":", 4)
		if len(parts) < 3 || parts[0] == "" || parts[2] == "" {
			return nil, fmt.Errorf("apikey: entry %d: want name:secret:tenant[|tenant...][:permission|...]", i+1)
		}
		name, secret, scope := parts[0], parts[1], parts[2]
		if len(secret) < MinSecretLen {
			return nil, fmt.Errorf("apikey: key %q: secret shorter than %d characters", name, MinSecretLen)
		}
		if names[name] {
			return nil, fmt.Errorf("apikey: key name %q appears twice", name)
		}
		names[name] = true
		k := Key{Name: name, tenants: map[string]bool{}, perms: map[Permission]bool{}}
		for _, t := range strings.Split(scope, "|") {
			if t == "*" {
				k.all = true
			} else if t != "" {
				k.tenants[t] = true
			}
		}
		legacyOnly := true
		if len(parts) == 4 {
			for _, p := range strings.Split(parts[3], "|") {
				if !known(Permission(p)) {
					return nil, fmt.Errorf("apikey: key %q: unknown permission %q (docs/api-keys.md lists them)", name, p)
				}
				k.perms[Permission(p)] = true
				legacyOnly = legacyOnly && (Permission(p) == Verify || Permission(p) == Controller)
			}
		}
		if legacyOnly {
			base := ProductDefault
			if k.all {
				base = OperatorDefault
			} else if k.perms[Controller] {
				base = append(append([]Permission{}, ProductDefault...), controllerExtra...)
			}
			for _, p := range base {
				k.perms[p] = true
			}
		}
		if k.all && k.perms[Controller] {
			return nil, fmt.Errorf("apikey: key %q: the controller permission is for one Customer's own key, not a \"*\" key", name)
		}
		if !k.all && k.perms[Operator] {
			return nil, fmt.Errorf("apikey: key %q: the operator permission needs a \"*\" (every tenant) key", name)
		}
		ks.byDigest[sha256.Sum256([]byte(secret))] = k
	}
	if len(ks.byDigest) == 0 {
		return nil, errors.New("apikey: no keys configured")
	}
	return ks, nil
}

// Authenticate checks the request's bearer token.
func (ks *Keys) Authenticate(r *http.Request) (Key, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return Key{}, apierror.New(apierror.Unauthorized, "an API key is required: Authorization: Bearer <key>")
	}
	k, ok := ks.byDigest[sha256.Sum256([]byte(strings.TrimSpace(token)))]
	if !ok {
		return Key{}, apierror.New(apierror.Unauthorized, "the API key is not valid")
	}
	return k, nil
}

type ctxKey struct{}

// Require wraps h so that it runs only for a valid key, which it finds with FromContext.
func (ks *Keys) Require(h http.Handler, onError func(http.ResponseWriter, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := ks.Authenticate(r)
		if err != nil {
			onError(w, err)
			return
		}
		actor, err := actorFrom(r, k)
		if err != nil {
			onError(w, err)
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, k)
		if actor != "" {
			ctx = context.WithValue(ctx, actorKey{}, actor)
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// FromContext returns the key Require authenticated.
func FromContext(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(ctxKey{}).(Key)
	return k, ok
}

// CheckTenant returns a Forbidden error unless the request's key may act for tenant.
// The message does not say whether the tenant exists.
func CheckTenant(ctx context.Context, tenant string) error {
	k, ok := FromContext(ctx)
	if !ok || !k.Allows(tenant) {
		return apierror.New(apierror.Forbidden, "this API key may not act for that tenant")
	}
	return nil
}

// RequireOperator returns a Forbidden error unless the request's key is an operator's:
// one that may act for every tenant and holds the operator permission. Endpoints whose
// answer spans tenants (the audit chains, vendor lanes, every tenant's dead letters) admit
// only such a key.
func RequireOperator(ctx context.Context) error {
	if k, ok := FromContext(ctx); ok && k.AllTenants() && k.Can(Operator) {
		return nil
	}
	return apierror.New(apierror.Forbidden, "this needs an operator key (one scoped to every tenant, with the \"operator\" permission)")
}

// Forbidden is the error for a key that lacks p; it names p so the caller knows what to ask for.
func Forbidden(p Permission) error {
	return apierror.New(apierror.Forbidden, fmt.Sprintf("this API key lacks the permission %q", p))
}
