package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

// chainGauge exports the verdict of the last audit chain verification, periodic or asked
// for on GET /v1/audit/verify, so that a tampered or broken log raises an alert without
// anyone running the check. Nothing is exported before the first verification ends: a
// default of "broken" would page at every start, one of "ok" would claim what no one
// checked.
type chainGauge struct {
	ok, verifiedAt, unchained *prometheus.Desc

	mu   sync.Mutex
	last *chain.Report
	at   time.Time
}

func newChainGauge(reg prometheus.Registerer) *chainGauge {
	g := &chainGauge{
		ok: prometheus.NewDesc("consentry_audit_chain_ok",
			"1 when the last verification recomputed every audit hash chain unbroken, 0 when it found a break.", nil, nil),
		verifiedAt: prometheus.NewDesc("consentry_audit_chain_verified_timestamp_seconds",
			"Unix time the last audit chain verification finished.", nil, nil),
		unchained: prometheus.NewDesc("consentry_audit_chain_unchained_rows",
			"Audit rows outside any chain at the last verification.", nil, nil),
	}
	reg.MustRegister(g)
	return g
}

func (g *chainGauge) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.ok
	ch <- g.verifiedAt
	ch <- g.unchained
}

func (g *chainGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		return
	}
	ok := 0.0
	if g.last.OK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(g.ok, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(g.verifiedAt, prometheus.GaugeValue, float64(g.at.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(g.unchained, prometheus.GaugeValue, float64(g.last.Unchained))
}

// record keeps a finished verification's verdict. Safe on a nil gauge.
func (g *chainGauge) record(r chain.Report, at time.Time) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last, g.at = &r, at
}

// run verifies every interval until ctx ends. The walk reads the whole log in one
// snapshot: an hour between walks keeps its cost small next to the writes.
func (g *chainGauge) run(ctx context.Context, verify func(context.Context) (chain.Report, error), interval time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		report, err := verify(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("periodic audit chain verification failed to run", "error", err)
		case err == nil:
			g.record(report, time.Now())
			if !report.OK {
				log.Error("audit chain verification found a break", "unchained_rows", report.Unchained)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// lastVerification returns the last verification's report and when it ran; nil before
// the first.
func (g *chainGauge) lastVerification() (*chain.Report, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last, g.at
}
