package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/services/vendor-fanout/internal/dispatch"
	"github.com/consentry/consentry/services/vendor-fanout/internal/postgres"
)

// relayReceipts publishes the outbox until ctx ends, then drains it once more (bounded)
// so that the receipts of the last calls are not left for the next start.
func relayReceipts(ctx context.Context, store *postgres.Store, producer *kafka.Producer, wake <-chan struct{}, log *slog.Logger) error {
	publish := func(ctx context.Context, msgs []kafka.Message) error {
		if err := producer.Publish(ctx, msgs...); err != nil {
			return err
		}
		failpoint.Hit(failpoint.RelayAfterPublish)
		return nil
	}
	drain := func(ctx context.Context) {
		for {
			n, err := store.RelayOutbox(ctx, 500, publish)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("relaying receipts failed; retrying", "error", err)
				}
				return
			}
			if n < 500 {
				return
			}
		}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		drain(ctx)
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			drain(final)
			cancel()
			return nil
		case <-wake:
		case <-tick.C:
		}
	}
}

// reportLanes refreshes the backlog and manual-task gauges from the database.
func reportLanes(ctx context.Context, store *postgres.Store, m *dispatch.Metrics, instances []string, log *slog.Logger) error {
	// Counting the backlog reads every open row; at 100,000 of them that is a few hundred
	// milliseconds of database time, which a scrape interval of 15 s does not need more
	// often than this.
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		stats, err := store.Stats(ctx, false)
		if err != nil && ctx.Err() == nil {
			log.Warn("reading lane stats failed", "error", err)
		}
		tasks, err := store.TaskStats(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("reading manual task stats failed", "error", err)
		}
		for _, name := range instances {
			// Every vendor gets a value, zero included, so an alert can tell "none" from "unknown".
			m.TasksOpen.WithLabelValues(name).Set(float64(tasks[name].Open))
			m.TasksOverdue.WithLabelValues(name).Set(float64(tasks[name].Overdue))
		}
		for name, s := range stats {
			m.Backlog.WithLabelValues(name).Set(float64(s.Pending))
			m.DeadLetters.WithLabelValues(name).Set(float64(s.Dead))
			age := 0.0
			if !s.OldestPending.IsZero() {
				age = time.Since(s.OldestPending).Seconds()
			}
			m.OldestAge.WithLabelValues(name).Set(age)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
