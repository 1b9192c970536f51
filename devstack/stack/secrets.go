package stack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/consentry/consentry/platform/webhooksig"
)

// Secrets are the development stack's keys. They are generated once and kept in the data
// directory: a second run must compute the same subject keys (pepper) and open what the
// first run sealed (master key).
type Secrets struct {
	// APIKey is the demo product's key for every tenant: it posts consents and requests,
	// mints links and reports mail events, and follows requests (docs/api-keys.md).
	APIKey string `json:"api_key"`
	// OperatorKey runs the pipeline: vendor lanes, dead letters, manual tasks, exports,
	// subject histories, the audit chains.
	OperatorKey string `json:"operator_api_key"`
	Pepper      string `json:"pepper"`
	MasterKeys  string `json:"master_keys"`
	LinkKeys    string `json:"link_keys"`
	// WebhookSigningKeys signs the webhooks the services send (CONSENTRY_WEBHOOK_SIGNING_KEYS);
	// the simulator's receiver trusts its public half.
	WebhookSigningKeys string `json:"webhook_signing_keys"`
	// CustomerKey is the demo enterprise Customer "acme"'s own credential (controller):
	// it approves or rejects the requests of acme's users.
	CustomerKey string `json:"customer_api_key"`
	// ConsoleKey and ConsoleAcmeKey are the console's API keys (every tenant; acme's
	// controller); ConsoleClientSecret its client secret at the development identity
	// provider; ConsoleSessionKey seals its session cookies.
	ConsoleKey          string `json:"console_api_key"`
	ConsoleAcmeKey      string `json:"console_acme_api_key"`
	ConsoleClientSecret string `json:"console_client_secret"`
	ConsoleSessionKey   string `json:"console_session_key"`
}

// loadSecrets reads dir/secrets.json, creating it on first use. apiKey, when set (from
// CONSENTRY_DEV_API_KEY), replaces the stored API key.
func loadSecrets(dir, apiKey string) (Secrets, error) {
	path := filepath.Join(dir, "secrets.json")
	var s Secrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("stack: %s is damaged: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		s = Secrets{
			APIKey:     "cs_dev_" + randomHex(16),
			Pepper:     randomB64(32),
			MasterKeys: "dev1:" + randomB64(32),
			LinkKeys:   "link1:" + randomB64(32),
		}
	default:
		return s, fmt.Errorf("stack: %w", err)
	}
	if s.CustomerKey == "" || s.WebhookSigningKeys == "" || s.OperatorKey == "" || s.ConsoleKey == "" {
		// Data directories from before a key existed get one too (the shared
		// webhook_secret of before is no longer read).
		if s.CustomerKey == "" {
			s.CustomerKey = "cs_acme_" + randomHex(16)
		}
		if s.OperatorKey == "" {
			s.OperatorKey = "cs_ops_" + randomHex(16)
		}
		if s.WebhookSigningKeys == "" {
			s.WebhookSigningKeys = "dev1:" + webhooksig.GenerateSecretKey()
		}
		if s.ConsoleKey == "" {
			s.ConsoleKey, s.ConsoleAcmeKey = "cs_console_"+randomHex(16), "cs_acme_console_"+randomHex(16)
			s.ConsoleClientSecret, s.ConsoleSessionKey = randomHex(24), randomB64(32)
		}
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return s, fmt.Errorf("stack: %w", err)
		}
	}
	if apiKey != "" {
		s.APIKey = apiKey
	}
	return s, nil
}

// randomBytes never fails: since Go 1.24 crypto/rand.Read crashes the program rather
// than return an error.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomB64(n int) string { return base64.StdEncoding.EncodeToString(randomBytes(n)) }
func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
