package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Security is how Consentry authenticates to a managed Kafka (MSK, Confluent Cloud,
// Strimzi with listeners secured): TLS, optionally with a client certificate, and SASL
// PLAIN or SCRAM. The zero value is plain TCP, as the embedded broker speaks.
type Security struct {
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism, SASLUsername, SASLPassword string
	// TLS turns TLS on with the system's roots; a CA file replaces them, and a
	// certificate with its key authenticates the client (mutual TLS).
	TLS                       bool
	CAFile, CertFile, KeyFile string
	tlsConfig                 *tls.Config
	mechanism                 sasl.Mechanism
}

// Enabled reports whether anything beyond plain TCP is configured.
func (s Security) Enabled() bool { return s.usesTLS() || s.SASLMechanism != "" }

func (s Security) usesTLS() bool { return s.TLS || s.CAFile != "" || s.CertFile != "" }

// Load reads the files and builds the mechanism, so a misconfiguration fails at start
// with the setting named, not at the first fetch. Errors never include a secret.
func (s *Security) Load() error {
	var errs []error
	switch strings.ToLower(s.SASLMechanism) {
	case "":
	case "plain":
		s.mechanism = plain.Mechanism{Username: s.SASLUsername, Password: s.SASLPassword}
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if strings.HasSuffix(strings.ToLower(s.SASLMechanism), "512") {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.SASLUsername, s.SASLPassword)
		if err != nil {
			errs = append(errs, errors.New("CONSENTRY_KAFKA_SASL_*: the SCRAM mechanism could not be set up"))
		}
		s.mechanism = m
	default:
		errs = append(errs, fmt.Errorf("CONSENTRY_KAFKA_SASL_MECHANISM %q: want plain, scram-sha-256 or scram-sha-512", s.SASLMechanism))
	}
	if s.SASLMechanism != "" && (s.SASLUsername == "" || s.SASLPassword == "") {
		errs = append(errs, errors.New("CONSENTRY_KAFKA_SASL_USERNAME and CONSENTRY_KAFKA_SASL_PASSWORD are required with a SASL mechanism"))
	}
	if s.usesTLS() {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("CONSENTRY_KAFKA_TLS_CA_FILE %s: not a readable PEM certificate", s.CAFile))
			}
			cfg.RootCAs = pool
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			errs = append(errs, errors.New("CONSENTRY_KAFKA_TLS_CERT_FILE and CONSENTRY_KAFKA_TLS_KEY_FILE go together"))
		} else if s.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("CONSENTRY_KAFKA_TLS_CERT_FILE/KEY_FILE: %v", err))
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		s.tlsConfig = cfg
	}
	return errors.Join(errs...)
}

// Transport is the producer's and admin client's connection to the brokers; nil means
// kafka-go's default (plain TCP).
func (s Security) Transport() *kafkago.Transport {
	if !s.Enabled() {
		return nil
	}
	return &kafkago.Transport{TLS: s.tlsConfig, SASL: s.mechanism, DialTimeout: 10 * time.Second}
}

// Dialer is the consumers' connection to the brokers; nil means kafka-go's default.
func (s Security) Dialer() *kafkago.Dialer {
	if !s.Enabled() {
		return nil
	}
	return &kafkago.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: s.tlsConfig, SASLMechanism: s.mechanism}
}
