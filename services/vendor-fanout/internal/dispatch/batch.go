package dispatch

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/tracing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// Batching (docs/kafka-postgres.md, "Lanes"). A vendor that documents a batch endpoint
// (Amplitude's 100 ids per deletion request, at one request a second) serves a backlog
// a hundred times faster in batches than one delivery a call. The lane still decides
// each delivery on its own: the vendor's answer for each item, its own receipt, its own
// retry schedule and dead letter.

// defaultBatchWindow is how long a lane waits for a batch to fill when routing sets no
// batch_window: long enough for a burst's rows to be planned, short against any
// vendor's one call a second.
const defaultBatchWindow = 20 * time.Millisecond

// batchSize is how many deliveries of action one call may carry: routing's max_batch,
// no more than the adapter's documented size; 1 when the lane does not batch.
func (l *Lane) batchSize(d fanout.Delivery) int {
	if l.batcher == nil || d.State != fanout.Pending {
		return 1
	}
	return max(1, min(l.cfg.MaxBatch, l.batcher.MaxBatch(vendor.Action(d.Action))))
}

// fill tops claimed up until its batchable deliveries make whole batches, claiming more
// straight away and, when the backlog holds no more, once more after the batch window.
// It claims at most one batch's room in all: the extra rows may be polls or actions
// without a batch endpoint, which go one call each, and a slow lane (Amplitude's one
// call a second) must finish what it claimed within the lease. A lane that does not
// batch returns claimed as it is.
func (l *Lane) fill(ctx context.Context, claimed []fanout.Delivery) []fanout.Delivery {
	if l.batcher == nil {
		return claimed
	}
	budget := l.room(claimed)
	waited := false
	for budget > 0 {
		need := min(l.room(claimed), budget)
		if need == 0 {
			return claimed
		}
		more, err := l.deps.Store.Claim(ctx, l.cfg.Instance, need, l.cfg.Policy.Lease)
		if err != nil {
			return claimed // what was claimed goes as it is; the next round claims again
		}
		claimed = append(claimed, more...)
		budget -= len(more)
		if len(more) == need {
			if !slices.ContainsFunc(more, func(d fanout.Delivery) bool { return l.batchSize(d) > 1 }) {
				return claimed // the backlog's next rows do not batch: no use claiming on
			}
			continue
		}
		if waited {
			return claimed
		}
		waited = true
		t := time.NewTimer(l.cfg.BatchWindow)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return claimed
		}
	}
	return claimed
}

// room is how many more deliveries would complete the last open batch of claimed.
func (l *Lane) room(claimed []fanout.Delivery) int {
	counts := map[string]int{}
	size := map[string]int{}
	for _, d := range claimed {
		if n := l.batchSize(d); n > 1 {
			counts[d.Action]++
			size[d.Action] = n
		}
	}
	need := 0
	for action, c := range counts {
		if rem := c % size[action]; rem != 0 {
			need = max(need, size[action]-rem)
		}
	}
	return need
}

// groups splits claimed into the calls to make: batchable deliveries of one action in
// groups of up to the batch size, every other delivery on its own.
func (l *Lane) groups(claimed []fanout.Delivery) [][]fanout.Delivery {
	var out [][]fanout.Delivery
	open := map[string]int{} // action → index in out of its group still filling
	for _, d := range claimed {
		n := l.batchSize(d)
		if n <= 1 {
			out = append(out, []fanout.Delivery{d})
			continue
		}
		if i, ok := open[d.Action]; ok && len(out[i]) < n {
			out[i] = append(out[i], d)
			continue
		}
		open[d.Action] = len(out)
		out = append(out, []fanout.Delivery{d})
	}
	return out
}

// processBatch makes one call for ds (all of one action) and records what happened to
// each: process's counterpart for a batch.
func (l *Lane) processBatch(ctx context.Context, ds []fanout.Delivery, called func()) {
	// One client span for the call, linked to the trace of every event it carries; the
	// receipts carry each event's own trace onwards. Attributes never name a subject.
	links := make([]trace.Link, 0, len(ds))
	for _, d := range ds {
		if sc := trace.SpanContextFromContext(tracing.WithTraceparent(ctx, d.Traceparent)); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := tracer.Start(ctx, "vendor batch "+ds[0].Action, trace.WithSpanKind(trace.SpanKindClient), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("consentry.vendor", l.cfg.Instance), attribute.String("consentry.action", ds[0].Action),
			attribute.Int("consentry.batch_items", len(ds))))
	results := l.deliverBatch(ctx, ds)
	span.End()
	recs := make([]fanout.Recorded, len(ds))
	for i, d := range ds {
		if results[i].Receipt != nil {
			results[i].Receipt.Traceparent = d.Traceparent
		}
		recs[i] = fanout.Recorded{ID: d.ID, Result: results[i]}
	}
	called()
	if err := l.recordAll(ctx, recs); err != nil {
		l.log.Error("recording a batch's results failed; its deliveries will be retried after their lease", "deliveries", len(ds), "error", err)
		return
	}
	notify := false
	for i, d := range ds {
		l.deps.Metrics.outcome(l.cfg.Instance, results[i])
		if propagated(d, results[i]) {
			l.deps.Metrics.propagated(l.cfg.Instance, l.deps.Now().Sub(d.RecordedAt))
		}
		notify = notify || results[i].Receipt != nil
	}
	if notify && l.deps.Notify != nil {
		l.deps.Notify()
	}
}

