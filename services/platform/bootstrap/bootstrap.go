// Package bootstrap connects a Consentry service to what every service depends on —
// PostgreSQL, the key store, the schema registry, Kafka — from its configuration, and
// closes them in the right order. Services differ in what they do, not in how they start.
package bootstrap

import (
	"context"
	"errors"
	kafkago "github.com/segmentio/kafka-go"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/config"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/tracing"
)

// Options say what a service needs.
type Options struct {
	Service  string
	Common   config.Common
	Kafka    config.Kafka
	Registry config.Registry
	// MasterKeys enables sealing; empty for a service that never sees identifiers.
	MasterKeys string
	// Writes maps each topic the service produces to the record it writes there.
	Writes     map[string]string
	PGMaxConns int32
	Log        *slog.Logger
	Metrics    *prometheus.Registry
	// Getenv reads the OpenTelemetry variables (tracing.Setup); nil is os.Getenv.
	Getenv func(string) string
}

// Deps are the connected dependencies.
type Deps struct {
	Log          *slog.Logger
	Metrics      *prometheus.Registry
	KafkaMetrics *kafka.Metrics
	Pool         *pgxpool.Pool
	Sealer       *seal.Sealer // nil without MasterKeys
	Serde        *serde.Serde
	Producer     *kafka.Producer
	DeadLetters  *kafka.DeadLetterer
	Admin        *kafka.Admin
	Pepper       pseudonym.Pepper
	Keys         *apikey.Keys

	kafka         config.Kafka
	traceShutdown func(context.Context) error
	stopListener  func()
}

// Open connects everything, waiting for PostgreSQL as it comes up.
func Open(ctx context.Context, o Options) (_ *Deps, err error) {
	// Loaded here too, so a caller that skipped its config's validation still gets the
	// TLS and SASL it configured rather than plain TCP.
	if err := o.Kafka.Security.Load(); err != nil {
		return nil, err
	}
	d := &Deps{Log: o.Log, Metrics: o.Metrics, KafkaMetrics: kafka.NewMetrics(o.Metrics), kafka: o.Kafka}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.traceShutdown, err = tracing.Setup(ctx, o.Service, o.Getenv); err != nil {
		return nil, err
	}
	if d.Pepper, err = pseudonym.NewPepper(o.Common.Pepper); err != nil {
		return nil, err
	}
	if d.Keys, err = apikey.Parse(o.Common.APIKeys); err != nil {
		return nil, err
	}
	connectCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if d.Pool, err = postgres.Connect(connectCtx, o.Common.PostgresURL, o.PGMaxConns, o.Log); err != nil {
		return nil, err
	}
	if o.MasterKeys != "" {
		master, err := seal.ParseMasterKeys(o.MasterKeys)
		if err != nil {
			return nil, err
		}
		store, err := keystore.Open(ctx, d.Pool)
		if err != nil {
			return nil, err
		}
		d.Sealer = seal.NewSealer(master, store, seal.Options{})
		// Every process that opens identifiers stops opening a destroyed key within
		// moments of its destruction, not when its cache entry expires.
		listenCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); keystore.Listen(listenCtx, d.Pool.Config().ConnConfig, d.Sealer, o.Log) }()
		d.stopListener = func() { stop(); <-done }
	}
	client, err := serde.NewClient(o.Registry.URL, o.Registry.Bearer, o.Registry.BasicUser, o.Registry.BasicPass, nil)
	if err != nil {
		return nil, err
	}
	if d.Serde, err = retrying(connectCtx, o.Log, "schema registry", func() (*serde.Serde, error) {
		return serde.New(connectCtx, serde.Config{Client: client, Writes: o.Writes, AutoRegister: o.Registry.AutoRegister})
	}); err != nil {
		return nil, err
	}
	pc := kafka.ProducerConfig{Brokers: o.Kafka.Brokers, BatchTimeout: o.Kafka.BatchTimeout, Log: o.Log, Metrics: d.KafkaMetrics}
	var adminTransport kafkago.RoundTripper
	// A typed nil in the interface would stand for a transport that is not there.
	if t := o.Kafka.Security.Transport(); t != nil {
		pc.Transport, adminTransport = t, o.Kafka.Security.Transport()
	}
	if d.Producer, err = kafka.NewProducer(pc); err != nil {
		return nil, err
	}
	d.DeadLetters = kafka.NewDeadLetterer(d.Producer, d.KafkaMetrics)
	d.Admin = kafka.NewAdmin(o.Kafka.Brokers, adminTransport)
	return d, nil
}

// retrying calls fn until it succeeds or ctx ends: at start-up a dependency may still be
// coming up.
func retrying[T any](ctx context.Context, log *slog.Logger, what string, fn func() (T, error)) (T, error) {
	wait := 200 * time.Millisecond
	for {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		log.Warn(what+" not reachable yet", "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return v, errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Checks are the readiness checks of the shared dependencies.
func (d *Deps) Checks(topics ...string) []server.Check {
	return []server.Check{
		{Name: "postgres", Fn: func(ctx context.Context) error { return d.Pool.Ping(ctx) }},
		{Name: "kafka", Fn: func(ctx context.Context) error { return d.Admin.Ping(ctx, topics...) }},
	}
}

// Consumer returns a consumer configuration for group with the service's settings.
func (d *Deps) Consumer(group string, topics ...string) kafka.ConsumerConfig {
	return kafka.ConsumerConfig{
		Brokers:        d.kafka.Brokers,
		Dialer:         d.kafka.Security.Dialer(),
		GroupID:        group,
		Topics:         topics,
		SessionTimeout: d.kafka.SessionTimeout,
		DeadLetters:    d.DeadLetters,
		Lag:            d.Admin,
		Log:            d.Log,
		Metrics:        d.KafkaMetrics,
	}
}

// Close releases everything: the producer first (it flushes), the pool last.
func (d *Deps) Close() {
	if d.Producer != nil {
		if err := d.Producer.Close(); err != nil {
			d.Log.Warn("closing kafka producer", "error", err)
		}
	}
	if d.Admin != nil {
		d.Admin.Close()
	}
	if d.stopListener != nil {
		d.stopListener()
	}
	if d.Pool != nil {
		d.Pool.Close()
	}
	// Last: the spans of the work that closing finished are exported too.
	if d.traceShutdown != nil {
		if err := d.traceShutdown(context.Background()); err != nil {
			d.Log.Warn("flushing traces", "error", err)
		}
	}
}
