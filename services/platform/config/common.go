package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/kafka"
)

// Kafka holds the settings every Kafka-speaking service shares.
type Kafka struct {
	Brokers        []string
	Topics         kafka.Topics
	SessionTimeout time.Duration
	BatchTimeout   time.Duration
	Security       kafka.Security
}

// RegisterKafka registers the Kafka settings.
func (l *Loader) RegisterKafka(k *Kafka) {
	def := kafka.DefaultTopics()
	l.List(&k.Brokers, "kafka-brokers", "CONSENTRY_KAFKA_BROKERS", []string{"127.0.0.1:9092"}, "Kafka bootstrap brokers")
	l.String(&k.Topics.Ingest, "topic-ingest", "CONSENTRY_TOPIC_INGEST", def.Ingest, "raw submissions topic")
	l.String(&k.Topics.Consents, "topic-consents", "CONSENTRY_TOPIC_CONSENTS", def.Consents, "consent events topic")
	l.String(&k.Topics.Requests, "topic-requests", "CONSENTRY_TOPIC_REQUESTS", def.Requests, "privacy requests topic")
	l.String(&k.Topics.Suppressions, "topic-suppressions", "CONSENTRY_TOPIC_SUPPRESSIONS", def.Suppressions, "email suppression topic")
	l.String(&k.Topics.Receipts, "topic-receipts", "CONSENTRY_TOPIC_RECEIPTS", def.Receipts, "vendor receipts topic")
	l.Duration(&k.SessionTimeout, "kafka-session-timeout", "CONSENTRY_KAFKA_SESSION_TIMEOUT", 10*time.Second, "consumer group session timeout")
	l.Duration(&k.BatchTimeout, "kafka-batch-timeout", "CONSENTRY_KAFKA_BATCH_TIMEOUT", 5*time.Millisecond, "producer batch linger")
	sec := &k.Security
	l.String(&sec.SASLMechanism, "kafka-sasl-mechanism", "CONSENTRY_KAFKA_SASL_MECHANISM", "", "plain, scram-sha-256 or scram-sha-512; empty for none")
	l.Secret(&sec.SASLUsername, "CONSENTRY_KAFKA_SASL_USERNAME")
	l.Secret(&sec.SASLPassword, "CONSENTRY_KAFKA_SASL_PASSWORD")
	l.Bool(&sec.TLS, "kafka-tls", "CONSENTRY_KAFKA_TLS", false, "speak TLS to the brokers (implied by a CA or client certificate file)")
	l.String(&sec.CAFile, "kafka-tls-ca-file", "CONSENTRY_KAFKA_TLS_CA_FILE", "", "PEM CA bundle that signs the brokers' certificates (default: the system's)")
	l.String(&sec.CertFile, "kafka-tls-cert-file", "CONSENTRY_KAFKA_TLS_CERT_FILE", "", "client certificate for mutual TLS")
	l.String(&sec.KeyFile, "kafka-tls-key-file", "CONSENTRY_KAFKA_TLS_KEY_FILE", "", "client key for mutual TLS")
}

// Validate checks the Kafka settings.
func (k *Kafka) Validate() error {
	var errs []error
	if len(k.Brokers) == 0 {
		errs = append(errs, errors.New("CONSENTRY_KAFKA_BROKERS is required"))
	}
	if err := k.Security.Load(); err != nil {
		errs = append(errs, err)
	}
	for env, t := range map[string]string{"CONSENTRY_TOPIC_INGEST": k.Topics.Ingest, "CONSENTRY_TOPIC_CONSENTS": k.Topics.Consents,
		"CONSENTRY_TOPIC_REQUESTS": k.Topics.Requests, "CONSENTRY_TOPIC_SUPPRESSIONS": k.Topics.Suppressions, "CONSENTRY_TOPIC_RECEIPTS": k.Topics.Receipts} {
		if t == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", env))
		}
	}
	return errors.Join(errs...)
}

// Registry holds the schema registry settings.
type Registry struct {
	URL          string
	Bearer       string
	BasicUser    string
	BasicPass    string
	AutoRegister bool
}

