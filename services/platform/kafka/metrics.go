package kafka

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Kafka metrics of one process. A nil *Metrics records nothing, which
// keeps tests that do not care free of registries.
type Metrics struct {
	produced      *prometheus.CounterVec
	produceErrors *prometheus.CounterVec
	produceTime   prometheus.Histogram
	consumedTotal *prometheus.CounterVec
	batchTime     *prometheus.HistogramVec
	handlerErrors *prometheus.CounterVec
	commitErrors  *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	lag           *prometheus.GaugeVec
}

// NewMetrics registers the Kafka metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_produced_records_total", Help: "Records acknowledged by the broker."}, []string{"topic"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_produce_errors_total", Help: "Publish calls that failed (records maybe not written)."}, []string{"topic"}),
		produceTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "consentry_kafka_produce_seconds", Help: "Time for a publish call to be acknowledged with acks=all.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		consumedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_consumed_records_total", Help: "Records processed (handled or dead-lettered)."}, []string{"group", "topic"}),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "consentry_kafka_batch_seconds", Help: "Time to process one fetched batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"group"}),
		handlerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_batch_errors_total", Help: "Failed attempts to process a batch (each is retried)."}, []string{"group"}),
		commitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_commit_errors_total", Help: "Failed offset commits."}, []string{"group"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_kafka_dead_letters_total", Help: "Records parked on a dead-letter topic."}, []string{"group", "topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consentry_kafka_consumer_lag", Help: "Records between the group's committed offset and the partition end."}, []string{"group", "topic", "partition"}),
	}
	reg.MustRegister(m.produced, m.produceErrors, m.produceTime, m.consumedTotal, m.batchTime, m.handlerErrors, m.commitErrors, m.deadLetters, m.lag)
	return m
}

func (m *Metrics) observeProduce(msgs []Message, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.produceTime.Observe(d.Seconds())
	for _, msg := range msgs {
		if err != nil {
			m.produceErrors.WithLabelValues(msg.Topic).Inc()
		} else {
			m.produced.WithLabelValues(msg.Topic).Inc()
		}
	}
}

func (m *Metrics) consumed(group string, msgs []Message, d time.Duration) {
	if m == nil {
		return
	}
	m.batchTime.WithLabelValues(group).Observe(d.Seconds())
	for _, msg := range msgs {
		m.consumedTotal.WithLabelValues(group, msg.Topic).Inc()
	}
}

func (m *Metrics) handlerError(group string) {
	if m != nil {
		m.handlerErrors.WithLabelValues(group).Inc()
	}
}

func (m *Metrics) commitError(group string) {
	if m != nil {
		m.commitErrors.WithLabelValues(group).Inc()
	}
}

func (m *Metrics) deadLettered(group, topic string) {
	if m != nil {
		m.deadLetters.WithLabelValues(group, topic).Inc()
	}
}

// SetLag records the lag of one partition.
func (m *Metrics) SetLag(group string, l PartitionLag) {
	if m != nil {
		m.lag.WithLabelValues(group, l.Topic, strconv.Itoa(l.Partition)).Set(float64(l.Lag))
	}
}
