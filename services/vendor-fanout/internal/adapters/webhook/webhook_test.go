package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/webhook"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var secret = []byte("whsec-test")

const email = "ada.lovelace@example.com"

func newAdapter(t *testing.T, url string, now func() time.Time, key []byte) *webhook.Adapter {
	t.Helper()
	a, err := webhook.New(webhook.Config{URL: url, KeyID: "k1", Secret: key, Now: now})
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
	for _, field := range []string{"URL", "KeyID", "Secret"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
	if _, err := webhook.New(webhook.Config{URL: "/relative", KeyID: "k", Secret: secret}); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Errorf("New(relative URL) error = %v, want it to name URL", err)
	}
}

func TestSupports(t *testing.T) {
	a := newAdapter(t, "https://example.test/hook", nil, secret)
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
	sim := &vendortest.Sim{Simulator: vendorsim.New(vendorsim.Options{Now: clock.Now, WebhookSecrets: map[string][]byte{"k1": secret}}), Clock: clock}
	var mu sync.Mutex
	var headers http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = r.Header.Clone()
		mu.Unlock()
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a := newAdapter(t, srv.URL+"/webhook/inhouse", clock.Now, secret)

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
			if err != nil || ts != clock.Now().Unix() || h.Get(webhook.HeaderKeyID) != "k1" || h.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v, want key id k1, the clock's unix time and JSON", h)
			}
			if err := webhook.Verify(secret, ts, call.Body, h.Get(webhook.HeaderSignature), clock.Now(), time.Minute); err != nil {
				t.Errorf("Verify(sent request) = %v", err)
			}
		})
	}
}

// The receiver rejects a wrong secret and a timestamp outside its window: both are
// credential or clock problems an operator fixes, so Auth.
func TestRejected(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookSecrets: map[string][]byte{"k1": secret}})
	url := sim.BaseURL("webhook") + "/inhouse"
	behind := func() time.Time { return sim.Clock.Now().Add(-6 * time.Minute) }
	for name, a := range map[string]*webhook.Adapter{
		"wrong secret": newAdapter(t, url, sim.Clock.Now, []byte("other")),
		"stale clock":  newAdapter(t, url, behind, secret),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Deliver(t.Context(), request(vendor.OptOut))
			vendortest.WantError(t, err, vendor.Auth, 401, 0)
			vendortest.NoPII(t, err, email)
		})
	}
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_772_445_600, 0)
	body := []byte(`{"event_id":"evt-1"}`)
	good := webhook.Sign(secret, now.Unix(), body)
	if !strings.HasPrefix(good, "v1=") || len(good) != 3+64 {
		t.Fatalf("Sign = %q, want v1=<64 hex>", good)
	}
	tests := []struct {
		name   string
		secret []byte
		ts     int64
		body   string
		sig    string
		window time.Duration
		want   error
	}{
		{"valid", secret, now.Unix(), string(body), good, time.Minute, nil},
		{"valid at the window's edge", secret, now.Unix() - 60, string(body), webhook.Sign(secret, now.Unix()-60, body), time.Minute, nil},
		{"tampered body", secret, now.Unix(), `{"event_id":"evt-2"}`, good, time.Minute, webhook.ErrBadSignature},
		{"other secret", []byte("other"), now.Unix(), string(body), good, time.Minute, webhook.ErrBadSignature},
		{"timestamp not the signed one", secret, now.Unix() - 1, string(body), good, time.Minute, webhook.ErrBadSignature},
		{"stale", secret, now.Unix() - 61, string(body), webhook.Sign(secret, now.Unix()-61, body), time.Minute, webhook.ErrStale},
		{"from the future", secret, now.Unix() + 61, string(body), webhook.Sign(secret, now.Unix()+61, body), time.Minute, webhook.ErrStale},
		{"no window", secret, now.Unix(), string(body), good, 0, webhook.ErrStale},
		{"no version", secret, now.Unix(), string(body), strings.TrimPrefix(good, "v1="), time.Minute, webhook.ErrMalformedSignature},
		{"not hex", secret, now.Unix(), string(body), "v1=zz", time.Minute, webhook.ErrMalformedSignature},
		// Found by FuzzVerify: hex decoding ignores case, so a spelling Sign never
		// writes verified.
		{"upper-case hex", secret, now.Unix(), string(body), "v1=" + strings.ToUpper(good[3:]), time.Minute, webhook.ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify(tc.secret, tc.ts, []byte(tc.body), tc.sig, now, tc.window); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookSecrets: map[string][]byte{"k1": secret}})
	a := newAdapter(t, sim.BaseURL("webhook")+"/inhouse", sim.Clock.Now, secret)
	vendortest.RunFaults(t, sim, vendortest.StandardFaults("webhook"), func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.DeleteUser))
		return err
	}, email, "c-9")
}

func TestCancel(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{WebhookSecrets: map[string][]byte{"k1": secret}})
	a := newAdapter(t, sim.BaseURL("webhook")+"/inhouse", sim.Clock.Now, secret)
	vendortest.RunCancel(t, sim, "webhook", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.OptOut))
		return err
	})
}