// recordAll stores a batch's results in one transaction when the store can.
func (l *Lane) recordAll(ctx context.Context, recs []fanout.Recorded) error {
	if br, ok := l.deps.Store.(fanout.BatchRecorder); ok {
		return br.RecordAll(ctx, recs)
	}
	var errs []error
	for _, r := range recs {
		errs = append(errs, l.deps.Store.Record(ctx, r.ID, r.Result))
	}
	return errors.Join(errs...)
}

// deliverBatch opens each delivery's identifiers and makes the call; results[i] is
// what became of ds[i].
func (l *Lane) deliverBatch(ctx context.Context, ds []fanout.Delivery) []fanout.Result {
	now := l.deps.Now()
	results := make([]fanout.Result, len(ds))
	var items []batchItem
	for i, d := range ds {
		req, res, ok := l.request(ctx, d, now)
		if !ok {
			results[i] = res
			continue
		}
		items = append(items, batchItem{i: i, d: d, req: req})
	}
	l.call(ctx, items, results, now)
	return results
}

type batchItem struct {
	i   int // index into the batch's results
	d   fanout.Delivery
	req vendor.Request
}

// call makes one batch call for items. A rejection the vendor pins on no item splits
// the batch in halves, each its own call, until the bad item is alone and dead-letters
// by itself: a hundred items cost at most fourteen calls more, not ninety-nine dead
// letters.
func (l *Lane) call(ctx context.Context, items []batchItem, results []fanout.Result, now time.Time) {
	switch len(items) {
	case 0:
		return
	case 1:
		results[items[0].i] = l.deliver(ctx, items[0].d, items[0].req, now)
		return
	}
	if err := l.limiter.Wait(ctx); err != nil {
		for _, it := range items {
			results[it.i] = l.retry(it.d, now, false, 0, "rate limiter: "+err.Error())
		}
		return
	}
	// Claimed before the vendor said "slow down": honour its Retry-After all the same.
	if until := l.throttledUntil.Load(); until > l.deps.Now().UnixNano() {
		for _, it := range items {
			results[it.i] = fanout.Result{State: fanout.Pending, NextAttemptAt: time.Unix(0, until), LastError: it.d.LastError}
		}
		return
	}
	reqs := make([]vendor.Request, len(items))
	for k, it := range items {
		reqs[k] = it.req
	}
	l.deps.Metrics.batch(l.cfg.Instance, len(items))
	var outs []vendor.ItemOutcome
	_, err := l.breaker.Execute(func() (vendor.Result, error) {
		var err error
		outs, err = l.batcher.DeliverBatch(ctx, reqs)
		if err == nil && len(outs) != len(reqs) {
			err = &vendor.Error{Kind: vendor.Transient, Msg: "the batch answer does not account for every item"}
		}
		return vendor.Result{}, err
	})
	failpoint.Hit(failpoint.FanoutAfterVendorCall)
	answered := l.deps.Now()
	if err != nil {
		if e := vendor.Classify(err); e.Kind == vendor.Permanent && e.Whole && !breakerRefused(err) {
			half := len(items) / 2
			l.call(ctx, items[:half], results, now)
			l.call(ctx, items[half:], results, now)
			return
		}
		l.failedAll(items, results, answered, err)
		return
	}
	l.setLastError("")
	var brake *vendor.Brake
	for k, o := range outs {
		it := items[k]
		if o.Result.Brake != nil {
			brake, o.Result.Brake = o.Result.Brake, nil
		}
		if o.Err != nil {
			results[it.i] = l.failed(it.d, answered, o.Err)
			continue
		}
		results[it.i] = l.succeeded(it.d, now, o.Result)
	}
	l.braked(brake)
}

func breakerRefused(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// failedAll is failed for every item of a call that failed as a whole. What concerns the
// lane — its Retry-After gate, the run of throttles, the auth alert — happens once per
// call, not once per item.
func (l *Lane) failedAll(items []batchItem, results []fanout.Result, now time.Time, err error) {
	e := vendor.Classify(err)
	switch {
	case breakerRefused(err):
	case e.Kind == vendor.Throttled:
		l.setLastError(e.Error())
		l.quotaRefused(now, e)
		wait := l.throttle(now, e.RetryAfter, e.ResetAt)
		for _, it := range items {
			results[it.i] = l.retry(it.d, now, false, max(wait, l.backoff(it.d.Attempts)), e.Error())
		}
		return
	case e.Kind == vendor.Auth:
		l.setLastError(e.Error())
		l.deps.Metrics.authFailure(l.cfg.Instance)
		l.log.Error("vendor rejected our credentials", "status", e.HTTPStatus)
		for _, it := range items {
			results[it.i] = l.retry(it.d, now, true, 0, e.Error())
		}
		return
	}
	for _, it := range items {
		results[it.i] = l.failed(it.d, now, err)
	}
}
