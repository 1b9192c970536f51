// Package oauth gives adapters access tokens that renew without a restart: refreshed
// shortly before they expire, and dropped and fetched again once after the vendor
// refuses one with 401 (docs/vendors/salesforce.md, hubspot.md, linkedin.md). A static
// token keeps working and is never "renewed".
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// DefaultEarly is how long before a token's expiry it is renewed: a call must not set
// out with a token that expires on the way.
const DefaultEarly = time.Minute

// Source is an adapter's access token. Safe for concurrent use.
type Source struct {
	fetch     oauth2.TokenSource // makes one token request per call; nil for a static token
	early     time.Duration
	lifetime  time.Duration
	now       func() time.Time
	mu        sync.Mutex
	reuse     oauth2.TokenSource
	static    *oauth2.Token
	renewable bool
}

// Static is a token that never renews (a private-app token, an API key).
func Static(token string) *Source {
	return &Source{static: &oauth2.Token{AccessToken: token, TokenType: "Bearer"}}
}

// Options tune a renewing Source.
type Options struct {
	// Early renews a token this long before its expiry; default DefaultEarly.
	Early time.Duration
	// Lifetime is assumed for tokens whose answer has no expires_in (Salesforce's token
	// endpoint sends none). Zero: such a token is used until the vendor refuses it.
	Lifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Renewing wraps fetch, which must request a new token each time it is called, in an
// oauth2.ReuseTokenSource that keeps the token until Early before its expiry.
func Renewing(fetch oauth2.TokenSource, o Options) *Source {
	if o.Early <= 0 {
		o.Early = DefaultEarly
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Source{fetch: fetch, early: o.Early, lifetime: o.Lifetime, now: o.Now, renewable: true}
	s.reuse = s.newReuse()
	return s
}

func (s *Source) newReuse() oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, tokenFunc(func() (*oauth2.Token, error) {
		t, err := s.fetch.Token()
		if err == nil && t.Expiry.IsZero() && s.lifetime > 0 {
			t.Expiry = s.now().Add(s.lifetime)
		}
		return t, err
	}), s.early)
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// Renewable reports whether Invalidate can bring a different token.
func (s *Source) Renewable() bool { return s.renewable }

// Token returns the current token, renewing it when due. A failure is a classified
// *vendor.Error: a refusal by the token endpoint (revoked refresh token, unknown
// client, bad assertion) is Auth, so the auth-failure alert fires; an outage of the
// endpoint is Transient.
func (s *Source) Token() (*oauth2.Token, error) {
	if !s.renewable {
		return s.static, nil
	}
	s.mu.Lock()
	reuse := s.reuse
	s.mu.Unlock()
	t, err := reuse.Token()
	if err != nil {
		return nil, Classify(err)
	}
	return t, nil
}

// Invalidate drops bad, the token the vendor just refused, so that the next Token
// fetches a new one. A token other than the cached one (already replaced by a
// concurrent call) is left alone, so a burst of 401s makes one token request.
func (s *Source) Invalidate(bad *oauth2.Token) {
	if !s.renewable || bad == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, err := s.reuse.Token(); err == nil && cur.AccessToken != bad.AccessToken {
		return
	}
	s.reuse = s.newReuse()
}

// Classify turns a token request failure into a delivery error. Only the OAuth error
// code goes into the message: error_description can quote the user name.
func Classify(err error) *vendor.Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := re.ErrorCode
		if code == "" {
			code = http.StatusText(re.Response.StatusCode)
		}
		msg := "renewing the access token failed: " + code
		switch st := re.Response.StatusCode; {
		case st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout:
			return &vendor.Error{Kind: vendor.Transient, HTTPStatus: st, Msg: msg}
		default:
			// The credential cannot be renewed: an operator must replace it.
			return &vendor.Error{Kind: vendor.Auth, HTTPStatus: st, Msg: msg}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &vendor.Error{Kind: vendor.Transient, Msg: "renewing the access token: " + err.Error()}
	}
	var ve *vendor.Error
	if errors.As(err, &ve) {
		return ve
	}
	return vendor.FromTransport(fmt.Errorf("renewing the access token: %w", err))
}
