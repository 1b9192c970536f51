package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// options are the settings every command shares: where the services are and how to
// authenticate. Each flag falls back to its environment variable, then to the address
// the embedded stack (make run) uses.
type options struct {
	apiKey, apiKeyFile                        string
	ingestURL, unsubscribeURL                 string
	fanoutURL, auditURL                       string
	brokers, registryURL                      string
	registryToken, registryUser, registryPass string
	timeout                                   time.Duration
	compact                                   bool
}

func defaultOptions(getenv func(string) string) options {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	return options{
		apiKey:         getenv("CONSENTRY_API_KEY"),
		apiKeyFile:     getenv("CONSENTRY_API_KEY_FILE"),
		ingestURL:      env("CONSENTRY_INGEST_URL", "http://127.0.0.1:8081"),
		unsubscribeURL: env("CONSENTRY_UNSUBSCRIBE_URL", "http://127.0.0.1:8082"),
		fanoutURL:      env("CONSENTRY_FANOUT_URL", "http://127.0.0.1:8083"),
		auditURL:       env("CONSENTRY_AUDIT_URL", "http://127.0.0.1:8084"),
		brokers:        env("CONSENTRY_KAFKA_BROKERS", "127.0.0.1:9092"),
		registryURL:    env("CONSENTRY_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8085"),
		registryToken:  getenv("CONSENTRY_SCHEMA_REGISTRY_TOKEN"),
		registryUser:   getenv("CONSENTRY_SCHEMA_REGISTRY_USER"),
		registryPass:   getenv("CONSENTRY_SCHEMA_REGISTRY_PASSWORD"),
		timeout:        30 * time.Second,
	}
}

// register adds the shared flags to fs, defaulting to o's current values, so that they
// may stand before the command or among its own flags.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.apiKey, "api-key", o.apiKey, "bearer API key (env CONSENTRY_API_KEY)")
	fs.StringVar(&o.apiKeyFile, "api-key-file", o.apiKeyFile, `read the key from a file: the key alone, or make run's .data/secrets.json ("api_key" to send, "operator_api_key" for the rest)`)
	fs.StringVar(&o.ingestURL, "ingest-url", o.ingestURL, "consent-ingest (env CONSENTRY_INGEST_URL)")
	fs.StringVar(&o.unsubscribeURL, "unsubscribe-url", o.unsubscribeURL, "unsubscribe-handler (env CONSENTRY_UNSUBSCRIBE_URL)")
	fs.StringVar(&o.fanoutURL, "fanout-url", o.fanoutURL, "vendor-fanout (env CONSENTRY_FANOUT_URL)")
	fs.StringVar(&o.auditURL, "audit-url", o.auditURL, "audit-sink (env CONSENTRY_AUDIT_URL)")
	fs.StringVar(&o.brokers, "brokers", o.brokers, "Kafka bootstrap brokers, comma-separated (env CONSENTRY_KAFKA_BROKERS)")
	fs.StringVar(&o.registryURL, "schema-registry-url", o.registryURL, "schema registry (env CONSENTRY_SCHEMA_REGISTRY_URL)")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "how long one API call may take")
	fs.BoolVar(&o.compact, "compact", o.compact, "print JSON on one line instead of indented")
}

// key returns the API key: the flag or CONSENTRY_API_KEY, else the key file. From make
// run's secrets.json it takes the product key ("api_key") for a command a product makes
// (sending consents and requests), and the operator key ("operator_api_key") for the
// rest, so each call holds only what it needs (docs/api-keys.md).
func (o *options) key(product bool) (string, error) {
	if o.apiKey != "" || o.apiKeyFile == "" {
		return o.apiKey, nil
	}
	b, err := os.ReadFile(o.apiKeyFile)
	if err != nil {
		return "", fmt.Errorf("api key file: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if !strings.HasPrefix(text, "{") {
		return text, nil
	}
	var secrets struct {
		APIKey      string `json:"api_key"`
		OperatorKey string `json:"operator_api_key"`
	}
	if err := json.Unmarshal(b, &secrets); err != nil {
		return "", errors.New("api key file: not JSON")
	}
	if !product && secrets.OperatorKey != "" {
		return secrets.OperatorKey, nil
	}
	if secrets.APIKey == "" {
		return "", errors.New("api key file: JSON without an api_key")
	}
	return secrets.APIKey, nil
}

func (o *options) brokerList() []string {
	var out []string
	for _, b := range strings.Split(o.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}
