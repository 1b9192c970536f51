package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// ErrRecorderStopped is returned by a Recorder that no longer runs.
var ErrRecorderStopped = errors.New("the result recorder has stopped")

// Recorder group-commits delivery results. Every lane records each call's result before
// the delivery may move on, and a commit waits for the disk: one transaction per result
// caps a whole service at the disk's flush rate. The Recorder writes whatever results
// arrived while the previous write was in progress in one transaction, so the flush
// rate bounds batches, not deliveries, and a quiet lane still waits for one commit only.
type Recorder struct {
	store    *Store
	maxBatch int
	in       chan pendingResult
	stopped  chan struct{}
}

// pendingResult is what one caller waits for: one result, or a batch call's results,
// which stay together in one transaction.
type pendingResult struct {
	recs []Recorded
	done chan error
}

// NewRecorder returns a recorder writing at most maxBatch results per transaction.
func NewRecorder(store *Store, maxBatch int) *Recorder {
	return &Recorder{store: store, maxBatch: maxBatch, in: make(chan pendingResult, maxBatch), stopped: make(chan struct{})}
}

// Record stores one result and returns once it is committed (or the write failed).
func (r *Recorder) Record(ctx context.Context, id int64, res fanout.Result) error {
	return r.RecordAll(ctx, []Recorded{{ID: id, Result: res}})
}

var _ fanout.BatchRecorder = (*Recorder)(nil)

// RecordAll stores results in one transaction — the outcomes of one batch call — and
// returns once they are committed (or the write failed). They may share the transaction
// with other callers' results, but are never split across two.
func (r *Recorder) RecordAll(ctx context.Context, recs []Recorded) error {
	if len(recs) == 0 {
		return nil
	}
	p := pendingResult{recs: recs, done: make(chan error, 1)}
	select {
	case r.in <- p:
	case <-r.stopped:
		return ErrRecorderStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-r.stopped:
		select {
		case err := <-p.done:
			return err
		default:
			return ErrRecorderStopped
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes results until ctx ends. Stop the lanes first: a result that arrives after
// Run returned gets ErrRecorderStopped, and its delivery comes back after its lease.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.stopped)
	var carry *pendingResult
	for {
		var first pendingResult
		if carry != nil {
			first, carry = *carry, nil
		} else {
			select {
			case first = <-r.in:
			case <-ctx.Done():
				r.failQueued(ctx.Err())
				return
			}
		}
		batch := []pendingResult{first}
		ids := map[int64]bool{}
		n := len(first.recs)
		for _, rec := range first.recs {
			ids[rec.ID] = true
		}
	collect:
		for n < r.maxBatch {
			select {
			case p := <-r.in:
				if slices.ContainsFunc(p.recs, func(rec Recorded) bool { return ids[rec.ID] }) {
					// A second result for one delivery (its lease ran out mid-call) goes
					// in the next transaction, so that the later result is the one kept.
					carry = &p
					break collect
				}
				for _, rec := range p.recs {
					ids[rec.ID] = true
				}
				n += len(p.recs)
				batch = append(batch, p)
			default:
				break collect
			}
		}
		r.write(ctx, batch)
	}
}

// write commits batch. When the database rejects the batch's data — one result it
// cannot store — or a request the batch completes cannot be announced, each result is
// written on its own, so that one bad row does not keep the others from being recorded.
func (r *Recorder) write(ctx context.Context, batch []pendingResult) {
	var recs []Recorded
	for _, p := range batch {
		recs = append(recs, p.recs...)
	}
	err := r.store.RecordBatch(context.WithoutCancel(ctx), recs)
	if err != nil && len(recs) > 1 && (postgres.IsDataError(err) || errors.Is(err, ErrUnannounced)) {
		// Each result on its own, a batch call's too: one that cannot be stored must
		// not keep its neighbours from being recorded. Its caller hears of the failure;
		// the lease brings that delivery back.
		for _, p := range batch {
			var errs []error
			for _, rec := range p.recs {
				errs = append(errs, r.store.RecordBatch(context.WithoutCancel(ctx), []Recorded{rec}))
			}
			p.done <- errors.Join(errs...)
		}
		return
	}
	for _, p := range batch {
		p.done <- err
	}
}

func (r *Recorder) failQueued(err error) {
	for {
		select {
		case p := <-r.in:
			p.done <- err
		default:
			return
		}
	}
}
