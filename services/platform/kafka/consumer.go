package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/consentry/consentry/platform/failpoint"
)

// Record is a consumed message with its decoded value.
type Record[T any] struct {
	Msg   Message
	Value T
}

// Decoder turns a message into a value. An error marks the message as poison: it goes to
// the dead-letter topic and the partition moves on (docs/architecture.md, guarantee 4).
type Decoder[T any] func(ctx context.Context, msg Message) (T, error)

// Handler processes one batch of decoded records, in partition order. It returns only
// when the batch's effect is durable; an error means nothing in the batch may be
// committed, and the same batch is offered again.
type Handler[T any] func(ctx context.Context, batch []Record[T]) error

// Permanent marks a handler error as caused by the data rather than by a dependency (a
// row the database rejects, say). The consumer then handles the batch's records one by
// one and dead-letters those that fail permanently on their own, so one bad record
// cannot block its partition; an unmarked error retries the whole batch.
func Permanent(err error) error { return &permanentError{err} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ErrRetryDecode may be wrapped by a Decoder to say the failure is not the message's
// fault (the schema registry is unreachable, say): the message is retried, not dead-lettered.
var ErrRetryDecode = errors.New("kafka: decode failed for a reason outside the message")

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers []string
	GroupID string
	Topics  []string

	// MaxBatch caps the records handled together. Default 500.
	MaxBatch int
	// Linger is how long to wait for more records once one has arrived. Default 5 ms.
	Linger time.Duration
	// MaxWait bounds how long a fetch may wait on an empty partition; records are
	// returned as soon as they arrive whatever it is. Default 1.5 s. kafka-go asks the
	// broker to answer a second before this (a quarter of it, when shorter) and drops
	// the connection when it does not, then backs off before fetching again: at 250 ms
	// the broker had 62 ms of slack, and a busy broker made consumers reconnect and
	// pause for up to a second (seen on the embedded stack under load). At 1.5 s it has
	// a second, and an empty fetch — which Close waits for — lasts half a second.
	MaxWait time.Duration

	// Group timings. kfake's minimum session timeout is 6 s; production Kafka defaults
	// suit 10-30 s. Defaults: session 10 s, heartbeat 1 s, rebalance 10 s, join backoff 1 s.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	JoinGroupBackoff  time.Duration

	// DrainTimeout bounds how long the batch in hand may take to finish after shutdown
	// begins. Default 30 s.
	DrainTimeout time.Duration

	// Lag, when set, is asked every LagInterval (default 15 s) for the group's lag,
	// which Metrics then export: a group that falls behind is the first sign of a stuck
	// consumer, and kafka-go's reader measures no lag for a group member.
	Lag         LagSource
	LagInterval time.Duration

	DeadLetters *DeadLetterer // required: where poison goes
	Dialer      *kafkago.Dialer
	Log         *slog.Logger
	Metrics     *Metrics
}

// LagSource measures a group's lag (Admin).
type LagSource interface {
	Lag(ctx context.Context, group string, topics ...string) ([]PartitionLag, error)
}

var _ LagSource = (*Admin)(nil)

// Consumer runs the fetch → decode → handle → commit loop for one consumer group.
type Consumer[T any] struct {
	cfg      ConsumerConfig
	decodeFn Decoder[T]
	handle   Handler[T]
	reader   *kafkago.Reader
	log      *slog.Logger
	fetched  atomic.Bool
}

