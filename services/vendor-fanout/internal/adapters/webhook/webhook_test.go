package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/webhook"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// keys sign as Consentry does; trusted is what receivers fetch from it.
var (
	keys, _  = webhooksig.ParseKeys("k1:whsk_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	other, _ = webhooksig.ParseKeys("k1:whsk_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)))
	trusted  = keys.Public(time.Now()).Keys
)

const email = "ada.lovelace@example.com"

func newAdapter(t *testing.T, url string, now func() time.Time, ks *webhooksig.Keys) *webhook.Adapter {
	t.Helper()
	a, err := webhook.New(webhook.Config{URL: url, Keys: ks, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "evt-1:webhook:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs: vendor.Identifiers{SubjectID: "subject-1", Email: email,
			VendorIDs: map[string]string{"crm": "c-9", "empty": ""}},
		EventID:    "evt-1",
		OccurredAt: time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600)),
		Purposes:   map[string]string{"marketing": "denied", "analytics": "granted"},
	}
}

func TestNew(t *testing.T) {
	_, err := webhook.New(webhook.Config{})
	for _, field := range []string{"URL", "Keys"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
	for _, url := range []string{"/relative", "http://crm.internal.example/consentry", "ftp://crm.internal.example/"} {
		if _, err := webhook.New(webhook.Config{URL: url, Keys: keys}); err == nil || !strings.Contains(err.Error(), "URL") {
			t.Errorf("New(%s) error = %v, want it to name URL", url, err)
		}
	}
	for _, url := range []string{"https://crm.internal.example/consentry", "http://127.0.0.1:8090/webhook", "http://localhost/webhook"} {
		if _, err := webhook.New(webhook.Config{URL: url, Keys: keys}); err != nil {
			t.Errorf("New(%s) = %v", url, err)
		}
	}
}

func TestSupports(t *testing.T) {
	a := newAdapter(t, "https://example.test/hook", nil, keys)
	for _, action := range []vendor.Action{vendor.DeleteUser, vendor.OptOut, vendor.SuppressEmail, vendor.Restrict, vendor.UpdateConsent,
		vendor.LiftRestriction, vendor.Rectify} {
		if !a.Supports(action) {
			t.Errorf("Supports(%s) = false", action)
		}
	}
	if a.Supports("teleport") {
		t.Error("Supports(teleport) = true")
	}
}

// TestDeliver sends through the simulator's receiver, which verifies the signature
// (401 otherwise), and records the headers on the way to check them against Verify.
func TestDeliver(t *testing.T) {
	clock := vendortest.NewClock()
	sim := &vendortest.Sim{Simulator: vendorsim.New(vendorsim.Options{Now: clock.Now, WebhookKeys: trusted}), Clock: clock}
	var mu sync.Mutex
	var headers http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = r.Header.Clone()
		mu.Unlock()
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a := newAdapter(t, srv.URL+"/webhook/inhouse", clock.Now, keys)

	tests := []struct {
		name string
		req  func() vendor.Request
		want map[string]any
	}{
		{"consent update", func() vendor.Request { return request(vendor.UpdateConsent) }, map[string]any{
			"event_id": "evt-1", "tenant": "acme", "subject_key": "sk-1", "action": "update_consent",
			"occurred_at": "2026-03-01T11:30:00Z",
			"purposes":    map[string]any{"marketing": "denied", "analytics": "granted"},
			"identifiers": map[string]any{"subject_id": "subject-1", "email": email, "vendor_ids": map[string]any{"crm": "c-9"}},
		}},
		{"privacy request, email only", func() vendor.Request {
			r := request(vendor.DeleteUser)
			r.RequestID, r.Purposes = "req-5", nil
			r.IDs = vendor.Identifiers{Email: email}
			return r
		}, map[string]any{
			"event_id": "evt-1", "tenant": "acme", "subject_key": "sk-1", "action": "delete_user", "request_id": "req-5",
			"occurred_at": "2026-03-01T11:30:00Z", "identifiers": map[string]any{"email": email},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim.Reset()
			req := tc.req()
			res, err := a.Deliver(t.Context(), req)
			if err != nil || res.Outcome != vendor.Delivered || res.HTTPStatus != 204 {
				t.Fatalf("Deliver = %+v, %v; want delivered 204", res, err)
			}
			call := sim.OnlyCall(t)
			vendortest.CheckCall(t, call, vendortest.Want{Method: "POST", Path: "/webhook/inhouse", IdempotencyKey: req.IdempotencyKey, Status: 204})
			var got map[string]any
			if err := json.Unmarshal(call.Body, &got); err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("body = %s\nwant   %s", gotJSON, wantJSON)
			}

			mu.Lock()
			h := headers
			mu.Unlock()
			ts, err := strconv.ParseInt(h.Get(webhook.HeaderTimestamp), 10, 64)
			// The id is the delivery's, so a retry carries the same one.
			if err != nil || ts != clock.Now().Unix() || h.Get(webhook.HeaderID) != webhooksig.MessageID(req.IdempotencyKey) ||
				h.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v, want the delivery's id, the clock's unix time and JSON", h)
			}
			if err := webhook.Verify(trusted, h, call.Body, clock.Now(), time.Minute); err != nil {
				t.Errorf("Verify(sent request) = %v", err)
			}
		})
	}
}

// The receiver rejects a key it does not trust and a timestamp outside its window: both are
// credential or clock problems an operator fixes, so Auth.
func TestRejected(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookKeys: trusted})
	url := sim.BaseURL("webhook") + "/inhouse"
	behind := func() time.Time { return sim.Clock.Now().Add(-6 * time.Minute) }
	for name, a := range map[string]*webhook.Adapter{
		"untrusted key": newAdapter(t, url, sim.Clock.Now, other),
		"stale clock":   newAdapter(t, url, behind, keys),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Deliver(t.Context(), request(vendor.OptOut))
			vendortest.WantError(t, err, vendor.Auth, 401, 0)
			vendortest.NoPII(t, err, email)
		})
	}
}

// TestRedirectIsNotFollowed: a receiver answering 307 (which would resend the signed body)
// gets the delivery failed, and the target it names receives nothing, though the client
// vendor-fanout shares among adapters follows redirects.
func TestRedirectIsNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	shared := &http.Client{Timeout: 5 * time.Second}
	a, err := webhook.New(webhook.Config{URL: redirector.URL + "/consentry", Keys: keys, HTTP: shared})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(t.Context(), request(vendor.OptOut)); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("Deliver through a redirect = %v, want a refused redirect", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests", n)
	}
	if shared.CheckRedirect != nil {
		t.Error("the shared client was changed")
	}
}

func TestFaults(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookKeys: trusted})
	a := newAdapter(t, sim.BaseURL("webhook")+"/inhouse", sim.Clock.Now, keys)
	vendortest.RunFaults(t, sim, vendortest.StandardFaults("webhook"), func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.DeleteUser))
		return err
	}, email, "c-9")
}

func TestCancel(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookKeys: trusted})
	a := newAdapter(t, sim.BaseURL("webhook")+"/inhouse", sim.Clock.Now, keys)
	vendortest.RunCancel(t, sim, "webhook", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.OptOut))
		return err
	})
}
