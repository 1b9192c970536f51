package oauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// RefreshConfig is the refresh-token grant (RFC 6749 §6) as HubSpot, LinkedIn and
// Salesforce document it: client id and secret in the form body.
type RefreshConfig struct {
	TokenURL     string
	ClientID     string
	ClientSecret string // Salesforce may not require it
	RefreshToken string
	HTTP         *http.Client
}

// RefreshFlow returns a fetcher for Renewing. A refresh token the endpoint rotates is
// kept for the next request.
func RefreshFlow(c RefreshConfig) oauth2.TokenSource {
	return &refresher{
		cfg: &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams}},
		ctx:     httpContext(c.HTTP),
		refresh: c.RefreshToken,
	}
}

type refresher struct {
	cfg     *oauth2.Config
	ctx     context.Context
	mu      sync.Mutex
	refresh string
}

func (r *refresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A token with no access token is expired, so this requests a new one at once.
	t, err := r.cfg.TokenSource(r.ctx, &oauth2.Token{RefreshToken: r.refresh}).Token()
	if err != nil {
		return nil, err
	}
	if t.RefreshToken != "" {
		r.refresh = t.RefreshToken
	}
	return t, nil
}

func httpContext(hc *http.Client) context.Context {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return context.WithValue(context.Background(), oauth2.HTTPClient, hc)
}

// JWTBearerConfig is Salesforce's OAuth 2.0 JWT bearer flow for server-to-server
// integration (docs/vendors/salesforce.md): an RS256-signed JWT with iss (the connected
// app's consumer key), sub (the integration user's username), aud (the login URL) and
// exp (at most 3 minutes ahead), posted to {LoginURL}/services/oauth2/token as
// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer. golang.org/x/oauth2/jwt is
// Google's variant and cannot be used.
type JWTBearerConfig struct {
	LoginURL string // https://login.salesforce.com, https://test.salesforce.com or My Domain
	Audience string // default LoginURL
	ClientID string
	Username string
	Key      *rsa.PrivateKey
	HTTP     *http.Client
	Now      func() time.Time
}

// JWTBearerFlow returns a fetcher for Renewing.
func JWTBearerFlow(c JWTBearerConfig) oauth2.TokenSource {
	if c.Audience == "" {
		c.Audience = c.LoginURL
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return tokenFunc(func() (*oauth2.Token, error) { return c.token() })
}

func (c JWTBearerConfig) assertion() (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256"}`))
	claims, err := json.Marshal(map[string]any{"iss": c.ClientID, "sub": c.Username, "aud": c.Audience,
		"exp": c.Now().Add(3 * time.Minute).Unix()})
	if err != nil {
		return "", err
	}
	signed := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

func (c JWTBearerConfig) token() (*oauth2.Token, error) {
	a, err := c.assertion()
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
	resp, err := c.HTTP.PostForm(strings.TrimRight(c.LoginURL, "/")+"/services/oauth2/token", form)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL names the org, nothing more, but keep errors uniform
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || out.AccessToken == "" {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: out.Error}
	}
	t := &oauth2.Token{AccessToken: out.AccessToken, TokenType: out.TokenType}
	if out.ExpiresIn > 0 {
		t.Expiry = c.Now().Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return t, nil
}

// ParseRSAKey reads a PEM private key (PKCS #1 or PKCS #8), as openssl writes the key
// whose certificate is uploaded to the connected app.
func ParseRSAKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key in PKCS #1 or PKCS #8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}
