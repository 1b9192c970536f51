package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// clock is a fake time that each look moves on by one poll.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// looks replays a sequence of backlogs, one per poll of a second, and repeats the last.
func looks(c *clock, seq ...backlog) func() (backlog, error) {
	i := 0
	return func() (backlog, error) {
		if i > 0 {
			c.t = c.t.Add(time.Second)
		}
		b := seq[min(i, len(seq)-1)]
		i++
		return b, nil
	}
}

func TestWaitSettled(t *testing.T) {
	p := settlePolicy{Min: 10 * time.Second, Factor: 2, Slack: 5 * time.Second, Stall: 30 * time.Second, Max: time.Hour}
	draining := func(from, perPoll int) []backlog {
		var seq []backlog
		for n := from; n > 0; n -= perPoll {
			seq = append(seq, backlog{pending: n})
		}
		return append(seq, backlog{})
	}
	for _, tc := range []struct {
		name   string
		seq    []backlog
		reason string // empty: settled
	}{
		{"already quiet", []backlog{{}}, ""},
		// 600 pending at 10 a second: a minute, well past Min, given because it drains.
		{"slow but draining", draining(600, 10), ""},
		{"lag turns into pending, then drains", append([]backlog{{lag: 50}, {pending: 100, lag: 20}, {pending: 300}}, draining(300, 5)...), ""},
		// A large backlog draining fast earns a deadline far ahead; it stops, and the
		// stall window ends the wait rather than that deadline.
		{"stalls with much left", append(draining(100_000, 1000)[:5], backlog{pending: 95_000}), "nothing drained for"},
		{"stuck from the start", []backlog{{pending: 100}}, "nothing drained"},
		// Drains 100 a second down to 100, then stops: given the time those 100 would
		// take at that pace twice over, plus the slack, not the whole stall window.
		{"stops near the end", append(draining(1000, 100)[:9], backlog{pending: 100}), "slowed"},
		{"trickles for ever", func() []backlog {
			var seq []backlog
			for n := 100_000; n > 0; n-- {
				seq = append(seq, backlog{pending: n})
			}
			return seq
		}(), "still draining"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(0, 0)}
			u, err := waitSettled(context.Background(), p, c.now, looks(c, tc.seq...))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.reason == "" && u != nil:
				t.Errorf("gave up: %+v", u)
			case tc.reason != "" && u == nil:
				t.Error("settled, want it to give up")
			case tc.reason != "" && (!strings.Contains(u.Reason, tc.reason) || u.PendingDeliveries == 0):
				t.Errorf("gave up with %+v, want the reason %q and what was left", u, tc.reason)
			}
		})
	}
}
