package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

// requestGauges export the privacy requests' deadline standing per tenant (a tenant is
// not a personal identifier). A refresh replaces the whole snapshot, so a scrape never
// sees a tenant half-updated nor a label left over from a tenant that has no value now.
type requestGauges struct {
	atRisk, overdue, open *prometheus.Desc

	mu   sync.Mutex
	snap map[string]audit.Tally
}

func newRequestGauges(reg prometheus.Registerer) *requestGauges {
	g := &requestGauges{
		atRisk: prometheus.NewDesc("consentry_privacy_requests_at_risk",
			"Open privacy requests with less than a fifth of their legal time left.", []string{"tenant"}, nil),
		overdue: prometheus.NewDesc("consentry_privacy_requests_overdue",
			"Open privacy requests past their legal deadline.", []string{"tenant"}, nil),
		open: prometheus.NewDesc("consentry_privacy_requests_open",
			"Privacy requests not yet completed or rejected, by status.", []string{"tenant", "status"}, nil),
	}
	reg.MustRegister(g)
	return g
}

func (g *requestGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.atRisk
	ch <- g.overdue
	ch <- g.open
}

func (g *requestGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tenant, t := range g.snap {
		ch <- prometheus.MustNewConstMetric(g.atRisk, prometheus.GaugeValue, float64(t.AtRisk), tenant)
		ch <- prometheus.MustNewConstMetric(g.overdue, prometheus.GaugeValue, float64(t.Overdue), tenant)
		for _, status := range schemas.Statuses {
			if !audit.Closed(status) {
				ch <- prometheus.MustNewConstMetric(g.open, prometheus.GaugeValue, float64(t.Open[status]), tenant, status)
			}
		}
	}
}

// refresh recomputes the snapshot from the open requests.
func (g *requestGauges) refresh(ctx context.Context, store *postgres.Store, now time.Time) error {
	tenants, err := store.Tenants(ctx)
	if err != nil {
		return err
	}
	open, err := store.OpenRequests(ctx)
	if err != nil {
		return err
	}
	snap := audit.TallyOpen(tenants, open, now)
	g.mu.Lock()
	g.snap = snap
	g.mu.Unlock()
	return nil
}

// run refreshes the gauges every interval until ctx ends. A deadline moves from on
// track to at risk by the clock alone, with no event to react to, hence a timer.
func (g *requestGauges) run(ctx context.Context, store *postgres.Store, interval time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := g.refresh(ctx, store, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("refreshing the privacy request gauges failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
