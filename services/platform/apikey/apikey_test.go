package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
)

func TestParseAndAuthenticate(t *testing.T) {
	ks, err := apikey.Parse("ops:ops-secret-0123456789:*, acme:acme-secret-012345678:acme|acme-eu")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, header string
		wantKey      string
		allowed      map[string]bool
	}{
		{"wildcard key", "Bearer ops-secret-0123456789", "ops", map[string]bool{"consumer": true, "acme": true}},
		{"scoped key", "Bearer acme-secret-012345678", "acme", map[string]bool{"acme": true, "acme-eu": true, "consumer": false}},
		{"unknown key", "Bearer nope-nope-nope-nope", "", nil},
		{"no scheme", "acme-secret-012345678", "", nil},
		{"empty", "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			k, err := ks.Authenticate(r)
			if c.wantKey == "" {
				var e *apierror.Error
				if !errors.As(err, &e) || e.Code != apierror.Unauthorized {
					t.Fatalf("got key %q, err %v; want unauthorized", k.Name, err)
				}
				return
			}
			if err != nil || k.Name != c.wantKey {
				t.Fatalf("got %q, %v; want %q", k.Name, err, c.wantKey)
			}
			for tenant, want := range c.allowed {
				if k.Allows(tenant) != want {
					t.Errorf("Allows(%q) = %v, want %v", tenant, !want, want)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for name, spec := range map[string]string{
		"short secret":   "a:short:*",
		"missing scope":  "a:0123456789abcdef:",
		"two parts":      "a:0123456789abcdef",
		"duplicate name": "a:0123456789abcdef:*,a:fedcba9876543210:*",
		"nothing":        " , ",
		"unknown perm":   "a:0123456789abcdef:*:admin",
		"five parts":     "a:0123456789abcdef:*:verify:x",
	} {
		if _, err := apikey.Parse(spec); err == nil {
			t.Errorf("%s: accepted %q", name, spec)
		}
	}
}

func TestPermissions(t *testing.T) {
	ks, err := apikey.Parse("web:web-secret-0123456789:consumer:verify,acme:acme-secret-012345678:acme:controller|verify,ops:ops-secret-0123456789:*")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		secret             string
		verify, controller bool
	}{
		{"web-secret-0123456789", true, false},
		{"acme-secret-012345678", true, true},
		{"ops-secret-0123456789", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+c.secret)
		k, err := ks.Authenticate(r)
		if err != nil {
			t.Fatal(err)
		}
		if k.Can(apikey.Verify) != c.verify || k.Can(apikey.Controller) != c.controller {
			t.Errorf("%s: verify %v controller %v, want %v %v", k.Name, k.Can(apikey.Verify), k.Can(apikey.Controller), c.verify, c.controller)
		}
	}
}

func TestRequireOperator(t *testing.T) {
	ks, err := apikey.Parse("ops:ops-secret-0123456789:*, acme:acme-secret-012345678:acme|acme-eu")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, header string
		operator     bool
	}{
		{"every tenant", "Bearer ops-secret-0123456789", true},
		{"some tenants", "Bearer acme-secret-012345678", false},
		{"no key", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got error
			h := ks.Require(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = apikey.RequireOperator(r.Context())
			}), func(http.ResponseWriter, error) { got = apikey.RequireOperator(context.Background()) })
			r := httptest.NewRequest("GET", "/", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			var e *apierror.Error
			if c.operator && got != nil {
				t.Fatalf("operator refused: %v", got)
			}
			if !c.operator && (!errors.As(got, &e) || e.Code != apierror.Forbidden) {
				t.Fatalf("got %v, want forbidden", got)
			}
		})
	}
}

func TestParseRefusesMisplacedPermissions(t *testing.T) {
	for name, c := range map[string]struct{ spec, wantInErr string }{
		// No one is the controller of every tenant: a "*" controller key would approve
		// any enterprise tenant's requests.
		"controller on every tenant":       {"ops:0123456789abcdef:*:controller", `"ops"`},
		"controller among new permissions": {"ops:0123456789abcdef:*:tasks:read|controller", `"ops"`},
		"operator on a tenant key":         {"acme:0123456789abcdef:acme:operator", `"acme"`},
		"unknown permission":               {"acme:0123456789abcdef:acme:tasks:admin", ""},
		"legacy controller with *":         {"a:0123456789abcdef:acme|*:verify|controller", `"a"`},
	} {
		_, err := apikey.Parse(c.spec)
		if err == nil {
			t.Errorf("%s: accepted %q", name, c.spec)
			continue
		}
		if c.wantInErr != "" && !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("%s: error %q does not name the key %s", name, err, c.wantInErr)
		}
	}
}

