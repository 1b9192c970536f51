// Package dispatch delivers each vendor's backlog through that vendor's own lane: its own
// circuit breaker, rate limiter, concurrency, Retry-After gate and retry schedule. Lanes
// share nothing but the database, so a vendor that is down, slow or throttling delays no
// other vendor (docs/architecture.md, guarantee 3).
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/platform/tracing"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

var tracer = tracing.Tracer("github.com/consentry/consentry/services/vendor-fanout/internal/dispatch")

// Encoder frames events for Kafka (serde.Serde).
type Encoder interface {
	EncodeMessage(topic, key string, e schemas.Event) (kafka.Message, error)
}

var _ Encoder = (*serde.Serde)(nil)

// Opener opens sealed identifiers.
type Opener interface {
	Open(ctx context.Context, tenant, subjectKey string, sealed *schemas.Sealed) (seal.Identifiers, error)
}

// Policy is the retry schedule of a lane.
type Policy struct {
	// BaseBackoff and MaxBackoff bound the capped exponential backoff with full jitter.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxAttempts, when positive, dead-letters a delivery after that many failed calls
	// (throttled calls do not count: the vendor asked us to wait, not to give up). Zero
	// retries until the delivery's deadline: a vendor down for hours must not turn its
	// whole backlog into dead letters that a person has to replay.
	MaxAttempts int
	// PollInterval is the first wait before checking an async vendor job; it doubles up
	// to MaxPollInterval.
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// Lease is how long a claimed delivery is hidden from other dispatchers; longer than
	// any call can take.
	Lease time.Duration
	// MaxThrottleWait caps the lane's wait after a throttle that names no time (no
	// Retry-After, no quota reset: Salesforce's REQUEST_LIMIT_EXCEEDED, LinkedIn's 429).
	// The wait starts at BaseBackoff and doubles with each consecutive throttle, so a
	// vendor whose daily quota is spent is asked a few times an hour, not every second.
	MaxThrottleWait time.Duration
}

// DefaultPolicy suits production; tests shorten it.
func DefaultPolicy() Policy {
	return Policy{
		BaseBackoff: time.Second, MaxBackoff: 10 * time.Minute,
		PollInterval: time.Minute, MaxPollInterval: 6 * time.Hour, Lease: 2 * time.Minute,
		MaxThrottleWait: time.Hour,
	}
}

// LaneConfig configures one vendor instance's lane.
type LaneConfig struct {
	Instance      string
	Adapter       vendor.Adapter
	RatePerSecond float64
	Burst         int
	Concurrency   int
	Policy        Policy
	// BreakerTimeout is how long the breaker stays open before probing. Default 30 s.
	BreakerTimeout time.Duration
	// MaxBatch, above one, lets a lane whose adapter is a vendor.BatchAdapter carry up
	// to that many deliveries in one call (routing's max_batch, the vendor's documented
	// batch size). BatchWindow is the longest it waits for a batch to fill; default 20 ms.
	MaxBatch    int
	BatchWindow time.Duration
}

// Deps are what lanes share.
type Deps struct {
	Store        fanout.Lanes
	Opener       Opener
	Serde        Encoder
	ReceiptTopic string
	Log          *slog.Logger
	Metrics      *Metrics
	Now          func() time.Time
	// Notify is called after a receipt was written to the outbox, to wake the relay.
	Notify func()
}

// Lane delivers one vendor instance's backlog.
type Lane struct {
	cfg     LaneConfig
	deps    Deps
	log     *slog.Logger
	breaker *gobreaker.CircuitBreaker[vendor.Result]
	limiter *rate.Limiter
	poller  vendor.Poller
	batcher vendor.BatchAdapter // nil unless the adapter batches and routing lets it
	patient bool                // waits for people: never unverifiable by time alone
	wake    chan struct{}

	// dbDue says the delivery table may hold due rows the lane was not handed: set by
	// Wake, by the idle tick, after a gate or a failed claim, and by a claim that came
	// back full. A lane woken only by a handoff calls what it was handed and does not
	// ask the database: that empty claim, once per planned batch per lane, made the cost
	// of an action grow with the number of vendors. lastDBClaim bounds how long a lane
	// kept busy by handoffs goes without looking (only Run's goroutine touches it).
	dbDue       atomic.Bool
	lastDBClaim time.Time

	throttledUntil atomic.Int64 // unix nanos; the vendor's Retry-After for the whole lane
	// throttles counts consecutive throttling signals (429s, quota brakes) since the
	// last call that came back without one; the wait after a throttle that names no
	// time grows with it.
	throttles atomic.Int32
	mu        sync.Mutex
	lastError string
	quota     Quota // the last time the vendor said its quota was spent

	// Deliveries planned already leased to this lane (handoff.go).
	handMu      sync.Mutex
	handed      []handed
	handStopped bool
}

