package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/consentry/consentry/services/console/internal/roles"
)

const (
	sessionCookie = "console"
	loginCookie   = "console-login"
	sessionTTL    = 8 * time.Hour
	loginTTL      = 10 * time.Minute
)

// signedIn is what the session cookie carries.
type signedIn struct {
	Actor string      `json:"a"`
	Grant roles.Grant `json:"g"`
	CSRF  string      `json:"c"`
}

// pendingLogin is what the login cookie carries between the redirect to the identity
// provider and its answer: the values that tie the answer to this browser.
type pendingLogin struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

// provider discovers the identity provider on first use, not at start: the console comes
// up (and answers its health check) while the provider is still starting or briefly away.
type provider struct {
	cfg config
	mu  sync.Mutex
	p   *oidc.Provider
}

func (p *provider) get(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		return p.p, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	p.p = op
	return op, nil
}

func (a *app) oauth(op *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: a.cfg.PublicURL.String() + "/auth/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "groups"}}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login starts an authorization-code flow with PKCE, a state and a nonce.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	op, err := a.idp.get(r.Context())
	if err != nil {
		a.log.Warn("identity provider unavailable", "error", err)
		a.fail(w, r, http.StatusServiceUnavailable, "Sign-in is unavailable: the identity provider cannot be reached. Try again in a minute.")
		return
	}
	pl := pendingLogin{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	v, err := a.sealer.Seal(loginCookie, pl, a.now().Add(loginTTL))
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "Sign-in could not start.")
		return
	}
	a.cookies.Set(w, loginCookie, v, loginTTL)
	http.Redirect(w, r, a.oauth(op).AuthCodeURL(pl.State, oidc.Nonce(pl.Nonce), oauth2.S256ChallengeOption(pl.Verifier)), http.StatusFound)
}

// callback completes the flow: the state matches this browser's login cookie, the code is
// exchanged with the PKCE verifier, the ID token is verified (issuer, audience, signature,
// expiry, nonce), and its roles claim decides what the person may do.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	var pl pendingLogin
	raw, ok := a.cookies.Get(r, loginCookie)
	if !ok || a.sealer.Open(loginCookie, raw, a.now(), &pl) != nil {
		a.fail(w, r, http.StatusBadRequest, "This sign-in has expired or was started in another browser. Start again.")
		return
	}
	a.cookies.Clear(w, loginCookie)
	if e := r.URL.Query().Get("error"); e != "" {
		a.fail(w, r, http.StatusUnauthorized, "The identity provider did not sign you in.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("state")), []byte(pl.State)) != 1 {
		a.fail(w, r, http.StatusBadRequest, "This sign-in answer does not belong to this browser. Start again.")
		return
	}
	op, err := a.idp.get(r.Context())
	if err != nil {
		a.fail(w, r, http.StatusServiceUnavailable, "Sign-in is unavailable: the identity provider cannot be reached.")
		return
	}
	tok, err := a.oauth(op).Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		a.log.Warn("sign-in: code exchange failed", "error", err)
		a.fail(w, r, http.StatusUnauthorized, "The identity provider refused the sign-in. Start again.")
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&oidc.Config{ClientID: a.cfg.ClientID}).Verify(r.Context(), rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.Nonce)) != 1 {
		a.log.Warn("sign-in: ID token refused", "error", err)
		a.fail(w, r, http.StatusUnauthorized, "The sign-in could not be verified. Start again.")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, r, http.StatusUnauthorized, "The sign-in could not be read.")
		return
	}
	actor := claimString(claims, a.cfg.ActorClaim)
	if actor == "" {
		actor = idt.Subject
	}
	grant := a.cfg.Roles.Resolve(claimStrings(claims, a.cfg.RolesClaim))
	if len(grant.Roles) == 0 || len(actor) > 100 {
		a.log.Info("sign-in refused: no console role", "claim", a.cfg.RolesClaim)
		a.fail(w, r, http.StatusForbidden, "You are signed in with your company account, but it has no console role. Ask your administrator for one.")
		return
	}
	v, err := a.sealer.Seal(sessionCookie, signedIn{Actor: actor, Grant: grant, CSRF: random()}, a.now().Add(sessionTTL))
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The session could not be started.")
		return
	}
	a.cookies.Set(w, sessionCookie, v, sessionTTL)
	a.log.Info("signed in", "actor", actor, "roles", strings.Join(grant.Roles, ","))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	a.cookies.Clear(w, sessionCookie)
	http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// claimStrings reads a claim that identity providers send as a list or, with one value,
// as a string (some as one space- or comma-separated string).
func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// session returns the signed-in person, if any.
func (a *app) session(r *http.Request) (signedIn, bool) {
	var s signedIn
	raw, ok := a.cookies.Get(r, sessionCookie)
	if !ok || a.sealer.Open(sessionCookie, raw, a.now(), &s) != nil || s.Actor == "" {
		return signedIn{}, false
	}
	return s, true
}

// checkCSRF compares the form's token with the session's. http.CrossOriginProtection
// refuses cross-site posts before this; the token also covers browsers that send neither
// Sec-Fetch-Site nor Origin.
func checkCSRF(r *http.Request, s signedIn) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.CSRF)) == 1 && s.CSRF != ""
}

var errForbidden = fmt.Errorf("forbidden")