// What each way of writing a key holds, old key strings included (docs/api-keys.md).
func TestDefaultPermissions(t *testing.T) {
	with := func(base []apikey.Permission, more ...apikey.Permission) []apikey.Permission {
		return append(append([]apikey.Permission{}, base...), more...)
	}
	for _, c := range []struct {
		name, spec string
		want       []apikey.Permission
	}{
		{"tenant key, no list", "k:0123456789abcdef:acme", apikey.ProductDefault},
		{"tenant key, verify", "k:0123456789abcdef:acme:verify", with(apikey.ProductDefault, apikey.Verify)},
		{"tenant key, controller", "k:0123456789abcdef:acme:controller|verify",
			with(apikey.ProductDefault, apikey.Controller, apikey.Verify, apikey.RequestsManage, apikey.ExportsRead)},
		{"all tenants, no list", "k:0123456789abcdef:*", apikey.OperatorDefault},
		{"all tenants, verify", "k:0123456789abcdef:*:verify", with(apikey.OperatorDefault, apikey.Verify)},
		{"explicit list", "k:0123456789abcdef:acme:consents:write|verify", []apikey.Permission{apikey.ConsentsWrite, apikey.Verify}},
		{"explicit operator list", "k:0123456789abcdef:*:operator", []apikey.Permission{apikey.Operator}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ks, err := apikey.Parse(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer 0123456789abcdef")
			k, err := ks.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			want := map[apikey.Permission]bool{}
			for _, p := range c.want {
				want[p] = true
			}
			for _, p := range apikey.All {
				if k.Can(p) != want[p] {
					t.Errorf("Can(%q) = %v, want %v", p, k.Can(p), want[p])
				}
			}
		})
	}
	for _, p := range []apikey.Permission{apikey.ExportsRead, apikey.TasksRead, apikey.TasksWrite, apikey.IdentifiersRead, apikey.RequestsManage, apikey.SubjectsRead} {
		for _, q := range apikey.ProductDefault {
			if p == q {
				t.Errorf("the product default holds %q", p)
			}
		}
	}
}

// A Mux route admits a key holding its permission and refuses, naming the permission,
// a key holding any other.
func TestMuxEachPermissionLetsItsHolderThrough(t *testing.T) {
	var spec []string
	for i, p := range apikey.All {
		scope := "acme"
		if p == apikey.Operator {
			scope = "*"
		}
		spec = append(spec, fmt.Sprintf("k%d:secret-%02d-0123456789:%s:%s", i, i, scope, p))
	}
	ks, err := apikey.Parse(strings.Join(spec, ","))
	if err != nil {
		t.Fatal(err)
	}
	mux := ks.NewMux(func(w http.ResponseWriter, err error) { apierror.Write(w, nil, err) })
	for i, p := range apikey.All {
		mux.Handle(fmt.Sprintf("GET /v1/r%d", i), p, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}
	mux.Handle("GET /v1/typo", apikey.Permission("tasks:wrte"), func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if bad := mux.Undeclared(); len(bad) != 1 || bad[0] != "GET /v1/typo" {
		t.Errorf("Undeclared() = %v, want the typo route alone", bad)
	}
	for i, held := range apikey.All {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", fmt.Sprintf("Bearer secret-%02d-0123456789", i))
		k, err := ks.Authenticate(r)
		if err != nil {
			t.Fatal(err)
		}
		for j, needed := range apikey.All {
			r := httptest.NewRequest("GET", fmt.Sprintf("/v1/r%d", j), nil)
			r.Header.Set("Authorization", fmt.Sprintf("Bearer secret-%02d-0123456789", i))
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			// verify and controller alone are old key strings, which hold a default set besides.
			switch {
			case (i == j || k.Can(needed)) && w.Code != http.StatusNoContent:
				t.Errorf("%q refused its own route: %d %s", held, w.Code, w.Body)
			case !k.Can(needed) && (w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), fmt.Sprintf(`lacks the permission \"%s\"`, needed))):
				t.Errorf("%q on a route needing %q: %d %s", held, needed, w.Code, w.Body)
			}
		}
		r = httptest.NewRequest("GET", "/v1/typo", nil)
		r.Header.Set("Authorization", fmt.Sprintf("Bearer secret-%02d-0123456789", i))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("%q reached a route with an unknown permission: %d", held, w.Code)
		}
	}
	r := httptest.NewRequest("GET", "/v1/r0", nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", w.Code)
	}
}