// NewConsumer validates cfg, fills defaults, and returns a consumer that is not yet running.
func NewConsumer[T any](cfg ConsumerConfig, decode Decoder[T], handle Handler[T]) (*Consumer[T], error) {
	var errs []error
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: consumer needs at least one broker"))
	}
	if cfg.GroupID == "" {
		errs = append(errs, errors.New("kafka: consumer needs a group id"))
	}
	if len(cfg.Topics) == 0 {
		errs = append(errs, errors.New("kafka: consumer needs at least one topic"))
	}
	if cfg.DeadLetters == nil {
		errs = append(errs, errors.New("kafka: consumer needs a dead-letter publisher"))
	}
	if decode == nil || handle == nil {
		errs = append(errs, errors.New("kafka: consumer needs a decoder and a handler"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	setDefault(&cfg.MaxBatch, 500)
	setDefault(&cfg.Linger, 5*time.Millisecond)
	setDefault(&cfg.MaxWait, 1500*time.Millisecond)
	setDefault(&cfg.SessionTimeout, 10*time.Second)
	setDefault(&cfg.HeartbeatInterval, time.Second)
	setDefault(&cfg.RebalanceTimeout, 10*time.Second)
	setDefault(&cfg.JoinGroupBackoff, time.Second)
	setDefault(&cfg.DrainTimeout, 30*time.Second)
	setDefault(&cfg.LagInterval, 15*time.Second)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	log := cfg.Log.With("group", cfg.GroupID)
	return &Consumer[T]{
		cfg:      cfg,
		decodeFn: decode,
		handle:   handle,
		log:      log,
		reader: kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:     cfg.Brokers,
			GroupID:     cfg.GroupID,
			GroupTopics: cfg.Topics,
			Dialer:      cfg.Dialer,
			MinBytes:    1,
			MaxBytes:    10 << 20,
			MaxWait:     cfg.MaxWait,
			// Synchronous commits only: an asynchronous commit's failure is merely logged
			// and its stash is dropped on rebalance (kafka-go #1259).
			CommitInterval:    0,
			QueueCapacity:     max(1000, cfg.MaxBatch), // a batch can fill from what is already fetched
			ReadLagInterval:   -1,
			StartOffset:       kafkago.FirstOffset,
			SessionTimeout:    cfg.SessionTimeout,
			HeartbeatInterval: cfg.HeartbeatInterval,
			RebalanceTimeout:  cfg.RebalanceTimeout,
			JoinGroupBackoff:  cfg.JoinGroupBackoff,
			ErrorLogger:       kafkago.LoggerFunc(func(msg string, args ...any) { log.Warn("kafka reader", "detail", fmt.Sprintf(msg, args...)) }),
		}),
	}, nil
}

func setDefault[V int | time.Duration](v *V, def V) {
	if *v <= 0 {
		*v = def
	}
}

// Fetched reports whether the consumer has received at least one record; tests use it to
// know the group has been joined.
func (c *Consumer[T]) Fetched() bool { return c.fetched.Load() }

// Run consumes until ctx ends, then finishes the batches already fetched (bounded by
// DrainTimeout), commits them, and leaves the group. Records are never committed before
// the handler has made their effect durable; everything fetched is handled in order, so
// the committed offset is always the contiguous done offset.
//
// Fetching and decoding the next batch overlaps handling the current one: a handler
// mostly waits on its database, and the decode would otherwise wait for it too. Only
// one batch is decoded ahead, so a slow handler holds back at most that much.
func (c *Consumer[T]) Run(ctx context.Context) error {
	// Shutdown stops fetching, not the work in hand: it is finished and committed so that
	// a rolling restart redelivers nothing. The drain clock starts only once shutdown
	// begins; until then a batch may retry for as long as a dependency is down.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(c.cfg.DrainTimeout, cancelWork) })
	defer stopDrain()

	if c.cfg.Lag != nil && c.cfg.Metrics != nil {
		lagCtx, stopLag := context.WithCancel(ctx)
		lagDone := make(chan struct{})
		go func() { defer close(lagDone); c.reportLag(lagCtx) }()
		defer func() { stopLag(); <-lagDone }()
	}

	ready := make(chan decodedBatch[T])
	exited := make(chan struct{})
	prepared := make(chan struct{})
	go func() {
		defer close(prepared)
		defer close(ready)
		c.prepare(ctx, work, ready, exited)
	}()
	defer func() {
		close(exited)
		<-prepared
		if err := c.reader.Close(); err != nil {
			c.log.Warn("closing kafka reader", "error", err)
		}
	}()
	for b := range ready {
		start := time.Now()
		if len(b.records) > 0 && !c.handleIsolating(work, b.records) {
			return nil // the drain time is over: nothing more is committed, all is redelivered
		}
		c.cfg.Metrics.consumed(c.cfg.GroupID, b.msgs, time.Since(start))
		failpoint.Hit(failpoint.ConsumerBeforeCommit)
		c.commit(work, b.msgs)
	}
	return nil
}

