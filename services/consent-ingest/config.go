package main

import (
	"errors"
	"io"

	"github.com/consentry/consentry/platform/config"
)

type serviceConfig struct {
	config.Common
	Kafka         config.Kafka
	Registry      config.Registry
	MasterKeys    string
	PolicyVersion string
	MaxBatch      int
	MaxInFlight   int
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	l := config.NewLoader("consent-ingest", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8081")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	l.Secret(&c.MasterKeys, "CONSENTRY_MASTER_KEYS")
	l.String(&c.PolicyVersion, "policy-version", "CONSENTRY_POLICY_VERSION", "2025-04-09",
		"privacy policy version recorded on requests that do not name one")
	l.Int(&c.MaxBatch, "max-batch", "CONSENTRY_MAX_BATCH", 1000, "most consents accepted in one request")
	l.Int(&c.MaxInFlight, "max-in-flight", "CONSENTRY_MAX_IN_FLIGHT", 64,
		"requests handled at once; more are answered 503 with Retry-After, which bounds memory under overload")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	errs := []error{c.Common.Validate(), c.Kafka.Validate()}
	if c.MasterKeys == "" {
		errs = append(errs, errors.New("CONSENTRY_MASTER_KEYS is required (id:base64 of 32 bytes)"))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, errors.New("CONSENTRY_MAX_BATCH must be at least 1"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("CONSENTRY_MAX_IN_FLIGHT must be at least 1"))
	}
	return c, errors.Join(errs...)
}
