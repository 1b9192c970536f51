package vendorsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token endpoints. Access tokens issued here expire after Options.TokenLifetime; a
// request carrying one after that is refused 401 in the vendor's shape (Salesforce:
// INVALID_SESSION_ID, docs/vendors/salesforce.md). Tokens the simulator did not issue
// (the static ones tests and the dev stack configure) never expire. A refresh token
// starting "revoked" is refused with invalid_grant, the answer to a credential that
// cannot be renewed.

// defaultTokenLifetime is Salesforce's default session timeout.
const defaultTokenLifetime = 2 * time.Hour

// issue records a new access token for vendor and returns it with its lifetime.
func (s *Simulator) issue(vendor string) (string, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.tokenSeq++
	tok := vendor + "-sim-" + strconv.Itoa(s.state.tokenSeq)
	s.state.tokens[tok] = s.now().Add(s.tokenLifetime)
	return tok, s.tokenLifetime
}

// expiredToken reports whether r carries an access token this simulator issued that
// has expired.
func (s *Simulator) expiredToken(r *http.Request) bool {
	tok := authToken(r, "Bearer")
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.state.tokens[tok]
	return ok && !s.now().Before(exp)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// refreshGrant checks a refresh_token grant and reports whether to issue a token.
func refreshGrant(w http.ResponseWriter, r *http.Request, needSecret bool) bool {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return false
	}
	if r.PostForm.Get("client_id") == "" || (needSecret && r.PostForm.Get("client_secret") == "") {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return false
	}
	rt := r.PostForm.Get("refresh_token")
	if rt == "" || strings.HasPrefix(rt, "revoked") {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
		return false
	}
	return true
}

// salesforceToken is POST /services/oauth2/token: the refresh-token and JWT bearer
// grants. Salesforce's answer has no expires_in.
func (s *Simulator) salesforceToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		if !refreshGrant(w, r, false) {
			return
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if !s.jwtAssertion(r.PostForm.Get("assertion")) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid assertion")
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	tok, _ := s.issue("salesforce")
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok, "instance_url": "http://" + r.Host + "/salesforce",
		"id":         "http://" + r.Host + "/salesforce/id/00Dsim/005sim",
		"token_type": "Bearer", "issued_at": strconv.FormatInt(s.now().UnixMilli(), 10),
		"signature": stableID("salesforce", tok), "scope": "api",
	})
}

// jwtAssertion checks the JWT's shape and claims; the simulator holds no certificate, so
// the signature is only required to be present.
func (s *Simulator) jwtAssertion(a string) bool {
	parts := strings.Split(a, ".")
	if len(parts) != 3 || parts[2] == "" {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss, Sub, Aud string
		Exp           int64
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	c, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil {
		return false
	}
	now := s.now().Unix()
	return header.Alg == "RS256" && claims.Iss != "" && claims.Sub != "" && claims.Aud != "" &&
		claims.Exp > now && claims.Exp <= now+300
}

// hubspotToken is POST /oauth/v1/token (refresh grant): expires_in in seconds.
func (s *Simulator) hubspotToken(w http.ResponseWriter, r *http.Request) {
	if !refreshGrant(w, r, true) {
		return
	}
	tok, life := s.issue("hubspot")
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "access_token": tok,
		"refresh_token": r.PostForm.Get("refresh_token"), "expires_in": int(life.Seconds())})
}

// linkedinToken is POST /oauth/v2/accessToken (programmatic refresh grant).
func (s *Simulator) linkedinToken(w http.ResponseWriter, r *http.Request) {
	if !refreshGrant(w, r, true) {
		return
	}
	tok, life := s.issue("linkedin")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(life.Seconds()),
		"refresh_token": r.PostForm.Get("refresh_token"), "refresh_token_expires_in": 31536000})
}