// NewLane builds a lane with the breaker settings of docs/kafka-postgres.md §7.
func NewLane(cfg LaneConfig, deps Deps) *Lane {
	if cfg.BreakerTimeout <= 0 {
		cfg.BreakerTimeout = 30 * time.Second
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Policy.MaxThrottleWait <= 0 {
		cfg.Policy.MaxThrottleWait = time.Hour
	}
	l := &Lane{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Log.With("vendor", cfg.Instance),
		limiter: rate.NewLimiter(rate.Limit(cfg.RatePerSecond), cfg.Burst),
		wake:    make(chan struct{}, 1),
	}
	l.poller, _ = cfg.Adapter.(vendor.Poller)
	if b, ok := cfg.Adapter.(vendor.BatchAdapter); ok && cfg.MaxBatch > 1 {
		l.batcher = b
		if l.cfg.BatchWindow <= 0 {
			l.cfg.BatchWindow = defaultBatchWindow
		}
	}
	if p, ok := cfg.Adapter.(vendor.Patient); ok {
		l.patient = p.Patient()
	}
	l.breaker = gobreaker.NewCircuitBreaker[vendor.Result](gobreaker.Settings{
		Name:         cfg.Instance,
		MaxRequests:  3,
		Interval:     60 * time.Second,
		BucketPeriod: 10 * time.Second,
		Timeout:      cfg.BreakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 5 || (c.Requests >= 20 && 2*c.TotalFailures >= c.Requests)
		},
		// A vendor that rejects one request (4xx) is healthy; only outages and bad
		// credentials count against it.
		IsSuccessful: func(err error) bool {
			if err == nil {
				return true
			}
			k := vendor.Classify(err).Kind
			return k == vendor.Permanent
		},
		// Throttling says "slow down", not "broken"; the Retry-After gate handles it.
		IsExcluded: func(err error) bool {
			return err != nil && (errors.Is(err, context.Canceled) || vendor.Classify(err).Kind == vendor.Throttled)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			l.log.Warn("breaker state changed", "from", from.String(), "to", to.String())
			deps.Metrics.breakerState(name, to)
		},
	})
	deps.Metrics.breakerState(cfg.Instance, gobreaker.StateClosed)
	deps.Metrics.throttledUntil(cfg.Instance, time.Time{})
	return l
}

// Name is the vendor instance the lane serves.
func (l *Lane) Name() string { return l.cfg.Instance }

// Wake asks the lane to look for due deliveries in the database now rather than at its
// next poll.
func (l *Lane) Wake() {
	l.dbDue.Store(true)
	l.nudge()
}

// nudge wakes the lane without sending it to the database: it has been handed work.
func (l *Lane) nudge() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Status is a lane's live state for GET /v1/vendors.
type Status struct {
	Breaker        string
	ThrottledUntil time.Time
	LastError      string
	// Quota is the vendor's last word that its quota was spent; zero if it never said so
	// since the lane started.
	Quota Quota
}

// Quota is a vendor's signal that its quota (a daily allocation, an hourly limit) is
// spent: which signal, when it came, and when the vendor said the quota renews (zero
// when it did not say).
type Quota struct {
	Reason  string
	SpentAt time.Time
	ResetAt time.Time
}

