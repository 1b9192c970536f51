package dispatch

import (
	"context"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// Releaser ends the leases of deliveries a lane was handed but will not call.
type Releaser interface {
	Release(ctx context.Context, ids []int64) error
}

// handed is a delivery planned already leased to this dispatcher, and when its lease
// ends by this process's clock.
type handed struct {
	d     fanout.Delivery
	until time.Time
}

// Offer hands the lane deliveries its dispatcher planned already leased to it, until
// leasedUntil: the lane calls them before it next claims from the database, saving that
// claim's round trip and row write. It returns those the lane has no room for (or, once
// stopped, all): the caller releases their leases. Offered deliveries the lane does not
// get to while their lease has at least half its length left are dropped, not called:
// by then another dispatcher may claim them.
func (l *Lane) Offer(ds []fanout.Delivery, leasedUntil time.Time) (rejected []fanout.Delivery) {
	l.handMu.Lock()
	room := l.handoffRoom() - len(l.handed)
	if l.handStopped {
		room = 0
	}
	for _, d := range ds {
		if room <= 0 {
			rejected = append(rejected, d)
			continue
		}
		l.handed = append(l.handed, handed{d: d, until: leasedUntil})
		room--
	}
	l.handMu.Unlock()
	if len(rejected) < len(ds) {
		l.nudge()
	}
	return rejected
}

// handoffRoom bounds what the lane holds in memory to what it can call within half a
// lease at its rate limit, and never fewer than one claim.
func (l *Lane) handoffRoom() int {
	n := int(l.cfg.RatePerSecond * l.cfg.Policy.Lease.Seconds() / 2)
	return min(max(n, l.claimSize()), 1000)
}

// claim returns the next deliveries to call: a claim from the database when it may hold
// due rows the lane was not handed (dbDue, or idlePoll since it last looked, so that
// a lane kept busy by handoffs still reaches retries), else what the lane was handed.
// Handed rows wait a round behind the database's: their leases have half their length
// as margin (takeHanded). looked says the database was asked.
func (l *Lane) claim(ctx context.Context) (ds []fanout.Delivery, looked bool, err error) {
	if l.dbDue.Swap(false) || time.Since(l.lastDBClaim) >= idlePoll {
		l.lastDBClaim = time.Now()
		ds, err := l.deps.Store.Claim(ctx, l.cfg.Instance, l.claimSize(), l.cfg.Policy.Lease)
		if err != nil {
			l.dbDue.Store(true)
			return nil, true, err
		}
		if len(ds) == l.claimSize() {
			l.dbDue.Store(true) // a full claim: more may be due
		}
		if len(ds) > 0 {
			return ds, true, nil
		}
		looked = true
	}
	return l.takeHanded(l.claimSize()), looked, nil
}

func (l *Lane) takeHanded(limit int) []fanout.Delivery {
	// Time remaining by this clock, against the database's: half the lease is the
	// margin for the call and any skew between the two.
	fresh := time.Now().Add(l.cfg.Policy.Lease / 2)
	l.handMu.Lock()
	defer l.handMu.Unlock()
	var out []fanout.Delivery
	i := 0
	for ; i < len(l.handed) && len(out) < limit; i++ {
		if h := l.handed[i]; h.until.After(fresh) {
			out = append(out, h.d)
		}
	}
	l.handed = l.handed[i:]
	if len(l.handed) == 0 {
		l.handed = nil
	}
	return out
}

// releaseHanded gives back, when the lane stops, the deliveries it was handed and did
// not call, so that the next dispatcher need not wait for their leases to end.
func (l *Lane) releaseHanded() {
	l.handMu.Lock()
	rest := l.handed
	l.handed, l.handStopped = nil, true
	l.handMu.Unlock()
	r, ok := l.deps.Store.(Releaser)
	if !ok || len(rest) == 0 {
		return
	}
	ids := make([]int64, len(rest))
	for i, h := range rest {
		ids[i] = h.d.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Release(ctx, ids); err != nil {
		l.log.Warn("releasing handed deliveries failed; they come back when their leases end", "deliveries", len(ids), "error", err)
	}
}
