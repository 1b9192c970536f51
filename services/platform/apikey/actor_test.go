package apikey_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
)

// TestActorHeaderNeedsTheActorPermission performs the attack: a key without the actor
// permission tries to write someone else's name into the audit trail.
func TestActorHeaderNeedsTheActorPermission(t *testing.T) {
	ks, err := apikey.Parse("product:product-secret-0123:acme,console:console-secret-0123:*:operator|tasks:write|actor")
	if err != nil {
		t.Fatal(err)
	}
	var who string
	mux := ks.NewMux(func(w http.ResponseWriter, err error) { apierror.Write(w, nil, err) })
	mux.Handle("POST /v1/x", apikey.ConsentsWrite, func(w http.ResponseWriter, r *http.Request) { who = apikey.Who(r.Context()) })
	mux.Handle("POST /v1/y", apikey.TasksWrite, func(w http.ResponseWriter, r *http.Request) { who = apikey.Who(r.Context()) })
	call := func(path, secret string, actor ...string) *httptest.ResponseRecorder {
		who = ""
		r := httptest.NewRequest("POST", path, nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		for _, a := range actor {
			r.Header.Add(apikey.ActorHeader, a)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	if w := call("/v1/x", "product-secret-0123", "mallory"); w.Code != http.StatusForbidden || who != "" || !strings.Contains(w.Body.String(), `\"actor\"`) {
		t.Errorf("a key without actor naming someone: %d %s (handler ran as %q)", w.Code, w.Body, who)
	}
	if w := call("/v1/x", "product-secret-0123"); w.Code != http.StatusOK || who != "product" {
		t.Errorf("a key without actor, no header: %d, who = %q", w.Code, who)
	}
	if w := call("/v1/y", "console-secret-0123", "alice"); w.Code != http.StatusOK || who != "alice via console" {
		t.Errorf("the console naming alice: %d, who = %q", w.Code, who)
	}
	for _, bad := range [][]string{{""}, {strings.Repeat("a", apikey.MaxActorLen+1)}, {"ali\nce"}, {"alice", "bob"}} {
		if w := call("/v1/y", "console-secret-0123", bad...); w.Code != http.StatusBadRequest || who != "" || !strings.Contains(w.Body.String(), apikey.ActorHeader) {
			t.Errorf("actor %q: %d %s", bad, w.Code, w.Body)
		}
	}
}
