package vendorhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

type seen struct {
	mu     sync.Mutex
	header http.Header
	body   string
}

func server(t *testing.T, reply func(w http.ResponseWriter)) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.header, s.body = r.Header.Clone(), string(b)
		s.mu.Unlock()
		reply(w)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func TestHeaders(t *testing.T) {
	srv, s := server(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) })
	c := vendorhttp.NewClient(nil, nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") })
	tests := []struct {
		name     string
		req      vendorhttp.Request
		wantBody string
		wantCT   string
		wantKey  string
	}{
		{"JSON body and key", vendorhttp.Request{Method: "POST", URL: srv.URL, Body: map[string]int{"a": 1}, IdempotencyKey: "k-1"}, `{"a":1}`, "application/json", "k-1"},
		{"raw body", vendorhttp.Request{Method: "POST", URL: srv.URL, Body: []byte(`{"b":2}`)}, `{"b":2}`, "application/json", ""},
		{"no body", vendorhttp.Request{Method: "DELETE", URL: srv.URL, Header: http.Header{"X-Extra": {"1"}}}, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Do(t.Context(), tc.req)
			if err != nil || resp.StatusCode != 204 || !resp.OK() {
				t.Fatalf("Do = %+v, %v", resp, err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			h := s.header
			if h.Get("Authorization") != "Bearer tok" || h.Get("User-Agent") != "consentry-vendor-fanout" {
				t.Errorf("auth/user agent = %q/%q", h.Get("Authorization"), h.Get("User-Agent"))
			}
			if h.Get("Content-Type") != tc.wantCT || h.Get("Idempotency-Key") != tc.wantKey || s.body != tc.wantBody {
				t.Errorf("content type %q, key %q, body %q; want %q, %q, %q",
					h.Get("Content-Type"), h.Get("Idempotency-Key"), s.body, tc.wantCT, tc.wantKey, tc.wantBody)
			}
			if _, ok := h["Idempotency-Key"]; !ok && tc.wantKey != "" {
				t.Error("Idempotency-Key missing")
			}
			if tc.req.Header != nil && h.Get("X-Extra") != "1" {
				t.Error("extra header not sent")
			}
		})
	}
}

func TestBodyIsBounded(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter) { io.WriteString(w, strings.Repeat("x", vendorhttp.MaxBody+100)) })
	resp, err := vendorhttp.NewClient(nil, nil, nil).Do(t.Context(), vendorhttp.Request{Method: "GET", URL: srv.URL})
	if err != nil || len(resp.Body) != vendorhttp.MaxBody {
		t.Fatalf("read %d bytes (%v), want %d", len(resp.Body), err, vendorhttp.MaxBody)
	}
}

// A URL can hold an email in its path (HubSpot): no error may quote it.
func TestErrorsHoldNoURL(t *testing.T) {
	c := vendorhttp.NewClient(nil, nil, nil)
	const path = "/statuses/ada@example.com/x"
	_, err := c.Do(t.Context(), vendorhttp.Request{Method: "GET", URL: "http://127.0.0.1:1" + path})
	var ve *vendor.Error
	if !errors.As(err, &ve) || ve.Kind != vendor.Transient || strings.Contains(err.Error(), "ada@") {
		t.Errorf("connection refused: %v, want a transient error without the URL", err)
	}
	_, err = c.Do(t.Context(), vendorhttp.Request{Method: "GET", URL: "http://[::1" + path})
	if !errors.As(err, &ve) || ve.Kind != vendor.Permanent || strings.Contains(err.Error(), "ada@") {
		t.Errorf("bad URL: %v, want a permanent error without the URL", err)
	}
}

func TestCancelled(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter) {})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := vendorhttp.NewClient(nil, nil, nil).Do(ctx, vendorhttp.Request{Method: "GET", URL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestDecodeQuotesNoInput(t *testing.T) {
	for _, body := range []string{`{"email": "ada@example.com"`, `ada@example.com`, `{"n": "ada@example.com"}`} {
		var v struct {
			N int `json:"n"`
		}
		err := (&vendorhttp.Response{StatusCode: 200, Body: []byte(body)}).Decode(&v)
		var ve *vendor.Error
		if !errors.As(err, &ve) || ve.Kind != vendor.Transient || strings.Contains(err.Error(), "example.com") {
			t.Errorf("Decode(%s) = %v, want a transient error without the input", body, err)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := map[string]bool{
		"https://api.hubapi.com": true, "http://127.0.0.1:8090/hubspot/": true,
		"": false, "api.hubapi.com": false, "ftp://x": false, "https://x/?a=1": false,
	}
	for raw, ok := range tests {
		got, err := vendorhttp.BaseURL("BaseURL", raw)
		if (err == nil) != ok || (ok && strings.HasSuffix(got, "/")) {
			t.Errorf("BaseURL(%q) = %q, %v; want ok=%v without trailing slash", raw, got, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "BaseURL") {
			t.Errorf("error %q does not name the field", err)
		}
	}
}
