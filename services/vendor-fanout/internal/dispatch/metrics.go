package dispatch

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// Metrics are the per-vendor delivery metrics. Labels are vendor instance names and
// outcomes, never subject or event ids. A nil *Metrics records nothing.
type Metrics struct {
	outcomes     *prometheus.CounterVec
	breaker      *prometheus.GaugeVec
	throttles    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	Backlog      *prometheus.GaugeVec
	OldestAge    *prometheus.GaugeVec
	DeadLetters  *prometheus.GaugeVec
	TasksOpen    *prometheus.GaugeVec
	TasksOverdue *prometheus.GaugeVec
	propagation  *prometheus.HistogramVec
	throttledTo  *prometheus.GaugeVec
	batchItems   *prometheus.HistogramVec
	sunsets      *sunsetCollector
}

// NewMetrics registers the dispatch metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_fanout_delivery_results_total",
			Help: "Delivery attempts by vendor and resulting state (pending = retry scheduled)."}, []string{"vendor", "state", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_breaker_state", Help: "Circuit breaker state per vendor: 0 closed, 1 half-open, 2 open."}, []string{"vendor"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_fanout_throttled_total", Help: "Vendor throttling signals (429, Salesforce 403 REQUEST_LIMIT_EXCEEDED)."}, []string{"vendor"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_fanout_auth_failures_total", Help: "Vendor answers 401/403: credentials need attention."}, []string{"vendor"}),
		Backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_backlog", Help: "Deliveries waiting in each vendor's lane."}, []string{"vendor"}),
		OldestAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_oldest_pending_seconds", Help: "Age of the oldest pending delivery per vendor."}, []string{"vendor"}),
		DeadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_dead_letters", Help: "Dead-lettered deliveries per vendor awaiting replay."}, []string{"vendor"}),
		TasksOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_manual_tasks_open", Help: "Open manual tasks per vendor without an API."}, []string{"vendor"}),
		TasksOverdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_manual_tasks_overdue", Help: "Open manual tasks past their due time, per vendor."}, []string{"vendor"}),
		// From 50 ms (the embedded stack) to the 48 h in which an unsubscribe must be
		// honoured: the buckets above a minute are where a lane's outage shows.
		propagation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "consentry_fanout_propagation_seconds",
			Help:    "From Consentry accepting an event (recorded_at) to the vendor accepting its action, per vendor.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 48 * 3600}},
			[]string{"vendor"}),
		throttledTo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_fanout_throttled_until_seconds",
			Help: "Unix time until which the vendor asked not to be called (Retry-After); in the past when not throttled."}, []string{"vendor"}),
		// Up to the largest documented batch the adapters use (LinkedIn's 5,000).
		batchItems: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "consentry_fanout_batch_items",
			Help:    "Deliveries carried by each batch call to a vendor, per vendor.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000}},
			[]string{"vendor"}),
		sunsets: &sunsetCollector{now: time.Now, desc: prometheus.NewDesc("consentry_vendor_api_version_sunset_seconds",
			"Seconds until the vendor stops serving the API version this instance is configured with; negative once past.",
			[]string{"vendor", "instance"}, nil)},
	}
	reg.MustRegister(m.outcomes, m.breaker, m.throttles, m.authFailures, m.Backlog, m.OldestAge, m.DeadLetters, m.TasksOpen, m.TasksOverdue,
		m.propagation, m.throttledTo, m.batchItems, m.sunsets)
	return m
}

// APIVersionSunset exports, for an instance of vendorType pinned to an API version, the
// time left until the vendor retires that version (vendor.Versioned).
func (m *Metrics) APIVersionSunset(vendorType, instance string, sunset time.Time) {
	if m == nil {
		return
	}
	m.sunsets.mu.Lock()
	defer m.sunsets.mu.Unlock()
	if m.sunsets.at == nil {
		m.sunsets.at = map[[2]string]time.Time{}
	}
	m.sunsets.at[[2]string{vendorType, instance}] = sunset
}

// sunsetCollector computes the time left at scrape time: a gauge set once at start-up
// would stand still while the sunset comes closer.
type sunsetCollector struct {
	desc *prometheus.Desc
	now  func() time.Time
	mu   sync.Mutex
	at   map[[2]string]time.Time // {vendor type, instance} → sunset
}

func (c *sunsetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sunsetCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, sunset := range c.at {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, sunset.Sub(now).Seconds(), k[0], k[1])
	}
}

func (m *Metrics) outcome(vendor string, r fanout.Result) {
	if m != nil {
		m.outcomes.WithLabelValues(vendor, r.State, r.Outcome).Inc()
	}
}

func (m *Metrics) breakerState(vendor string, s gobreaker.State) {
	if m != nil {
		m.breaker.WithLabelValues(vendor).Set(float64(s))
	}
}

func (m *Metrics) throttled(vendor string) {
	if m != nil {
		m.throttles.WithLabelValues(vendor).Inc()
	}
}

// throttledUntil exports the lane's Retry-After gate; zero for none, so that every vendor
// has a series.
func (m *Metrics) throttledUntil(vendor string, until time.Time) {
	if m == nil {
		return
	}
	v := 0.0
	if !until.IsZero() {
		v = float64(until.UnixNano()) / 1e9
	}
	m.throttledTo.WithLabelValues(vendor).Set(v)
}

func (m *Metrics) propagated(vendor string, d time.Duration) {
	if m != nil {
		m.propagation.WithLabelValues(vendor).Observe(d.Seconds())
	}
}

func (m *Metrics) authFailure(vendor string) {
	if m != nil {
		m.authFailures.WithLabelValues(vendor).Inc()
	}
}

func (m *Metrics) batch(vendor string, items int) {
	if m == nil {
		return
	}
	m.batchItems.WithLabelValues(vendor).Observe(float64(items))
}
