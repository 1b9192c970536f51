package webhooksig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrRedirect is what a webhook client answers to a redirect: a signed request is meant
// for the configured receiver, and a receiver (or whoever took over its address) must not
// be able to pass it on to a host no one configured.
var ErrRedirect = errors.New("webhooksig: the receiver answered with a redirect, which is not followed")

// RefuseRedirects is an http.Client CheckRedirect that follows no redirect.
func RefuseRedirects(*http.Request, []*http.Request) error { return ErrRedirect }

// NoRedirects returns a copy of hc (nil: a client with a 10 s timeout) that refuses
// redirects; hc itself, which may be shared with other callers, is left as it is.
func NoRedirects(hc *http.Client) *http.Client {
	c := http.Client{Timeout: 10 * time.Second}
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = RefuseRedirects
	return &c
}

// CheckURL accepts an absolute https URL, or an http one whose host is loopback
// (localhost, 127.0.0.0/8, ::1) for a receiver on the same machine. Anything else would
// send identifiers and signed requests in clear across a network. The error does not
// quote the URL.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("want an absolute https URL without user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("plain http is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1); use https")
	}
	return errors.New("want an https URL")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Sender posts signed JSON.
type Sender struct {
	Keys *Keys
	// HTTP is the client to post with; nil means one with a 10 s timeout. Redirects are
	// refused whatever its CheckRedirect says.
	HTTP *http.Client
	Now  func() time.Time
}

// Post sends body to url, signed, and returns an error unless the receiver answered 2xx.
// url must pass CheckURL. The error names the status only: receivers' answers may echo
// what was sent.
func (s Sender) Post(ctx context.Context, url string, body []byte) error {
	if s.Keys == nil {
		return errors.New("webhooksig: no signing keys")
	}
	if err := CheckURL(url); err != nil {
		return fmt.Errorf("webhooksig: receiver URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhooksig: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	req.Header.Set("Content-Type", "application/json")
	s.Keys.SetHeaders(req.Header, NewMessageID(), now(), body)
	resp, err := NoRedirects(s.HTTP).Do(req)
	if err != nil {
		if errors.Is(err, ErrRedirect) {
			return ErrRedirect
		}
		return fmt.Errorf("webhooksig: post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhooksig: receiver answered %d", resp.StatusCode)
	}
	return nil
}
