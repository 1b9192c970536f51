package hubspotcontacts_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotcontacts"
)

func TestEmail(t *testing.T) {
	sim := vendorsim.New(vendorsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.AddHubSpotContact("501", "Ann@Example.com")
	c := &hubspotcontacts.Client{BaseURL: srv.URL + "/hubspot/"}
	ctx := context.Background()

	if got, err := c.Email(ctx, "pat-token", 501); err != nil || got != "Ann@Example.com" {
		t.Errorf("known contact: %q %v", got, err)
	}
	calls := sim.Calls()
	if len(calls) != 1 || calls[0].Path != "/hubspot/crm/v3/objects/contacts/501" || calls[0].Query != "properties=email" {
		t.Errorf("calls %+v", calls)
	}
	if _, err := c.Email(ctx, "pat-token", 999); !errors.Is(err, hubspotcontacts.ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	if _, err := c.Email(ctx, "", 501); !errors.Is(err, hubspotcontacts.ErrUnavailable) {
		t.Errorf("no token: %v, want ErrUnavailable (HubSpot retries; a fixed token then succeeds)", err)
	}
	for _, mode := range []string{vendorsim.Mode5xx, vendorsim.Mode429, vendorsim.ModeDown} {
		if err := sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: mode}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Email(ctx, "pat-token", 501)
		if !errors.Is(err, hubspotcontacts.ErrUnavailable) || strings.Contains(err.Error(), "501") || strings.Contains(err.Error(), "contacts") {
			t.Errorf("%s: %v, want ErrUnavailable naming neither the contact nor the URL", mode, err)
		}
	}
}

func TestEmailWithoutAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":"7","properties":{"hs_object_id":"7","email":null},"archived":false}`))
	}))
	t.Cleanup(srv.Close)
	c := &hubspotcontacts.Client{BaseURL: srv.URL}
	if _, err := c.Email(context.Background(), "t", 7); !errors.Is(err, hubspotcontacts.ErrNotFound) {
		t.Errorf("contact without an address: %v, want ErrNotFound", err)
	}
}