// Status returns the lane's breaker state, Retry-After gate and last error.
func (l *Lane) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Status{Breaker: l.breaker.State().String(), LastError: l.lastError, Quota: l.quota}
	if t := l.throttledUntil.Load(); t > l.deps.Now().UnixNano() {
		s.ThrottledUntil = time.Unix(0, t).UTC()
	}
	return s
}

// Run claims and delivers due deliveries until ctx ends, then finishes the calls in
// flight (their results are recorded) and returns.
func (l *Lane) Run(ctx context.Context) error {
	l.dbDue.Store(true)
	idle := time.NewTicker(idlePoll)
	defer idle.Stop()
	// calls bounds the vendor calls in flight (the vendor's concurrency); recording
	// bounds the results waiting for their group commit. A call's slot is freed once
	// its result is queued for recording, so the next call need not wait for the
	// database: holding it through the commit capped a lane at concurrency ÷ commit
	// latency, a few hundred calls a second under load.
	calls := make(chan struct{}, l.cfg.Concurrency)
	recording := make(chan struct{}, l.claimSize())
	var inflight sync.WaitGroup
	defer inflight.Wait()
	defer l.releaseHanded()
	for ctx.Err() == nil {
		if wait := l.gate(); wait > 0 {
			l.sleep(ctx, wait, idle)
			continue
		}
		// Claim a few rounds of calls at once: a claim is a database round trip, and one
		// per call would cost the database more than the calls cost the vendor.
		batch, looked, err := l.claim(ctx)
		if looked {
			idle.Reset(idlePoll) // the next idle look is a full poll from this one
		}
		if err != nil {
			if ctx.Err() == nil {
				l.log.Warn("claiming deliveries failed", "error", err)
			}
			l.sleep(ctx, time.Second, idle)
			continue
		}
		if len(batch) == 0 {
			l.sleep(ctx, time.Minute, idle)
			continue
		}
		// A lane whose vendor takes batches waits a moment for a batch to fill, then
		// makes one call of each group of deliveries (batch.go).
		batch = l.fill(ctx, batch)
		for _, group := range l.groups(batch) {
			select {
			case calls <- struct{}{}:
			case <-ctx.Done():
				// Claimed but not started: leave it to its lease; it comes back.
				continue
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				called := func() {
					// Backpressure: a database that falls behind stops the calls.
					recording <- struct{}{}
					<-calls
				}
				if len(group) == 1 {
					l.process(context.WithoutCancel(ctx), group[0], called)
				} else {
					l.processBatch(context.WithoutCancel(ctx), group, called)
				}
				<-recording
			}()
		}
		// Wait for a free slot before claiming more, so claims never outrun calls.
		select {
		case calls <- struct{}{}:
			<-calls
		case <-ctx.Done():
		}
	}
	return nil
}

// claimSize is how many deliveries one claim takes: four rounds of the lane's
// concurrency, but no more than its rate limiter lets through in a second, so that
// claimed rows do not sit out their lease behind a slow limiter.
func (l *Lane) claimSize() int {
	n := 4 * l.cfg.Concurrency
	if perSecond := int(l.cfg.RatePerSecond) + l.cfg.Burst; perSecond < n {
		n = perSecond
	}
	return max(n, 1)
}

// gate returns how long the lane must wait before calling the vendor: the Retry-After
// the vendor gave, or until the breaker lets a probe through.
func (l *Lane) gate() time.Duration {
	if until := l.throttledUntil.Load(); until > 0 {
		if d := time.Unix(0, until).Sub(l.deps.Now()); d > 0 {
			return d
		}
	}
	if l.breaker.State() == gobreaker.StateOpen {
		return 250 * time.Millisecond
	}
	return 0
}

// idlePoll is how often a lane with nothing in hand looks in the database: for retries
// and polls coming due, and for rows planned by another dispatcher.
const idlePoll = 500 * time.Millisecond

// sleep waits for d, a wake or the idle tick. Anything but a handoff's nudge sends the
// next claim to the database (a Wake has set dbDue itself).
func (l *Lane) sleep(ctx context.Context, d time.Duration, idle *time.Ticker) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		l.dbDue.Store(true)
	case <-l.wake:
	case <-idle.C:
		l.dbDue.Store(true)
	}
}

