package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/consentry/consentry/platform/bootstrap"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/manual"
	"github.com/consentry/consentry/services/vendor-fanout/internal/dispatch"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// versionSunsetWarning is how early start-up warns of an API version's sunset: the
// ConsentryVendorAPIVersionSunset alert's threshold, two months to move to a newer one.
const versionSunsetWarning = 60 * 24 * time.Hour

func run(ctx context.Context, args []string, getenv func(string) string, _ io.Writer, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := server.NewLogger(stderr, cfg.LogLevel, "vendor-fanout")
	reg := server.NewRegistry()

	adapters, err := buildAdapters(cfg.Routes, getenv, cfg.VendorTimeout, cfg.WebhookKeys)
	if err != nil {
		return err
	}
	deps, err := bootstrap.Open(ctx, bootstrap.Options{
		Service: "vendor-fanout", Getenv: getenv, Common: cfg.Common, Kafka: cfg.Kafka, Registry: cfg.Registry,
		MasterKeys: cfg.MasterKeys, PGMaxConns: 24, Log: log, Metrics: reg,
		// Requests too: fan-out announces there that a privacy request is completed.
		Writes: map[string]string{cfg.Kafka.Topics.Receipts: schemas.VendorReceiptName, cfg.Kafka.Topics.Requests: schemas.PrivacyRequestName},
	})
	if err != nil {
		return err
	}
	announce := announcer{serde: deps.Serde, topic: cfg.Kafka.Topics.Requests, now: time.Now}
	store, err := postgres.Open(ctx, deps.Pool, announce.message)
	if err != nil {
		deps.Close()
		return err
	}

	metrics := dispatch.NewMetrics(reg)
	relayWake := make(chan struct{}, 1)
	notify := func() {
		select {
		case relayWake <- struct{}{}:
		default:
		}
	}
	recorder := postgres.NewRecorder(store, 500)
	lanes := map[string]*dispatch.Lane{}
	for _, in := range cfg.Routes.Instances {
		adapter, ok := adapters[in.Name]
		if in.Manual != nil {
			// Opening a task is a database write: no vendor limit to respect.
			adapter, ok = manual.New(in.Name, *in.Manual, store, time.Now), true
			in.RatePerSecond, in.Burst, in.Concurrency = 50, 50, 2
		}
		if !ok {
			continue
		}
		if v, ok := adapter.(vendor.Versioned); ok {
			version, sunset := v.APIVersion()
			metrics.APIVersionSunset(in.Type, in.Name, sunset)
			if left := time.Until(sunset); left < versionSunsetWarning {
				log.Warn("the vendor API version this instance uses is near or past its sunset; configure a current one",
					"vendor", in.Name, "version", version, "sunset", sunset.Format(time.DateOnly))
			}
		}
		lanes[in.Name] = dispatch.NewLane(dispatch.LaneConfig{
			Instance: in.Name, Adapter: adapter, RatePerSecond: in.RatePerSecond, Burst: in.Burst,
			Concurrency: in.Concurrency, Policy: cfg.Policy, BreakerTimeout: cfg.BreakerTimeout,
			MaxBatch: in.MaxBatch, BatchWindow: in.BatchWindow.Duration,
		}, dispatch.Deps{
			Store: laneStore{store, recorder}, Opener: deps.Sealer, Serde: deps.Serde, ReceiptTopic: cfg.Kafka.Topics.Receipts,
			Log: log, Metrics: metrics, Notify: notify,
		})
	}

	p := &planner{serde: deps.Serde, routes: cfg.Routes, store: store, topics: cfg.Kafka.Topics, now: time.Now, log: log,
		lease: cfg.Policy.Lease, hand: func(ds []fanout.Delivery, until time.Time) []int64 { return handOff(lanes, ds, until) },
		wake: func(instances map[string]bool) {
			for name := range instances {
				if l, ok := lanes[name]; ok {
					l.Wake()
				}
			}
		}}
	consumerCfg := deps.Consumer("vendor-fanout", cfg.Kafka.Topics.Consents, cfg.Kafka.Topics.Requests)
	// A lone event waits this long for company before it is planned. Under load the
	// reader's queue fills a batch without waiting, and the next batch gathers while
	// this one is planned; the 5 ms default only delays an event that comes alone.
	consumerCfg.Linger = 500 * time.Microsecond
	consumer, err := kafka.NewConsumer(consumerCfg, p.decode, p.handle)
	if err != nil {
		deps.Close()
		return err
	}

	a := &api{log: log, store: store, routes: cfg.Routes, lanes: lanes, planner: p, opener: deps.Sealer, now: time.Now,
		webhookKeys: cfg.WebhookKeys, serde: deps.Serde, receiptTopic: cfg.Kafka.Topics.Receipts, wakeRelay: notify}
	srv := server.New(cfg.HTTPAddr, cfg.AdminAddr, routes(a, deps.Keys), reg, log,
		deps.Checks(cfg.Kafka.Topics.Consents, cfg.Kafka.Topics.Requests, cfg.Kafka.Topics.Receipts)...)
	return server.Run(ctx, server.Lifecycle{
		Server: srv, Log: log, ShutdownDelay: cfg.ShutdownDelay, DebugAddr: cfg.DebugAddr,
		Workers: []server.Worker{
			{Name: "consumer", Run: consumer.Run},
			{Name: "dispatch", Run: func(ctx context.Context) error {
				return dispatchAll(ctx, lanes, store, recorder, deps.Producer, relayWake, log)
			}},
			{Name: "lane-metrics", Run: func(ctx context.Context) error {
				return reportLanes(ctx, store, metrics, instanceNames(cfg.Routes), log)
			}},
			{Name: "backfill", Run: func(ctx context.Context) error { return backfillNewInstances(ctx, p, log) }},
			{Name: "deadline-sweeper", Run: func(ctx context.Context) error {
				return closeOverdueErasures(ctx, store, cfg.DeadlineSweep, notify, log)
			}},
			{Name: "retention", Run: func(ctx context.Context) error {
				return pruneDeliveries(ctx, store, cfg.Retention, log)
			}},
		},
		Closers: []func(){deps.Close},
	})
}

