package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/consentry/consentry/platform/config"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/vendor-fanout/internal/dispatch"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

type serviceConfig struct {
	config.Common
	Kafka          config.Kafka
	Registry       config.Registry
	MasterKeys     string
	RoutingFile    string
	RoutingProfile string
	Policy         dispatch.Policy
	BreakerTimeout time.Duration
	VendorTimeout  time.Duration
	// DeadlineSweep is how often erasures past their legal deadline are looked for.
	DeadlineSweep time.Duration
	// Retention is how long done deliveries are kept (CONSENTRY_DELIVERY_RETENTION).
	Retention time.Duration
	Routes    *routing.Table
	// WebhookKeys sign the webhook adapter's deliveries (CONSENTRY_WEBHOOK_SIGNING_KEYS);
	// nil when unset, and then an instance of type webhook is refused.
	WebhookKeys *webhooksig.Keys
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	def := dispatch.DefaultPolicy()
	l := config.NewLoader("vendor-fanout", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8083")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	l.Secret(&c.MasterKeys, "CONSENTRY_MASTER_KEYS")
	l.String(&c.RoutingFile, "routing-file", "CONSENTRY_ROUTING_FILE", "", "routing table JSON; overrides CONSENTRY_ROUTING")
	l.String(&c.RoutingProfile, "routing", "CONSENTRY_ROUTING", "default",
		"built-in routing table: default (HubSpot, Amplitude, PostHog, FullStory, a privacy-desk task list) or seed (all of default plus LinkedIn, Salesforce, SendGrid, and manual tasks for ZoomInfo, Lusha, RB2B and 11x)")
	l.Duration(&c.Policy.BaseBackoff, "retry-base", "CONSENTRY_FANOUT_RETRY_BASE", def.BaseBackoff, "first retry backoff ceiling")
	l.Duration(&c.Policy.MaxBackoff, "retry-max", "CONSENTRY_FANOUT_RETRY_MAX", def.MaxBackoff, "largest retry backoff")
	l.Duration(&c.Policy.MaxThrottleWait, "max-throttle-wait", "CONSENTRY_FANOUT_MAX_THROTTLE_WAIT", def.MaxThrottleWait,
		"longest lane pause after a throttle that names no time (it doubles per consecutive throttle)")
	l.Int(&c.Policy.MaxAttempts, "max-attempts", "CONSENTRY_FANOUT_MAX_ATTEMPTS", def.MaxAttempts, "failed calls before a dead letter (0: retry until the deadline)")
	l.Duration(&c.Policy.PollInterval, "poll-interval", "CONSENTRY_FANOUT_POLL_INTERVAL", def.PollInterval, "first wait before checking a vendor job")
	l.Duration(&c.Policy.MaxPollInterval, "poll-max", "CONSENTRY_FANOUT_POLL_MAX", def.MaxPollInterval, "longest wait between vendor job checks")
	l.Duration(&c.Policy.Lease, "lease", "CONSENTRY_FANOUT_LEASE", def.Lease, "how long a claimed delivery is hidden from other dispatchers")
	l.Duration(&c.BreakerTimeout, "breaker-timeout", "CONSENTRY_FANOUT_BREAKER_TIMEOUT", 30*time.Second, "how long a vendor's breaker stays open")
	l.Duration(&c.VendorTimeout, "vendor-timeout", "CONSENTRY_VENDOR_TIMEOUT", 10*time.Second, "timeout of one vendor call")
	l.Duration(&c.DeadlineSweep, "deadline-sweep", "CONSENTRY_FANOUT_DEADLINE_SWEEP", time.Minute,
		"how often erasures past their legal deadline are closed and their subject's key destroyed")
	l.Duration(&c.Retention, "delivery-retention", "CONSENTRY_DELIVERY_RETENTION", 72*time.Hour,
		"how long done deliveries are kept before they are pruned (their receipts are in the audit log); pending, polling and dead ones are never pruned")
	var webhookKeys string
	l.Secret(&webhookKeys, "CONSENTRY_WEBHOOK_SIGNING_KEYS")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	errs := []error{c.Common.Validate(), c.Kafka.Validate()}
	if c.MasterKeys == "" {
		errs = append(errs, errors.New("CONSENTRY_MASTER_KEYS is required: fan-out opens identifiers to call vendors"))
	}
	if c.Policy.MaxThrottleWait < c.Policy.BaseBackoff {
		errs = append(errs, errors.New("CONSENTRY_FANOUT_MAX_THROTTLE_WAIT must be at least CONSENTRY_FANOUT_RETRY_BASE"))
	}
	if c.Policy.BaseBackoff <= 0 || c.Policy.MaxBackoff < c.Policy.BaseBackoff {
		errs = append(errs, errors.New("CONSENTRY_FANOUT_RETRY_BASE must be positive and at most CONSENTRY_FANOUT_RETRY_MAX"))
	}
	if c.Policy.Lease < 30*time.Second {
		errs = append(errs, errors.New("CONSENTRY_FANOUT_LEASE must be at least 30s (longer than a vendor call can take)"))
	}
	// A minute is a floor for benchmarks that must see the table reach its steady size
	// within a run; production keeps days, for operators looking into a delivery.
	if c.Retention < time.Minute {
		errs = append(errs, errors.New("CONSENTRY_DELIVERY_RETENTION must be at least 1m (the default keeps 72h, for an operator looking into a delivery)"))
	}
	if c.DeadlineSweep <= 0 {
		errs = append(errs, errors.New("CONSENTRY_FANOUT_DEADLINE_SWEEP must be positive"))
	}
	var err error
	if webhookKeys != "" {
		if c.WebhookKeys, err = webhooksig.ParseKeys(webhookKeys); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_WEBHOOK_SIGNING_KEYS: %w", err))
		}
	}
	if c.RoutingFile == "" {
		if c.Routes, err = routing.Builtin(c.RoutingProfile); err != nil {
			err = fmt.Errorf("CONSENTRY_ROUTING: %w", err)
		}
	} else {
		var b []byte
		if b, err = os.ReadFile(c.RoutingFile); err == nil {
			c.Routes, err = routing.Parse(b)
		}
		if err != nil {
			err = fmt.Errorf("CONSENTRY_ROUTING_FILE: %w", err)
		}
	}
	errs = append(errs, err)
	return c, errors.Join(errs...)
}