// reportLag exports the group's lag until ctx ends. Every replica of a service reports
// every partition of its group, so dashboards take the max per partition.
func (c *Consumer[T]) reportLag(ctx context.Context) {
	tick := time.NewTicker(c.cfg.LagInterval)
	defer tick.Stop()
	for {
		measure, cancel := context.WithTimeout(ctx, 10*time.Second)
		lags, err := c.cfg.Lag.Lag(measure, c.cfg.GroupID, c.cfg.Topics...)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.Debug("measuring consumer lag failed", "error", err)
		}
		for _, l := range lags {
			c.cfg.Metrics.SetLag(c.cfg.GroupID, l)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// decodedBatch is a fetched batch whose poison is already dead-lettered.
type decodedBatch[T any] struct {
	msgs    []Message
	records []Record[T]
}

// prepare fetches and decodes batches and hands them to Run until ctx ends (or Run has
// exited). A batch once fetched is always decoded and handed over, even after ctx ended.
func (c *Consumer[T]) prepare(ctx, work context.Context, ready chan<- decodedBatch[T], exited <-chan struct{}) {
	for {
		msgs, err := c.fetchBatch(ctx)
		if len(msgs) == 0 {
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				c.log.Warn("fetch failed", "error", err)
				if !sleep(ctx, time.Second) {
					return
				}
			}
			continue
		}
		c.fetched.Store(true)
		records, ok := c.decode(work, msgs)
		if !ok {
			return
		}
		select {
		case ready <- decodedBatch[T]{msgs: msgs, records: records}:
		case <-exited:
			return
		}
	}
}

func (c *Consumer[T]) fetchBatch(ctx context.Context) ([]Message, error) {
	first, err := c.reader.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []Message{first}
	linger, cancel := context.WithTimeout(ctx, c.cfg.Linger)
	defer cancel()
	for len(msgs) < c.cfg.MaxBatch {
		m, err := c.reader.FetchMessage(linger)
		if err != nil {
			break // the linger ended; a message not yet returned stays queued in the reader
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// decode decodes msgs and dead-letters the poison among them, once each. It gives up
// only when ctx ends (shutdown, and the drain time is over).
func (c *Consumer[T]) decode(ctx context.Context, msgs []Message) ([]Record[T], bool) {
	batch := make([]Record[T], 0, len(msgs))
	for _, m := range msgs {
		var (
			v      T
			poison error
		)
		if !c.retry(ctx, "decode", func() error {
			var err error
			v, err = c.decodeFn(ctx, m)
			if err != nil && !errors.Is(err, ErrRetryDecode) {
				poison, err = err, nil
			}
			return err
		}) {
			return nil, false
		}
		if poison == nil {
			batch = append(batch, Record[T]{Msg: m, Value: v})
			continue
		}
		// Park it with the reason and move on; if parking fails it is tried again, so a
		// poison record is never dropped silently.
		if !c.retry(ctx, "dead-letter", func() error { return c.cfg.DeadLetters.Publish(ctx, c.cfg.GroupID, m, poison) }) {
			return nil, false
		}
		c.log.Warn("record dead-lettered", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "reason", poison.Error())
	}
	return batch, true
}

// handleIsolating handles batch until it succeeds. When the handler blames the data, the
// records are handled one at a time and a record that fails permanently on its own is
// dead-lettered; the others still take effect.
func (c *Consumer[T]) handleIsolating(ctx context.Context, batch []Record[T]) bool {
	return c.retry(ctx, "handle", func() error {
		err := c.handle(ctx, batch)
		if !IsPermanent(err) {
			return err
		}
		if len(batch) == 1 {
			if perr := c.cfg.DeadLetters.Publish(ctx, c.cfg.GroupID, batch[0].Msg, err); perr != nil {
				return fmt.Errorf("dead-lettering a record the handler rejects: %w", perr)
			}
			m := batch[0].Msg
			c.log.Warn("record dead-lettered", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "reason", err.Error())
			return nil
		}
		c.log.Warn("a batch failed on its data; handling its records one by one", "records", len(batch), "error", err)
		for i := range batch {
			if !c.handleIsolating(ctx, batch[i:i+1]) {
				return ctx.Err()
			}
		}
		return nil
	})
}

// retry runs fn until it succeeds or ctx ends, backing off with full jitter so that a step
// failing because a dependency is down does not hammer it. The group heartbeat runs in
// the background meanwhile, so a long outage does not cost the partitions.
func (c *Consumer[T]) retry(ctx context.Context, step string, fn func() error) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return true
		}
		c.cfg.Metrics.handlerError(c.cfg.GroupID)
		c.log.Error("batch step failed; retrying", "step", step, "error", err, "attempt", attempt)
		wait := time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond
		backoff = min(2*backoff, 30*time.Second)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

func (c *Consumer[T]) commit(ctx context.Context, msgs []Message) {
	for attempt := 1; attempt <= 5; attempt++ {
		err := c.reader.CommitMessages(ctx, msgs...)
		if err == nil {
			return
		}
		c.cfg.Metrics.commitError(c.cfg.GroupID)
		// A failed commit after a rebalance is harmless: the records were processed and
		// the new owner will see them again and dedupe. Retrying covers broker blips.
		c.log.Warn("offset commit failed", "error", err, "attempt", attempt)
		if !sleep(ctx, time.Duration(attempt)*200*time.Millisecond) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
