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
	if err := l.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if c.GaugeInterval <= 0 {
		errs = append(errs, errors.New("CONSENTRY_REQUEST_GAUGES_INTERVAL must be positive"))
	}
	return c, errors.Join(append(errs, c.Common.Validate(), c.Kafka.Validate())...)
}
