// Package kafka is Consentry's Kafka plumbing over segmentio/kafka-go: one producer
// configured for durability with low latency, one consumer loop that commits only what is
// done, dead-letter publishing, topic administration and lag measurement.
//
// The settings follow docs/kafka-postgres.md §1 (producer) and §2–§5 (consumer); each non-default carries its reason.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Message is a Kafka record as kafka-go represents it.
type Message = kafkago.Message

// Header is a record header.
type Header = kafkago.Header

// ProducerConfig configures a Producer.
type ProducerConfig struct {
	Brokers []string
	// BatchTimeout is how long a partial batch waits for more records. kafka-go's default
	// of 1 s makes every synchronous write take a second; a few ms keeps latency low while
	// concurrent writers still share batches. Default 5 ms.
	BatchTimeout time.Duration
	// WriteTimeout bounds one write to the broker. Default 10 s.
	WriteTimeout time.Duration
	Transport    kafkago.RoundTripper // nil: kafka-go's default transport (plain TCP)
	Log          *slog.Logger
	Metrics      *Metrics
}

// Producer writes records with acks=all. It is safe for concurrent use; one per process.
type Producer struct {
	w         *kafkago.Writer
	metrics   *Metrics
	transport *kafkago.Transport
}

// NewProducer returns a Producer. Records are partitioned by key with the Murmur2
// balancer, which matches the Java client and franz-go, so every producer of a topic puts
// one subject on one partition.
func NewProducer(cfg ProducerConfig) (*Producer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: producer needs at least one broker")
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 5 * time.Millisecond
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// Its own transport rather than kafka-go's process-wide default, so that Close
	// releases the pooled connections and their goroutines.
	owned, _ := cfg.Transport.(*kafkago.Transport)
	if cfg.Transport == nil {
		owned = &kafkago.Transport{}
		cfg.Transport = owned
	}
	return &Producer{
		metrics:   cfg.Metrics,
		transport: owned,
		w: &kafkago.Writer{
			Addr:         kafkago.TCP(cfg.Brokers...),
			Balancer:     &kafkago.Murmur2Balancer{},
			RequiredAcks: kafkago.RequireAll, // the struct's zero value is fire-and-forget
			BatchTimeout: cfg.BatchTimeout,
			BatchSize:    500,
			WriteTimeout: cfg.WriteTimeout,
			// kafka-go retries internally; 3 keeps a broker restart survivable without
			// holding an HTTP request for tens of seconds.
			MaxAttempts:     3,
			WriteBackoffMin: 100 * time.Millisecond,
			WriteBackoffMax: time.Second,
			Transport:       cfg.Transport,
			ErrorLogger:     kafkago.LoggerFunc(func(msg string, args ...any) { cfg.Log.Warn("kafka writer", "detail", fmt.Sprintf(msg, args...)) }),
		},
	}, nil
}

// Publish writes msgs (each naming its topic) and returns once every one is acknowledged
// by all in-sync replicas. An error means "maybe written": the caller retries with the
// same event ids and consumers dedupe. A record without a traceparent header gets the
// one of the span in ctx, if any.
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	injectTrace(ctx, msgs)
	start := time.Now()
	err := p.w.WriteMessages(ctx, msgs...)
	p.metrics.observeProduce(msgs, err, time.Since(start))
	if err != nil {
		var werrs kafkago.WriteErrors
		if errors.As(err, &werrs) {
			return fmt.Errorf("kafka: %d of %d records not acknowledged: %w", werrs.Count(), len(msgs), firstError(werrs))
		}
		return fmt.Errorf("kafka: publish: %w", err)
	}
	return nil
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Close flushes and closes the writer and its connections.
func (p *Producer) Close() error {
	err := p.w.Close()
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	return err
}
