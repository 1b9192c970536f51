// Package oidcdev is a tiny OpenID Connect provider for make run and tests: discovery,
// a key set, an authorization endpoint that signs in one of a few made-up staff members
// at the press of a button (no password: it is for a developer's own machine), and a
// token endpoint issuing RS256 ID tokens for the authorization-code flow with PKCE. It
// checks what a real provider checks of a client (redirect URI, client secret, PKCE
// verifier, one use per code), so the console's side of the flow is tested for real.
package oidcdev

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// User is a made-up staff member the provider can sign in.
type User struct {
	Username string   // preferred_username; also the subject
	Name     string   // shown on the sign-in page
	Groups   []string // the groups claim
}

// DefaultUsers are one person per console role, and one with no role.
var DefaultUsers = []User{
	{Username: "dana", Name: "Dana (privacy desk)", Groups: []string{"consentry-privacy-desk"}},
	{Username: "omar", Name: "Omar (operator)", Groups: []string{"consentry-operators"}},
	{Username: "vera", Name: "Vera (viewer)", Groups: []string{"consentry-viewers"}},
	{Username: "nina", Name: "Nina (no console role)", Groups: []string{"marketing"}},
}

// RoleGroups maps DefaultUsers' groups to the console's roles (CONSOLE_ROLE_GROUPS).
const RoleGroups = "viewer=consentry-viewers,privacy-desk=consentry-privacy-desk,operator=consentry-operators"

// Config is one client the provider serves.
type Config struct {
	Issuer       string // the provider's own base URL
	ClientID     string
	ClientSecret string
	RedirectURIs []string
	Users        []User
	Now          func() time.Time
}

// Provider serves the OpenID Connect endpoints.
type Provider struct {
	cfg   Config
	key   *rsa.PrivateKey
	kid   string
	mu    sync.Mutex
	codes map[string]grant
}

type grant struct {
	user        User
	clientID    string
	redirectURI string
	nonce       string
	challenge   string
	expires     time.Time
}

// New returns a provider with a fresh signing key.
func New(cfg Config) (*Provider, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if cfg.Users == nil {
		cfg.Users = DefaultUsers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	return &Provider{cfg: cfg, key: key, kid: randomString(8), codes: map[string]grant{}}, nil
}

// Handler serves the provider's endpoints.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	return mux
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.cfg.Issuer,
		"authorization_endpoint":                p.cfg.Issuer + "/authorize",
		"token_endpoint":                        p.cfg.Issuer + "/token",
		"jwks_uri":                              p.cfg.Issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"claims_supported":                      []string{"sub", "preferred_username", "name", "groups"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// checkClient validates the authorization request's client and redirect URI; a bad one
// gets an error page, never a redirect to an unregistered address.
func (p *Provider) checkClient(q url.Values) (string, bool) {
	if q.Get("client_id") != p.cfg.ClientID {
		return "unknown client_id", false
	}
	for _, u := range p.cfg.RedirectURIs {
		if q.Get("redirect_uri") == u {
			if q.Get("response_type") != "code" {
				return "response_type must be code", false
			}
			if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
				return "PKCE (S256) is required", false
			}
			return "", true
		}
	}
	return "redirect_uri is not registered", false
}

var page = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development sign-in</title></head>
<body><main>
<h1>Development sign-in</h1>
<p>This stands in for the company's identity provider on a developer's machine. Choose who to sign in as.</p>
<form method="post" action="/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<fieldset><legend>Staff member</legend>
{{range $i, $u := .Users}}<p><input type="radio" id="u-{{$u.Username}}" name="user" value="{{$u.Username}}"{{if eq $i 0}} checked{{end}}>
<label for="u-{{$u.Username}}">{{$u.Name}}</label></p>{{end}}
</fieldset>
<button type="submit" id="signin">Sign in</button>
</form>
</main></body></html>`))

func (p *Provider) authorizePage(w http.ResponseWriter, r *http.Request) {
	if msg, ok := p.checkClient(r.URL.Query()); !ok {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"Query": r.URL.Query(), "Users": p.cfg.Users})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.PostForm
	if msg, ok := p.checkClient(q); !ok {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	var user *User
	for i := range p.cfg.Users {
		if p.cfg.Users[i].Username == q.Get("user") {
			user = &p.cfg.Users[i]
		}
	}
	if user == nil {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	code := randomString(32)
	p.mu.Lock()
	p.codes[code] = grant{user: *user, clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), expires: p.cfg.Now().Add(time.Minute)}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.cfg.ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", "Basic")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, "unsupported_grant_type")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, found := p.codes[code]
	delete(p.codes, code) // one use, even a failed one
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || p.cfg.Now().After(g.expires) || g.clientID != id || g.redirectURI != r.PostForm.Get("redirect_uri") ||
		subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(g.challenge)) != 1 {
		tokenError(w, "invalid_grant")
		return
	}
	now := p.cfg.Now()
	idToken, err := p.sign(map[string]any{
		"iss": p.cfg.Issuer, "sub": g.user.Username, "aud": id, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"nonce": g.nonce, "preferred_username": g.user.Username, "name": g.user.Name, "groups": g.user.Groups,
	})
	if err != nil {
		tokenError(w, "server_error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(32), "token_type": "Bearer", "expires_in": 600, "id_token": idToken})
}

// Sign issues a JWT signed with the provider's key; tests use it to forge tokens a
// real provider would not (wrong audience, expired).
func (p *Provider) Sign(claims map[string]any) (string, error) { return p.sign(claims) }

func (p *Provider) sign(claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.kid})
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(header) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64(sig), nil
}

func tokenError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