// RegisterRegistry registers the schema registry settings.
func (l *Loader) RegisterRegistry(r *Registry) {
	l.String(&r.URL, "schema-registry-url", "CONSENTRY_SCHEMA_REGISTRY_URL", "http://127.0.0.1:8085", "Confluent-compatible schema registry")
	l.Bool(&r.AutoRegister, "schema-auto-register", "CONSENTRY_SCHEMA_AUTO_REGISTER", true, "register a schema the registry lacks")
	l.Secret(&r.Bearer, "CONSENTRY_SCHEMA_REGISTRY_TOKEN")
	l.Secret(&r.BasicUser, "CONSENTRY_SCHEMA_REGISTRY_USER")
	l.Secret(&r.BasicPass, "CONSENTRY_SCHEMA_REGISTRY_PASSWORD")
}

// Common holds what every service needs.
type Common struct {
	HTTPAddr      string
	AdminAddr     string
	DebugAddr     string
	LogLevel      string
	ShutdownDelay time.Duration
	PostgresURL   string
	APIKeys       string
	Pepper        []byte
	pepperRaw     string
}

// RegisterCommon registers the common settings. The admin address defaults to the
// API's default port plus 100 (":8081" → ":8181").
func (l *Loader) RegisterCommon(c *Common, defaultAddr string) {
	l.String(&c.HTTPAddr, "http-addr", "CONSENTRY_HTTP_ADDR", defaultAddr, "HTTP listen address (the API and /healthz)")
	l.String(&c.AdminAddr, "admin-addr", "CONSENTRY_ADMIN_ADDR", adminDefault(defaultAddr),
		"admin listen address: /healthz, /readyz and /metrics, for probes and Prometheus; keep it off the public ingress")
	l.String(&c.DebugAddr, "debug-addr", "CONSENTRY_DEBUG_ADDR", "",
		"serve net/http/pprof on this address (off when empty; bind it to localhost, it is unauthenticated)")
	l.String(&c.LogLevel, "log-level", "CONSENTRY_LOG_LEVEL", "info", "debug, info, warn or error")
	l.Duration(&c.ShutdownDelay, "shutdown-delay", "CONSENTRY_SHUTDOWN_DELAY", 0,
		"how long to stay up but not ready after SIGTERM, so load balancers stop sending first")
	l.Secret(&c.PostgresURL, "CONSENTRY_POSTGRES_URL")
	l.Secret(&c.APIKeys, "CONSENTRY_API_KEYS")
	l.Secret(&c.pepperRaw, "CONSENTRY_SUBJECT_PEPPER")
}

// Validate checks the common settings and decodes the pepper.
func (c *Common) Validate() error {
	var errs []error
	if err := Require(c.PostgresURL, "CONSENTRY_POSTGRES_URL"); err != nil {
		errs = append(errs, err)
	}
	if err := Require(c.APIKeys, "CONSENTRY_API_KEYS"); err != nil {
		errs = append(errs, err)
	}
	if c.AdminAddr == "" {
		errs = append(errs, errors.New("CONSENTRY_ADMIN_ADDR is required"))
	} else if c.AdminAddr == c.HTTPAddr {
		errs = append(errs, errors.New("CONSENTRY_ADMIN_ADDR must differ from CONSENTRY_HTTP_ADDR: readiness and metrics stay off the public listener"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("CONSENTRY_LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel))
	}
	if c.pepperRaw == "" {
		errs = append(errs, errors.New("CONSENTRY_SUBJECT_PEPPER is required (base64 of at least 32 random bytes)"))
	} else if p, err := base64.StdEncoding.DecodeString(c.pepperRaw); err != nil {
		errs = append(errs, errors.New("CONSENTRY_SUBJECT_PEPPER: not standard base64"))
	} else {
		c.Pepper = p
	}
	return errors.Join(errs...)
}

// adminDefault is addr's port plus 100 on the same host.
func adminDefault(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(n+100))
}
