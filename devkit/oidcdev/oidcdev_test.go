package oidcdev

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The provider holds a client to what a real one does: the registered redirect URI,
// PKCE, the client secret, one use per code.
func TestTokenEndpointChecksTheClient(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	p, err := New(Config{Issuer: base, ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"http://app/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()
	srv.Start()
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "a-verifier-of-enough-length-0123456789abcdef"
	sum := sha256.Sum256([]byte(verifier))
	authorize := url.Values{"client_id": {"c"}, "redirect_uri": {"http://app/cb"}, "response_type": {"code"}, "state": {"st"},
		"nonce": {"n"}, "code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"}, "user": {"dana"}}
	code := func() string {
		resp, err := noRedirect.PostForm(base+"/authorize", authorize)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(resp.Header.Get("Location"))
		if u.Query().Get("state") != "st" || u.Host != "app" {
			t.Fatalf("redirect %s", resp.Header.Get("Location"))
		}
		return u.Query().Get("code")
	}
	token := func(form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(base+"/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := func(c, v, secret string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {"http://app/cb"}, "code_verifier": {v},
			"client_id": {"c"}, "client_secret": {secret}}
	}
	if s, _ := token(form(code(), "another-verifier", "s")); s != http.StatusBadRequest {
		t.Errorf("wrong PKCE verifier: %d", s)
	}
	if s, _ := token(form(code(), verifier, "wrong")); s != http.StatusUnauthorized {
		t.Errorf("wrong client secret: %d", s)
	}
	c := code()
	s, out := token(form(c, verifier, "s"))
	if s != http.StatusOK || strings.Count(out["id_token"].(string), ".") != 2 {
		t.Fatalf("a good exchange: %d %v", s, out)
	}
	if s, _ := token(form(c, verifier, "s")); s != http.StatusBadRequest {
		t.Errorf("a code used twice: %d", s)
	}
	bad := url.Values{}
	for k, v := range authorize {
		bad[k] = v
	}
	bad.Set("redirect_uri", "http://evil/cb")
	resp, err := noRedirect.PostForm(base+"/authorize", bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("an unregistered redirect URI: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