// process makes one call for d and records what happened. It never drops a delivery:
// every path ends in Record (retry later, polling, done or dead), and if Record itself
// fails the lease brings the delivery back.
//
// called runs once the vendor has answered and before the result is recorded.
func (l *Lane) process(ctx context.Context, d fanout.Delivery, called func()) {
	// One client span per attempt, a child of the trace the event was produced in; the
	// adapter's HTTP request carries it to the vendor, the receipt carries it to Kafka.
	// Attributes name the vendor and action only: never the subject.
	ctx, span := tracer.Start(tracing.WithTraceparent(ctx, d.Traceparent), "vendor "+d.Action,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("consentry.vendor", l.cfg.Instance), attribute.String("consentry.action", d.Action),
			attribute.Int("consentry.attempt", d.Attempts+1)))
	res := l.attempt(ctx, d)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("consentry.delivery_state", res.State), attribute.String("consentry.outcome", res.Outcome))
		if res.State == fanout.Dead {
			span.SetStatus(codes.Error, "dead-lettered")
		}
	}
	span.End()
	if res.Receipt != nil {
		res.Receipt.Traceparent = tracing.Traceparent(ctx)
	}
	called()
	if err := l.deps.Store.Record(ctx, d.ID, res); err != nil {
		l.log.Error("recording a delivery result failed; it will be retried after its lease", "delivery_id", d.ID, "error", err)
		return
	}
	l.deps.Metrics.outcome(l.cfg.Instance, res)
	if propagated(d, res) {
		l.deps.Metrics.propagated(l.cfg.Instance, l.deps.Now().Sub(d.RecordedAt))
	}
	if res.Receipt != nil && l.deps.Notify != nil {
		l.deps.Notify()
	}
}

func (l *Lane) attempt(ctx context.Context, d fanout.Delivery) fanout.Result {
	now := l.deps.Now()
	req, res, ok := l.request(ctx, d, now)
	if !ok {
		return res
	}
	if d.State == fanout.Polling {
		return l.poll(ctx, d, req, now)
	}
	return l.deliver(ctx, d, req, now)
}

// deliver makes the call for d, once the lane's limiter and Retry-After allow it.
func (l *Lane) deliver(ctx context.Context, d fanout.Delivery, req vendor.Request, now time.Time) fanout.Result {
	if err := l.limiter.Wait(ctx); err != nil {
		return l.retry(d, now, false, 0, "rate limiter: "+err.Error())
	}
	// Claimed before the vendor said "slow down": honour its Retry-After all the same.
	if until := l.throttledUntil.Load(); until > l.deps.Now().UnixNano() {
		return fanout.Result{State: fanout.Pending, NextAttemptAt: time.Unix(0, until), LastError: d.LastError}
	}
	result, err := l.breaker.Execute(func() (vendor.Result, error) { return l.cfg.Adapter.Deliver(ctx, req) })
	failpoint.Hit(failpoint.FanoutAfterVendorCall)
	if err != nil {
		// Waits count from the answer, not from when the call began: a Retry-After of
		// 2 s means 2 s after the vendor said it.
		return l.failed(d, l.deps.Now(), err)
	}
	l.setLastError("")
	l.braked(result.Brake)
	result.Brake = nil
	return l.succeeded(d, now, result)
}

