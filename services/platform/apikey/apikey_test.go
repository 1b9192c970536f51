package apikey_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
