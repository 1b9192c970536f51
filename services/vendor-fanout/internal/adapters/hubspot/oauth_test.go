package hubspot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/hubspot"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// An OAuth app's access token carries expires_in and HubSpot says a 401 is no signal to
// renew (docs/vendors/hubspot.md): the token is renewed from the refresh token before it
// expires, so no call is made with an expired one.
func TestOAuthTokenRenewedBeforeExpiry(t *testing.T) {
	// Tokens live 30 s; renewing 1 min early renews before every call.
	sim := vendortest.Start(t, vendorsim.Options{TokenLifetime: 30 * time.Second})
	tokens := oauth.Renewing(oauth.RefreshFlow(oauth.RefreshConfig{
		TokenURL: sim.BaseURL("hubspot") + "/oauth/v1/token", ClientID: "app", ClientSecret: "secret", RefreshToken: "na1-refresh",
	}), oauth.Options{Early: time.Minute, Now: sim.Clock.Now})
	a, err := hubspot.New(hubspot.Config{BaseURL: sim.BaseURL("hubspot"), Tokens: tokens, Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := a.Deliver(t.Context(), request(vendor.OptOut)); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		sim.Clock.Advance(time.Minute) // past the token's expiry
	}
	var paths []string
	for _, c := range sim.CallsTo("hubspot") {
		if c.Status == 401 {
			t.Errorf("a call was made with an expired token: %s", c.Path)
		}
		paths = append(paths, strings.SplitN(strings.TrimPrefix(c.Path, "/hubspot/"), "/", 2)[0])
	}
	if got := strings.Join(paths, " "); got != "oauth communication-preferences oauth communication-preferences oauth communication-preferences" {
		t.Errorf("calls = %s, want a token renewal before each call", got)
	}
}
