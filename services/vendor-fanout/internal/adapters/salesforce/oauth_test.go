package salesforce_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/salesforce"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Salesforce sessions expire (2 h idle by default) and its token answer has no
// expires_in, so the adapter learns of expiry from 401 INVALID_SESSION_ID: it must
// fetch a new token with the JWT bearer flow and repeat the call once, with no restart.
func TestExpiredSessionIsRenewedWithTheJWTBearerFlow(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{TokenLifetime: time.Hour})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tokens := oauth.Renewing(oauth.JWTBearerFlow(oauth.JWTBearerConfig{
		LoginURL: sim.BaseURL("salesforce"), Audience: "https://login.salesforce.com",
		ClientID: "3MVG9-consumer-key", Username: "integration@example.com", Key: key, Now: sim.Clock.Now,
	}), oauth.Options{Now: sim.Clock.Now})
	a, err := salesforce.New(salesforce.Config{BaseURL: sim.BaseURL("salesforce"), Tokens: tokens, Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(t.Context(), request(vendor.OptOut)); err != nil {
		t.Fatal(err)
	}
	sim.Clock.Advance(2 * time.Hour)
	res, err := a.Deliver(t.Context(), request(vendor.OptOut))
	if err != nil || res.Outcome != vendor.Delivered {
		t.Fatalf("after the session expired: %+v, %v; want delivered with a renewed token", res, err)
	}
	var got []string
	for _, c := range sim.CallsTo("salesforce") {
		got = append(got, c.Method+" "+strings.TrimPrefix(c.Path, "/salesforce/services/")+" "+http.StatusText(c.Status))
	}
	want := []string{
		"POST oauth2/token OK",
		"PATCH data/v60.0/sobjects/Contact/" + recordID + " No Content",
		"PATCH data/v60.0/sobjects/Contact/" + recordID + " Unauthorized",
		"POST oauth2/token OK",
		"PATCH data/v60.0/sobjects/Contact/" + recordID + " No Content",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A credential that cannot be renewed is an Auth failure (the auth-failure alert),
// without the user name or token in the error.
func TestRevokedRefreshTokenIsAnAuthFailure(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	tokens := oauth.Renewing(oauth.RefreshFlow(oauth.RefreshConfig{
		TokenURL: sim.BaseURL("salesforce") + "/services/oauth2/token", ClientID: "3MVG9", RefreshToken: "revoked-5Aep861",
	}), oauth.Options{Now: sim.Clock.Now})
	a, err := salesforce.New(salesforce.Config{BaseURL: sim.BaseURL("salesforce"), Tokens: tokens, Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Deliver(t.Context(), request(vendor.OptOut))
	e := vendortest.WantError(t, err, vendor.Auth, 400, 0)
	if !strings.Contains(e.Msg, "invalid_grant") || strings.Contains(e.Msg, "5Aep861") {
		t.Errorf("Msg = %q, want the OAuth error code and no token", e.Msg)
	}
	if n := len(sim.CallsTo("salesforce")); n != 1 {
		t.Errorf("%d calls, want only the token request", n)
	}
}
