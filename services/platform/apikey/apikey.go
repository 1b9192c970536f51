// Package apikey authenticates machine callers by bearer API key. Each key is scoped to
// tenants (docs/architecture.md, guarantee 6: a tenant's credentials reach only that tenant's data).
package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
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

// Permission is something a key may do beyond submitting and reading for its tenants.
type Permission string

const (
	// Verify lets a product service assert that it verified the person behind a privacy
	// request (a logged-in session, say), so no verification link is sent.
	Verify Permission = "verify"
	// Controller marks an enterprise Customer's own credential: the controller of its
	// tenant's data, whose submissions and approvals let a request run.
	Controller Permission = "controller"
)

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
// every tenant; permissions are verify and controller).
func Parse(spec string) (*Keys, error) {
	ks := &Keys{byDigest: map[[32]byte]Key{}}
	names := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) < 3 || len(parts) > 4 || parts[0] == "" || parts[2] == "" {
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
		if len(parts) == 4 {
			for _, p := range strings.Split(parts[3], "|") {
				switch Permission(p) {
				case Verify, Controller:
					k.perms[Permission(p)] = true
				default:
					return nil, fmt.Errorf("apikey: key %q: unknown permission %q (want verify or controller)", name, p)
				}
			}
		}
		for _, t := range strings.Split(scope, "|") {
			if t == "*" {
				k.all = true
			} else if t != "" {
				k.tenants[t] = true
			}
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
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, k)))
	})
}

// Guard returns a wrapper that lets a handler run only for a valid key, answering
// anything else with the API's JSON error. Routes wrap each machine endpoint with it.
func (ks *Keys) Guard(log *slog.Logger) func(http.HandlerFunc) http.Handler {
	return func(h http.HandlerFunc) http.Handler {
		return ks.Require(h, func(w http.ResponseWriter, err error) { apierror.Write(w, log, err) })
	}
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
// one that may act for every tenant. Endpoints whose answer spans tenants (the audit
// chains, dead letters and manual tasks of every tenant) admit only such a key.
func RequireOperator(ctx context.Context) error {
	if k, ok := FromContext(ctx); ok && k.AllTenants() {
		return nil
	}
	return apierror.New(apierror.Forbidden, "this needs an operator key (one scoped to every tenant)")
}
