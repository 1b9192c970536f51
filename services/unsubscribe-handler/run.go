package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/consentry/consentry/platform/bootstrap"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/ratelimit"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/csrf"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotcontacts"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
)

func run(ctx context.Context, args []string, getenv func(string) string, _ io.Writer, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := server.NewLogger(stderr, cfg.LogLevel, "unsubscribe-handler")
	reg := server.NewRegistry()
	t := cfg.Kafka.Topics
	deps, err := bootstrap.Open(ctx, bootstrap.Options{
		Service: "unsubscribe-handler", Getenv: getenv, Common: cfg.Common, Kafka: cfg.Kafka, Registry: cfg.Registry,
		MasterKeys: cfg.MasterKeys, PGMaxConns: 8, Log: log, Metrics: reg,
		Writes: map[string]string{t.Consents: schemas.ConsentChangedName, t.Suppressions: schemas.SuppressionChangedName},
	})
	if err != nil {
		return err
	}
	store, err := postgres.Open(ctx, deps.Pool)
	if err != nil {
		deps.Close()
		return err
	}
	s := &suppressor{store: store, serde: deps.Serde, producer: deps.Producer, sealer: deps.Sealer, topics: t, log: log, now: time.Now}
	consumer, err := kafka.NewConsumer(deps.Consumer("unsubscribe-handler", t.Consents, t.Requests), s.decode, s.handle)
	if err != nil {
		deps.Close()
		return err
	}
	catalogs, err := i18n.Load()
	if err != nil {
		deps.Close()
		return err
	}
	a := &api{log: log, pepper: deps.Pepper, keys: cfg.LinkKeys, suppressor: s, publicURL: cfg.PublicURL, mailto: cfg.Mailto,
		linkTTL: cfg.LinkTTL, policyVersion: cfg.PolicyVersion, now: time.Now,
		catalogs: catalogs, csrf: csrf.New(cfg.LinkKeys.Derive("csrf"), 30*time.Minute), topics: cfg.EmailTopics,
		limiter:     ratelimit.New(float64(cfg.PublicRate)/60, cfg.PublicBurst, 100_000),
		linkLimiter: ratelimit.New(float64(cfg.OneClickRate)/60, cfg.OneClickBurst, 100_000), trusted: cfg.TrustedProxies,
		sender: webhooksig.Sender{Keys: cfg.parsedWebhook}, senderURL: cfg.SenderURL,
		confirmTTL: cfg.ConfirmTTL, sendGrid: sendGridInbound{keys: cfg.SendGridKeys, groups: cfg.SendGridGroups},
		hubSpot: hubSpotInbound{secrets: cfg.HubSpotSecrets, tokens: cfg.HubSpotTokens, props: cfg.HubSpotProperties,
			contacts: &hubspotcontacts.Client{BaseURL: cfg.HubSpotBaseURL}}}
	if len(cfg.TrustedProxies) == 0 {
		// Behind an ingress the peer is the ingress, so every visitor would share one
		// bucket of the public pages' rate limit and one busy client would lock out all.
		log.Warn("NO TRUSTED PROXIES: CONSENTRY_TRUSTED_PROXIES is empty, so the public pages are rate-limited by peer address; "+
			"behind an ingress or load balancer every visitor shares the proxy's one bucket. Set CONSENTRY_TRUSTED_PROXIES to its CIDRs",
			"setting", "CONSENTRY_TRUSTED_PROXIES")
	}
	if cfg.SenderURL == "" {
		log.Warn("CONSENTRY_VERIFICATION_SENDER_URL is not set: the preference center can withdraw consent but not grant it")
	}
	srv := server.New(cfg.HTTPAddr, cfg.AdminAddr, routes(a, deps.Keys), reg, log, deps.Checks(t.Consents, t.Requests, t.Suppressions)...)
	return server.Run(ctx, server.Lifecycle{
		Server: srv, Log: log, ShutdownDelay: cfg.ShutdownDelay, DebugAddr: cfg.DebugAddr,
		Workers: []server.Worker{{Name: "consumer", Run: consumer.Run}},
		Closers: []func(){deps.Close},
	})
}
