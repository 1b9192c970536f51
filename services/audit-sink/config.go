package main

import (
	"errors"
	"io"
	"time"

	"github.com/consentry/consentry/platform/config"
)

type serviceConfig struct {
	config.Common
	Kafka    config.Kafka
	Registry config.Registry
	// MasterKeys, when set, let an access or portability export open the subject's
	// sealed identifiers; without them the export says they are unavailable.
	MasterKeys    string
	GaugeInterval time.Duration
	// VerifyInterval is how often the audit chains are verified for the
	// consentry_audit_chain_ok gauge; zero verifies only when GET /v1/audit/verify asks.
	VerifyInterval time.Duration
	// ExportMaxEntries bounds an export: a subject with a longer log is answered 413.
	ExportMaxEntries int
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	l := config.NewLoader("audit-sink", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8084")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	l.Secret(&c.MasterKeys, "CONSENTRY_MASTER_KEYS")
	l.Duration(&c.GaugeInterval, "request-gauges-interval", "CONSENTRY_REQUEST_GAUGES_INTERVAL", 15*time.Second,
		"how often the privacy request gauges (at risk, overdue, open) are recomputed")
	l.Duration(&c.VerifyInterval, "audit-verify-interval", "CONSENTRY_AUDIT_VERIFY_INTERVAL", time.Hour,
		"how often the audit hash chains are recomputed for the consentry_audit_chain_ok gauge (0: only on GET /v1/audit/verify)")
	l.Int(&c.ExportMaxEntries, "export-max-entries", "CONSENTRY_EXPORT_MAX_ENTRIES", 5000,
		"most log entries one privacy request export holds; a subject with more gets 413 and pages through its history")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if c.ExportMaxEntries < 1 {
		errs = append(errs, errors.New("CONSENTRY_EXPORT_MAX_ENTRIES must be at least 1"))
	}
	if c.GaugeInterval <= 0 {
		errs = append(errs, errors.New("CONSENTRY_REQUEST_GAUGES_INTERVAL must be positive"))
	}
	if c.VerifyInterval < 0 {
		errs = append(errs, errors.New("CONSENTRY_AUDIT_VERIFY_INTERVAL must not be negative"))
	}
	return c, errors.Join(append(errs, c.Common.Validate(), c.Kafka.Validate())...)
}