// request opens d's identifiers into the vendor request. ok=false means d ends here
// without a call, as res says.
func (l *Lane) request(ctx context.Context, d fanout.Delivery, now time.Time) (req vendor.Request, res fanout.Result, ok bool) {
	ids, err := l.deps.Opener.Open(ctx, d.Tenant, d.SubjectKey, d.Sealed)
	switch {
	case errors.Is(err, seal.ErrShredded) && d.RequestID != "":
		// A privacy request's own action — a dead letter replayed after the erasure was
		// closed, at its completion or its legal deadline — can name no one any more.
		// It ends here rather than retrying forever, and unverifiable rather than
		// skipped: skipped is done, and this vendor never carried the request out.
		return req, l.finish(d, fanout.Done, vendor.Result{Detail: "the subject's data key was destroyed when their erasure closed: " +
			"the identifiers no longer open, so the vendor was not called"}, "unverifiable"), false
	case errors.Is(err, seal.ErrShredded):
		// A consent change queued for a person whose erasure closed first: nothing here
		// could name them any more. Not a failure for an operator to chase.
		return req, l.finish(d, fanout.Done, vendor.Result{Detail: "the subject was erased: their identifiers are shredded"}, string(vendor.Skipped)), false
	case errors.Is(err, seal.ErrNoKey) && d.Sealed == nil:
	case err != nil:
		return req, l.retry(d, now, false, 0, "opening identifiers: "+err.Error()), false
	}
	return vendor.Request{
		Action: vendor.Action(d.Action), IdempotencyKey: idempotencyKey(d), Tenant: d.Tenant, SubjectKey: d.SubjectKey,
		IDs:     vendor.Identifiers{SubjectID: ids.SubjectID, Email: ids.Email, AnonymousID: ids.AnonymousID, VendorIDs: ids.VendorIDs},
		EventID: d.EventID, RequestID: d.RequestID, OccurredAt: d.OccurredAt, Purposes: d.Purposes,
	}, fanout.Result{}, true
}

// braked pauses the lane when a successful call's answer says the vendor's quota is
// spent, and otherwise ends the run of consecutive throttles.
func (l *Lane) braked(b *vendor.Brake) {
	if b == nil {
		l.throttles.Store(0)
		return
	}
	// Done, but the vendor's own counters say the next call would be refused.
	l.quotaSpent(l.deps.Now(), b.Reason, b.Until)
	l.throttle(l.deps.Now(), 0, b.Until)
	l.log.Warn("vendor quota spent; the lane pauses", "reason", b.Reason,
		"until", time.Unix(0, l.throttledUntil.Load()).UTC())
}

// succeeded records what the vendor did with d: done, or polling an accepted job.
func (l *Lane) succeeded(d fanout.Delivery, now time.Time, result vendor.Result) fanout.Result {
	switch result.Outcome {
	case vendor.Accepted:
		if l.poller != nil {
			r := l.finish(d, fanout.Polling, result, "accepted")
			r.NextAttemptAt = now.Add(l.cfg.Policy.PollInterval)
			return r
		}
		return l.finish(d, fanout.Done, result, "accepted")
	default:
		return l.finish(d, fanout.Done, result, string(result.Outcome))
	}
}

func (l *Lane) poll(ctx context.Context, d fanout.Delivery, req vendor.Request, now time.Time) fanout.Result {
	if l.poller == nil {
		return l.finish(d, fanout.Done, vendor.Result{Outcome: vendor.Accepted, Reference: d.Reference}, "accepted")
	}
	// A poll is a vendor call like a delivery (Amplitude counts its GETs against the
	// same one request a second): it takes the lane's token and honours its Retry-After.
	// Either way it stays a poll: retry would make it pending, a second delivery.
	if err := l.limiter.Wait(ctx); err != nil {
		return fanout.Result{State: fanout.Polling, Outcome: d.Outcome, NextAttemptAt: now.Add(l.cfg.Policy.PollInterval),
			LastError: "rate limiter: " + err.Error()}
	}
	if until := l.throttledUntil.Load(); until > l.deps.Now().UnixNano() {
		return fanout.Result{State: fanout.Polling, Outcome: d.Outcome, NextAttemptAt: time.Unix(0, until), LastError: d.LastError}
	}
	var done bool
	_, err := l.breaker.Execute(func() (vendor.Result, error) {
		var err error
		done, err = l.poller.Poll(ctx, req, d.Reference)
		return vendor.Result{}, err
	})
	if err == nil && done {
		return l.finish(d, fanout.Done, vendor.Result{Outcome: vendor.Completed, Reference: d.Reference}, string(vendor.Completed))
	}
	if now.After(d.Deadline) && !l.patient {
		return l.finish(d, fanout.Done, vendor.Result{Outcome: "unverifiable", Reference: d.Reference,
			Detail: "the vendor job was not confirmed done before the deadline"}, "unverifiable")
	}
	wait := l.cfg.Policy.PollInterval << min(d.Attempts, 16)
	wait = min(wait, l.cfg.Policy.MaxPollInterval)
	r := fanout.Result{State: fanout.Polling, Outcome: d.Outcome, NextAttemptAt: now.Add(wait), CountAttempt: true}
	if err != nil {
		r.LastError = vendor.Classify(err).Error()
	}
	return r
}

