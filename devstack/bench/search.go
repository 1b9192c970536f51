package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds the arithmetic of the capacity, cost, soak and back-fill phases, apart
// from the stack they measure, so that it is tested on its own.

// Probe is one load the capacity search tried.
type Probe struct {
	RateEPS float64 `json:"rate_eps"`
	// ActionsPerS is the vendor actions offered a second: events sent × vendors.
	ActionsPerS float64 `json:"actions_per_s"`
	P99MS       float64 `json:"p99_ms"`
	Undelivered int     `json:"undelivered"`
	// OK is every delivery made with p99 within the bound.
	OK bool `json:"ok"`
}

// searchPolicy bounds the capacity search.
type searchPolicy struct {
	// Start is the first rate tried, in events per second; Max the highest.
	Start, Max float64
	// Probes is the most loads tried.
	Probes int
	// Precision ends the search once the bracket [highest passing, lowest failing] is
	// narrower than this share of its top.
	Precision float64
}

// searchCapacity finds the highest rate at which probe passes: it doubles from Start
// until a probe fails (or Max passes), then bisects between the highest passing and the
// lowest failing rate. A rate that fails at Start halves instead, down to Start/64. It
// returns every probe in the order tried, and the best passing one (zero when none did).
func searchCapacity(p searchPolicy, probe func(rate float64) (Probe, error)) (best Probe, tried []Probe, err error) {
	if p.Start <= 0 || p.Max < p.Start || p.Probes < 1 {
		return best, nil, fmt.Errorf("capacity search: start %v, max %v, probes %d: want 0 < start ≤ max and probes ≥ 1", p.Start, p.Max, p.Probes)
	}
	lo, hi := 0.0, 0.0 // highest passing rate; lowest failing rate (0: none yet)
	rate := p.Start
	for len(tried) < p.Probes {
		r, err := probe(rate)
		if err != nil {
			return best, tried, err
		}
		r.RateEPS = rate
		tried = append(tried, r)
		if r.OK {
			lo = rate
			if r.ActionsPerS >= best.ActionsPerS {
				best = r
			}
		} else {
			hi = rate
		}
		switch {
		case hi == 0 && lo >= p.Max:
			return best, tried, nil
		case hi == 0:
			rate = min(2*lo, p.Max)
		case lo == 0 && rate <= p.Start/64:
			return best, tried, nil
		case lo == 0:
			rate = hi / 2
		default:
			if (hi-lo)/hi < p.Precision {
				return best, tried, nil
			}
			rate = (lo + hi) / 2
		}
	}
	return best, tried, nil
}

// procCPU is the CPU time (user + system) a process has used, from the content of its
// /proc/<pid>/stat. The fields after the command name — which may hold spaces and
// parentheses, so the last ')' ends it — start with the state (field 3); utime and stime
// are fields 14 and 15, in clock ticks of 1/100 s (USER_HZ, fixed at 100 for /proc on
// Linux whatever the kernel's own tick).
func procCPU(stat string) (time.Duration, error) { return statCPU(stat, 11, 13) }

// procTreeCPU is procCPU with the CPU time of the children the process has waited for
// (cutime and cstime): a postmaster's exited backends.
func procTreeCPU(stat string) (time.Duration, error) { return statCPU(stat, 11, 15) }

func statCPU(stat string, from, to int) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < to {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least %d", len(f), to)
	}
	var ticks int64
	for _, s := range f[from:to] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: utime/stime %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// perAction is a total spread over the actions delivered, 0 when there were none.
func perAction(total float64, actions int) float64 {
	if actions <= 0 {
		return 0
	}
	return total / float64(actions)
}

// SoakSample is one look at the delivery table during the soak phase.
type SoakSample struct {
	AtS float64 `json:"at_s"`
	// Rows is the table's live rows (pg_stat_user_tables.n_live_tup); Bytes its size
	// with indexes and TOAST.
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	// ClaimMS is the least time of five runs of the claim's candidate query (see claimProbe).
	ClaimMS float64 `json:"claim_ms"`
}

// soakTrend compares the last quarter of the samples with the first: the ratio of their
// mean row counts, and the mean claim time of each. A flat run has a ratio near 1.
func soakTrend(samples []SoakSample) (rowsGrowth, claimFirst, claimLast float64) {
	if len(samples) == 0 {
		return 0, 0, 0
	}
	q := max(1, len(samples)/4)
	mean := func(s []SoakSample, f func(SoakSample) float64) float64 {
		t := 0.0
		for _, x := range s {
			t += f(x)
		}
		return t / float64(len(s))
	}
	rows := func(x SoakSample) float64 { return float64(x.Rows) }
	claim := func(x SoakSample) float64 { return x.ClaimMS }
	first, last := samples[:q], samples[len(samples)-q:]
	return ratio(mean(last, rows), mean(first, rows)), mean(first, claim), mean(last, claim)
}

// drainRatio is the time a back-fill took over the least the vendor's limits allow:
// actions ÷ (requests per second × items per request). When the back-fill did not finish
// in the time it was given, the time it would have taken is extrapolated from the pace
// it kept (done actions in took), and extrapolated says so.
func drainRatio(actions, done int, took time.Duration, perSecond float64, batch int) (ratio float64, extrapolated bool) {
	if actions <= 0 || done <= 0 || perSecond <= 0 || batch <= 0 {
		return 0, false
	}
	least := float64(actions) / (perSecond * float64(batch))
	total := took.Seconds()
	if done < actions {
		total, extrapolated = total*float64(actions)/float64(done), true
	}
	return total / least, extrapolated
}

// Phases are the phases a run can be limited to, in the order a full run performs them.
var Phases = []string{"raw", "audit", "ingest", "idle", "e2e", "isolation", "sustained", "cost", "capacity", "scaling", "replicas", "soak", "backfill"}

// ParsePhases reads the -phase flag: a duration is the length of each latency phase (as
// `make bench PHASE=30s` has always meant); anything else is a comma list of phases to
// run alone, each of which must be known.
func ParsePhases(v string) (only []string, length time.Duration, err error) {
	if v == "" {
		return nil, 0, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return nil, 0, fmt.Errorf("phase: length %v must be positive", d)
		}
		return nil, d, nil
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if !contains(Phases, name) {
			return nil, 0, fmt.Errorf("phase: unknown phase %q; want a duration or a comma list of %s", name, strings.Join(Phases, ", "))
		}
		only = append(only, name)
	}
	return only, 0, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
