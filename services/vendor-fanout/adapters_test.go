package main

import (
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// TestBuiltinRoutesAskOnlyWhatAdaptersDo: a route naming an action its vendor's adapter
// does not support would dead-letter every delivery of it. Vendors without an API take
// any action as a manual task.
func TestBuiltinRoutesAskOnlyWhatAdaptersDo(t *testing.T) {
	for _, name := range []string{"default", "seed"} {
		tab, err := routing.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		env := simEnv("http://127.0.0.1:1")
		adapters, err := buildAdapters(tab, func(k string) string { return env[k] }, time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		for rule, rules := range map[string]map[string]map[string]vendor.Action{"denied": tab.Denied, "requests": tab.Requests} {
			for key, byType := range rules {
				for typ, action := range byType {
					for _, in := range tab.InstancesFor("consumer")[typ] {
						if in.Manual != nil {
							continue
						}
						if a, ok := adapters[in.Name]; !ok || !a.Supports(action) {
							t.Errorf("%s: %s.%s asks %s to %s, which its adapter does not do", name, rule, key, in.Name, action)
						}
					}
				}
			}
		}
	}
}

// TestWebhookInstanceConfig: a webhook instance's settings are checked at start, each
// error naming the variable to fix.
func TestWebhookInstanceConfig(t *testing.T) {
	tab, err := routing.Parse([]byte(`{
	  "instances": [{"name": "acme-crm", "type": "webhook", "tenants": ["acme"], "rate_per_second": 1, "burst": 1, "concurrency": 1}],
	  "denied": {"marketing_email": {"webhook": "opt_out"}},
	  "requests": {}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := webhooksig.ParseKeys("k1:" + webhooksig.GenerateSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		keys *webhooksig.Keys
		want string
	}{
		"https":         {map[string]string{"CONSENTRY_VENDOR_ACME_CRM_URL": "https://crm.acme.example/consentry"}, keys, ""},
		"loopback http": {map[string]string{"CONSENTRY_VENDOR_ACME_CRM_URL": "http://127.0.0.1:8090/webhook"}, keys, ""},
		"plain http": {map[string]string{"CONSENTRY_VENDOR_ACME_CRM_URL": "http://crm.acme.example/consentry"}, keys,
			"CONSENTRY_VENDOR_ACME_CRM_URL (or the routing file's url): plain http is allowed only to a loopback host"},
		"no signing keys": {map[string]string{"CONSENTRY_VENDOR_ACME_CRM_URL": "https://crm.acme.example/consentry"}, nil,
			"CONSENTRY_WEBHOOK_SIGNING_KEYS is required"},
		"old shared secret": {map[string]string{"CONSENTRY_VENDOR_ACME_CRM_URL": "https://crm.acme.example/consentry", "CONSENTRY_VENDOR_ACME_CRM_SECRET": "shared"}, keys,
			"CONSENTRY_VENDOR_ACME_CRM_SECRET and CONSENTRY_VENDOR_ACME_CRM_KEY_ID are no longer read"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := buildAdapters(tab, func(k string) string { return c.env[k] }, time.Second, c.keys)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("buildAdapters = %v, want %q", err, c.want)
			}
		})
	}
}