// laneStore is the delivery table as lanes use it: claims straight from the store,
// results through the group-committing recorder.
type laneStore struct {
	*postgres.Store
	recorder *postgres.Recorder
}

var (
	_ fanout.Lanes         = laneStore{}
	_ fanout.BatchRecorder = laneStore{}
)

func (s laneStore) Record(ctx context.Context, id int64, r fanout.Result) error {
	return s.recorder.Record(ctx, id, r)
}

func (s laneStore) RecordAll(ctx context.Context, rs []fanout.Recorded) error {
	return s.recorder.RecordAll(ctx, rs)
}

// dispatchAll runs every lane, the result recorder and the receipt relay. On shutdown
// the lanes finish their calls in flight and record them first, and only then does the
// relay publish the last receipts.
func dispatchAll(ctx context.Context, lanes map[string]*dispatch.Lane, store *postgres.Store, recorder *postgres.Recorder,
	producer *kafka.Producer, relayWake chan struct{}, log *slog.Logger) error {
	recorderCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recorderDone := make(chan struct{})
	go func() { defer close(recorderDone); recorder.Run(recorderCtx) }()
	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx) }()
	}
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	relayDone := make(chan error, 1)
	go func() { relayDone <- relayReceipts(relayCtx, store, producer, relayWake, log) }()
	wg.Wait()
	stopRecorder()
	<-recorderDone
	stopRelay()
	if err := <-relayDone; err != nil {
		return fmt.Errorf("receipt relay: %w", err)
	}
	return nil
}

// handOff gives each lane the deliveries planned leased for it and returns the ids of
// those no lane took (an instance with no lane, or a lane without room).
func handOff(lanes map[string]*dispatch.Lane, ds []fanout.Delivery, leasedUntil time.Time) []int64 {
	byLane := map[string][]fanout.Delivery{}
	for _, d := range ds {
		byLane[d.Instance] = append(byLane[d.Instance], d)
	}
	var rejected []int64
	for name, ds := range byLane {
		if l, ok := lanes[name]; ok {
			ds = l.Offer(ds, leasedUntil)
		}
		for _, d := range ds {
			rejected = append(rejected, d.ID)
		}
	}
	return rejected
}

func instanceNames(t *routing.Table) []string {
	names := make([]string, len(t.Instances))
	for i, in := range t.Instances {
		names[i] = in.Name
	}
	return names
}

// closeOverdueErasures closes, every interval, the erasures past their legal deadline
// whatever their vendors still have open, and destroys their subject's key
// (postgres.Store.CloseOverdue); notify wakes the relay to publish the announcements.
func closeOverdueErasures(ctx context.Context, store *postgres.Store, interval time.Duration, notify func(), log *slog.Logger) error {
	const batch = 100
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := store.CloseOverdue(ctx, time.Now(), batch)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Error("closing erasures past their deadline failed; retrying at the next sweep", "error", err)
		case n > 0:
			log.Warn("erasures closed at their legal deadline with vendors unfinished, their subjects' keys destroyed", "requests", n)
			notify()
			if n == batch {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// pruneDeliveries deletes done deliveries older than retention (postgres.Store.Prune), a
// bounded batch per statement so that no transaction holds many rows, every
// retention/24 or hourly, whichever is sooner: rows outlive the retention by no more than that.
func pruneDeliveries(ctx context.Context, store *postgres.Store, retention time.Duration, log *slog.Logger) error {
	const batch = 1000
	tick := time.NewTicker(min(retention/24, time.Hour))
	defer tick.Stop()
	for {
		var total int64
		for ctx.Err() == nil {
			n, err := store.Prune(ctx, time.Now().Add(-retention), batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("pruning done deliveries failed; retrying at the next round", "error", err)
				}
				break
			}
			total += n
			if n < batch {
				break
			}
		}
		if total > 0 {
			log.Info("pruned done deliveries past their retention", "deliveries", total)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
