package bench

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// machineAt passes every rate up to limit, as a stack whose capacity is limit would.
func machineAt(limit float64, calls *[]float64) func(float64) (Probe, error) {
	return func(rate float64) (Probe, error) {
		*calls = append(*calls, rate)
		return Probe{ActionsPerS: rate * 10, OK: rate <= limit}, nil
	}
}

func TestSearchCapacity(t *testing.T) {
	p := searchPolicy{Start: 100, Max: 5000, Probes: 12, Precision: 0.05}
	for _, tc := range []struct {
		name  string
		limit float64
		// the answer must fall within Precision below the limit
		wantNone bool
		wantMax  bool
	}{
		{name: "above start", limit: 730},
		{name: "below start", limit: 37},
		{name: "at max", limit: 1e9, wantMax: true},
		{name: "nothing passes", limit: 0.5, wantNone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []float64
			best, tried, err := searchCapacity(p, machineAt(tc.limit, &calls))
			if err != nil {
				t.Fatal(err)
			}
			if len(tried) != len(calls) || len(tried) > p.Probes {
				t.Fatalf("%d probes recorded for %d made (most %d)", len(tried), len(calls), p.Probes)
			}
			for i, r := range tried {
				if r.RateEPS != calls[i] {
					t.Errorf("probe %d records rate %v, tried %v", i, r.RateEPS, calls[i])
				}
			}
			switch {
			case tc.wantNone:
				if best.OK {
					t.Errorf("best = %+v, want none", best)
				}
			case tc.wantMax:
				if best.RateEPS != p.Max {
					t.Errorf("best = %+v, want the max %v", best, p.Max)
				}
			default:
				if !best.OK || best.RateEPS > tc.limit || best.RateEPS < tc.limit*(1-2*p.Precision) {
					t.Errorf("best = %+v after %v, want within %.0f%% below %v", best, calls, 200*p.Precision, tc.limit)
				}
				if best.ActionsPerS != best.RateEPS*10 {
					t.Errorf("best keeps the probe's figures: %+v", best)
				}
			}
		})
	}

	t.Run("probe error stops the search", func(t *testing.T) {
		boom := errors.New("stack down")
		_, tried, err := searchCapacity(p, func(float64) (Probe, error) { return Probe{}, boom })
		if !errors.Is(err, boom) || len(tried) != 0 {
			t.Errorf("err = %v, tried = %v", err, tried)
		}
	})
	t.Run("bad policy", func(t *testing.T) {
		if _, _, err := searchCapacity(searchPolicy{Start: 0, Max: 1, Probes: 1}, nil); err == nil {
			t.Error("a zero start was accepted")
		}
	})
}

func TestProcCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as /proc shows it; utime 250,
	// stime 50 ticks.
	stat := "4242 (vendor-fanout (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	got, err := procCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("procCPU = %v, %v; want 3s", got, err)
	}
	// cutime 100, cstime 20: a postmaster's exited backends count to its tree.
	tree := "4242 (postgres) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 100 20 20 0 12 0 100 0 0"
	if got, err := procTreeCPU(tree); err != nil || got != 4200*time.Millisecond {
		t.Errorf("procTreeCPU = %v, %v; want 4.2s", got, err)
	}
	if got, err := procCPU(tree); err != nil || got != 3*time.Second {
		t.Errorf("procCPU of the same = %v, %v; want 3s (its children are not its own time)", got, err)
	}
	for _, bad := range []string{"", "4242 vendor-fanout S 1", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 50 0 0"} {
		if _, err := procCPU(bad); err == nil {
			t.Errorf("procCPU(%q) accepted", bad)
		}
	}
}

func TestSoakTrend(t *testing.T) {
	var flat, growing []SoakSample
	for i := range 8 {
		flat = append(flat, SoakSample{Rows: 1000, ClaimMS: 2})
		growing = append(growing, SoakSample{Rows: int64(1000 * (i + 1)), ClaimMS: float64(1 + i)})
	}
	if g, f, l := soakTrend(flat); g != 1 || f != 2 || l != 2 {
		t.Errorf("flat: %v %v %v", g, f, l)
	}
	// First quarter: 1000, 2000 (mean 1500, claim 1.5); last: 7000, 8000 (7500, 7.5).
	if g, f, l := soakTrend(growing); g != 5 || f != 1.5 || l != 7.5 {
		t.Errorf("growing: %v %v %v, want 5 1.5 7.5", g, f, l)
	}
	if g, _, _ := soakTrend(nil); g != 0 {
		t.Errorf("no samples: %v", g)
	}
}

func TestDrainRatio(t *testing.T) {
	// 100,000 actions at 10 requests/s × 100 a request: 100 s at the least.
	if r, ex := drainRatio(100_000, 100_000, 105*time.Second, 10, 100); math.Abs(r-1.05) > 1e-9 || ex {
		t.Errorf("finished: %v %v", r, ex)
	}
	// One by one: 10 actions/s, 3,000 done in 300 s, 100,000 would take 10,000 s.
	if r, ex := drainRatio(100_000, 3_000, 300*time.Second, 10, 100); math.Abs(r-100) > 1e-9 || !ex {
		t.Errorf("extrapolated: %v %v", r, ex)
	}
	if r, _ := drainRatio(100, 0, time.Second, 10, 100); r != 0 {
		t.Errorf("nothing done: %v", r)
	}
}

func TestParsePhases(t *testing.T) {
	if only, d, err := ParsePhases("30s"); err != nil || d != 30*time.Second || only != nil {
		t.Errorf("duration: %v %v %v", only, d, err)
	}
	if only, d, err := ParsePhases("idle, capacity"); err != nil || d != 0 || strings.Join(only, ",") != "idle,capacity" {
		t.Errorf("list: %v %v %v", only, d, err)
	}
	for _, bad := range []string{"idle,nope", "-5s"} {
		if _, _, err := ParsePhases(bad); err == nil || !strings.Contains(err.Error(), "phase") {
			t.Errorf("ParsePhases(%q) = %v, want an error naming the flag", bad, err)
		}
	}
}

func TestTypeOfAndInstancesEnv(t *testing.T) {
	for in, want := range map[string]string{"hubspot": "hubspot", "hubspot-eu": "hubspot", "amplitude-eu-x3": "amplitude",
		"sendgrid-backfill": "sendgrid", "webhook-x5": "webhook"} {
		if got := typeOf(in); got != want {
			t.Errorf("typeOf(%q) = %q, want %q", in, got, want)
		}
	}
	all := append(scaledVendors(), backfillInstance)
	if len(all) != 51 {
		t.Fatalf("%d instances, want 50 and the back-fill's", len(all))
	}
	env := instancesEnv("http://sim", all)
	// Every instance the stack does not configure by type has each setting its type needs.
	for _, in := range all {
		if in == typeOf(in) {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(in, "-", "_"))
		for k := range vendorKeys[typeOf(in)] {
			if env["CONSENTRY_VENDOR_"+name+"_"+k] == "" {
				t.Errorf("%s: no %s", in, k)
			}
		}
	}
	if env["CONSENTRY_VENDOR_SENDGRID_BACKFILL_BASE_URL"] != "http://sim/sendgrid" {
		t.Errorf("back-fill base URL = %q", env["CONSENTRY_VENDOR_SENDGRID_BACKFILL_BASE_URL"])
	}
}