// failed turns a classified failure into the next step.
func (l *Lane) failed(d fanout.Delivery, now time.Time, err error) fanout.Result {
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		// No call was made: not an attempt. Come back when the breaker may let us through.
		return fanout.Result{State: fanout.Pending, NextAttemptAt: now.Add(l.cfg.BreakerTimeout / 4), LastError: d.LastError}
	}
	e := vendor.Classify(err)
	l.setLastError(e.Error())
	switch e.Kind {
	case vendor.Permanent:
		return l.dead(d, e.HTTPStatus, e.Error())
	case vendor.Throttled:
		// Never call again before the vendor's Retry-After, for any delivery of this lane.
		l.quotaRefused(now, e)
		wait := max(l.throttle(now, e.RetryAfter, e.ResetAt), l.backoff(d.Attempts))
		return l.retry(d, now, false, wait, e.Error())
	case vendor.Auth:
		l.deps.Metrics.authFailure(l.cfg.Instance)
		l.log.Error("vendor rejected our credentials", "status", e.HTTPStatus)
	}
	return l.retry(d, now, true, 0, e.Error())
}

// throttle closes the lane's gate after a throttling signal and returns the wait: the
// vendor's Retry-After, else until its quota resets, else a wait that doubles with each
// consecutive throttle from BaseBackoff up to MaxThrottleWait. Without the growth a
// vendor out of its daily quota (Salesforce says only REQUEST_LIMIT_EXCEEDED) was asked
// again every second or so all day, each call a refusal that counts against the account.
func (l *Lane) throttle(now time.Time, retryAfter time.Duration, resetAt time.Time) time.Duration {
	n := l.throttles.Add(1)
	var wait time.Duration
	switch {
	case retryAfter > 0:
		wait = retryAfter
	case resetAt.After(now):
		wait = min(resetAt.Sub(now), vendor.MaxRetryAfter)
	default:
		wait = l.cfg.Policy.BaseBackoff << min(n-1, 30)
		if wait <= 0 || wait > l.cfg.Policy.MaxThrottleWait {
			wait = l.cfg.Policy.MaxThrottleWait
		}
	}
	until := now.Add(wait)
	for {
		cur := l.throttledUntil.Load()
		if cur >= until.UnixNano() || l.throttledUntil.CompareAndSwap(cur, until.UnixNano()) {
			break
		}
	}
	l.deps.Metrics.throttled(l.cfg.Instance)
	l.deps.Metrics.throttledUntil(l.cfg.Instance, time.Unix(0, l.throttledUntil.Load()))
	return wait
}

// retry schedules d again, or dead-letters it once its attempts or deadline run out.
func (l *Lane) retry(d fanout.Delivery, now time.Time, counted bool, atLeast time.Duration, reason string) fanout.Result {
	attempts := d.Attempts
	if counted {
		attempts++
	}
	if l.cfg.Policy.MaxAttempts > 0 && attempts >= l.cfg.Policy.MaxAttempts {
		return l.dead(d, 0, fmt.Sprintf("gave up after %d attempts: %s", attempts, reason))
	}
	if now.After(d.Deadline) {
		return l.dead(d, 0, "deadline passed: "+reason)
	}
	wait := max(atLeast, l.backoff(attempts))
	return fanout.Result{State: fanout.Pending, NextAttemptAt: now.Add(wait), LastError: reason, CountAttempt: counted}
}

