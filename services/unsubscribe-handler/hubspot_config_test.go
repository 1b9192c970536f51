package main

import (
	"io"
	"strings"
	"testing"
)

// HubSpot's settings are checked at start, and the errors name the variable and tenant
// but never a secret or token.
func TestHubSpotConfig(t *testing.T) {
	load := func(env map[string]string) error {
		base := map[string]string{"CONSENTRY_MASTER_KEYS": "k1:" + strings.Repeat("A", 43) + "=", "CONSENTRY_LINK_KEYS": "l1:" + strings.Repeat("B", 43) + "="}
		_, err := loadConfig(nil, func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return base[k]
		}, io.Discard)
		return err
	}
	const secret, token = "0b6c1a9e-sekrit-client-secret", "pat-na1-t0ken-value"
	cases := []struct {
		name string
		env  map[string]string
		want string // "" when no HubSpot error is expected
	}{
		{"secret and token", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=" + secret, "CONSENTRY_HUBSPOT_TOKENS": "consumer=" + token}, ""},
		{"secret without token", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=" + secret}, "has no token for tenant consumer"},
		{"token without secret", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=" + secret,
			"CONSENTRY_HUBSPOT_TOKENS": "consumer=" + token + ",acme=" + token}, "tenant acme has no CONSENTRY_HUBSPOT_WEBHOOK_SECRETS"},
		{"short secret", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=short", "CONSENTRY_HUBSPOT_TOKENS": "consumer=" + token},
			"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS: each entry is tenant="},
		{"bad tenant", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "Con Sumer=" + secret}, "CONSENTRY_HUBSPOT_WEBHOOK_SECRETS: each entry"},
		{"twice", map[string]string{"CONSENTRY_HUBSPOT_WEBHOOK_SECRETS": "consumer=" + secret + ",consumer=" + secret,
			"CONSENTRY_HUBSPOT_TOKENS": "consumer=" + token}, "tenant consumer is listed twice"},
		{"base URL", map[string]string{"CONSENTRY_HUBSPOT_BASE_URL": "api.hubapi.com"}, "CONSENTRY_HUBSPOT_BASE_URL must be"},
		{"property", map[string]string{"CONSENTRY_HUBSPOT_PROPERTIES": "Opted Out"}, "CONSENTRY_HUBSPOT_PROPERTIES"},
	}
	for _, c := range cases {
		err := load(c.env)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if c.want == "" && strings.Contains(msg, "HUBSPOT") || c.want != "" && !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want %q", c.name, msg, c.want)
		}
		if strings.Contains(msg, secret) || strings.Contains(msg, token) || strings.Contains(msg, "short") {
			t.Errorf("%s: the error shows a secret: %s", c.name, msg)
		}
	}
}
