package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/consentry/consentry/platform/bootstrap"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/notify"
	"github.com/consentry/consentry/services/consent-ingest/internal/postgres"
	"github.com/consentry/consentry/services/consent-ingest/internal/requests"
)

const idempotencyTTL = 24 * time.Hour

func run(ctx context.Context, args []string, getenv func(string) string, _ io.Writer, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := server.NewLogger(stderr, cfg.LogLevel, "consent-ingest")
	reg := server.NewRegistry()

	deps, err := bootstrap.Open(ctx, bootstrap.Options{
		Service: "consent-ingest", Getenv: getenv, Common: cfg.Common, Kafka: cfg.Kafka, Registry: cfg.Registry,
		MasterKeys: cfg.MasterKeys, PGMaxConns: 16, Log: log, Metrics: reg,
		Writes: map[string]string{
			cfg.Kafka.Topics.Consents: schemas.ConsentChangedName,
			cfg.Kafka.Topics.Requests: schemas.PrivacyRequestName,
		},
	})
	if err != nil {
		return err
	}
	// Before any consumer exists: a topic that keeps clear identifiers too long is refused.
	if err := checkIngestRetention(ctx, deps.Admin, cfg.Ingest.Topics, cfg.Ingest.MaxRetention, log); err != nil {
		deps.Close()
		return err
	}
	idem, err := postgres.Open(ctx, deps.Pool)
	if err != nil {
		deps.Close()
		return err
	}
	accepted, rejected := newMetrics(reg)
	flow := requests.New(requests.Deps{
		Log: log, Store: idem, Serde: deps.Serde, Producer: deps.Producer, Sealer: deps.Sealer, Topics: cfg.Kafka.Topics,
		Notifier: notify.Client{Sender: webhooksig.Sender{Keys: cfg.Requests.parsedWebhook}},
	}, cfg.Requests.flowConfig())
	closer := &closures{serde: deps.Serde, store: idem}
	closings, err := kafka.NewConsumer(deps.Consumer("consent-ingest-requests", cfg.Kafka.Topics.Requests), closer.decode, closer.handle)
	if err != nil {
		deps.Close()
		return err
	}
	a := &api{
		log: log, pepper: deps.Pepper, sealer: deps.Sealer, serde: deps.Serde, producer: deps.Producer,
		idempotency: idem, topics: cfg.Kafka.Topics, policyVersion: cfg.PolicyVersion, maxBatch: cfg.MaxBatch,
		now: time.Now, accepted: accepted, rejected: rejected, flow: flow, requestCfg: cfg.Requests,
		discarded: newDiscarded(reg), verify: newVerifyGuard(cfg.Verify, time.Now), cmpTables: cfg.cmpTables,
	}
	workers := []server.Worker{
		{Name: "idempotency-expiry", Run: func(ctx context.Context) error { return expireIdempotencyKeys(ctx, idem, log) }},
		{Name: "privacy-requests", Run: flow.Run},
		{Name: "request-closures", Run: closings.Run},
	}
	if len(cfg.Ingest.Topics) > 0 {
		subs := &submissions{api: a, serde: deps.Serde, tenants: cfg.Ingest.Topics}
		topics := make([]string, 0, len(cfg.Ingest.Topics))
		for t := range cfg.Ingest.Topics {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		consumer, err := kafka.NewConsumer(deps.Consumer(submissionGroup, topics...), subs.decode, subs.handle)
		if err != nil {
			deps.Close()
			return err
		}
		workers = append(workers, server.Worker{Name: "kafka-submissions", Run: consumer.Run})
	}
	handler := routes(a, deps.Keys, cfg.MaxInFlight)
	if keys := cfg.Requests.parsedWebhook; keys != nil {
		// Receivers fetch the public keys to verify our webhooks; they are public, so no
		// API key, and outside the in-flight limit, which guards the write path.
		mux := http.NewServeMux()
		mux.Handle("GET /.well-known/webhook-keys", keys.Handler(time.Now))
		mux.Handle("/", handler)
		handler = mux
	}
	srv := server.New(cfg.HTTPAddr, cfg.AdminAddr, handler, reg, log,
		deps.Checks(cfg.Kafka.Topics.Consents, cfg.Kafka.Topics.Requests)...)
	return server.Run(ctx, server.Lifecycle{
		Server: srv, Log: log, ShutdownDelay: cfg.ShutdownDelay, DebugAddr: cfg.DebugAddr,
		Workers: workers,
		Closers: []func(){deps.Close},
	})
}

func expireIdempotencyKeys(ctx context.Context, idem *postgres.Store, log *slog.Logger) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := idem.Expire(ctx, idempotencyTTL); err != nil {
				log.Warn("expiring idempotency keys", "error", err)
			}
		}
	}
}