// backoff is capped exponential backoff with full jitter (AWS Builders' Library).
func (l *Lane) backoff(attempts int) time.Duration {
	ceiling := l.cfg.Policy.BaseBackoff << min(attempts, 30)
	if ceiling <= 0 || ceiling > l.cfg.Policy.MaxBackoff {
		ceiling = l.cfg.Policy.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

func (l *Lane) dead(d fanout.Delivery, status int, reason string) fanout.Result {
	l.log.Warn("delivery dead-lettered", "delivery_id", d.ID, "action", d.Action, "reason", reason)
	r := fanout.Result{State: fanout.Dead, Outcome: "dead_lettered", HTTPStatus: status, LastError: reason, CountAttempt: true}
	r.Receipt = l.receipt(d, vendor.Result{Outcome: "dead_lettered", HTTPStatus: status, Detail: reason}, d.Attempts+1)
	return r
}

func (l *Lane) finish(d fanout.Delivery, state string, res vendor.Result, outcome string) fanout.Result {
	r := fanout.Result{State: state, Outcome: outcome, HTTPStatus: res.HTTPStatus, Reference: res.Reference, CountAttempt: true}
	res.Outcome = vendor.Outcome(outcome)
	r.Receipt = l.receipt(d, res, d.Attempts+1)
	return r
}

// quotaSpent keeps the vendor's signal that its quota is spent, for the lane's status.
func (l *Lane) quotaSpent(now time.Time, reason string, resetAt time.Time) {
	l.mu.Lock()
	l.quota = Quota{Reason: reason, SpentAt: now.UTC(), ResetAt: resetAt.UTC()}
	l.mu.Unlock()
}

// quotaRefused notes a refusal that names when the vendor's quota renews: a spent
// allocation, not a momentary rate limit.
func (l *Lane) quotaRefused(now time.Time, e *vendor.Error) {
	if !e.ResetAt.IsZero() {
		l.quotaSpent(now, fmt.Sprintf("refused with HTTP %d until the quota renews", e.HTTPStatus), e.ResetAt)
	}
}

func (l *Lane) setLastError(s string) {
	l.mu.Lock()
	l.lastError = s
	l.mu.Unlock()
}

// receipt encodes the VendorReceipt of an outcome. Its id derives from the delivery and
// outcome, so recording the same outcome twice (a crash between the vendor's answer and
// the database commit) yields one receipt in effect.
func (l *Lane) receipt(d fanout.Delivery, res vendor.Result, attempts int) *fanout.Message {
	id, err := eventid.Derive(d.EventID, fmt.Sprintf("receipt/%s/%s/%s", d.Instance, d.Action, res.Outcome))
	if err != nil {
		l.log.Error("deriving a receipt id", "error", err)
		return nil
	}
	now := l.deps.Now().UTC()
	msg, err := l.deps.Serde.EncodeMessage(l.deps.ReceiptTopic, d.SubjectKey, &schemas.VendorReceipt{
		Header: schemas.Header{EventID: id, Tenant: d.Tenant, SubjectKey: d.SubjectKey, OccurredAt: now, RecordedAt: now,
			Source: schemas.SourceVendorFanout, PolicyVersion: d.PolicyVersion},
		SourceEventID: d.EventID, RequestID: d.RequestID, Vendor: d.Instance, Action: d.Action,
		Outcome: string(res.Outcome), Attempts: attempts, HTTPStatus: res.HTTPStatus,
		VendorReference: res.Reference, Detail: res.Detail,
	})
	if err != nil {
		l.log.Error("encoding a receipt", "error", err)
		return nil
	}
	return &fanout.Message{Topic: msg.Topic, Key: msg.Key, Value: msg.Value}
}

// propagated reports whether res is the vendor first taking d's action on: the end of
// the path whose latency the propagation histogram measures. Polls of an accepted job,
// retries and dead letters are not; nor are rows with no acceptance time.
func propagated(d fanout.Delivery, res fanout.Result) bool {
	if d.RecordedAt.IsZero() || d.State != fanout.Pending {
		return false
	}
	return res.State == fanout.Done || res.State == fanout.Polling
}

// idempotencyKey is stable for one delivery across retries and replays.
func idempotencyKey(d fanout.Delivery) string {
	id, err := eventid.Derive(d.EventID, "delivery/"+d.Instance+"/"+d.Action)
	if err != nil {
		return d.EventID + "/" + d.Instance + "/" + d.Action
	}
	return id
}
