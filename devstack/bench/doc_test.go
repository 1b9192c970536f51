package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateDocReplacesOnlyTheTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	r := &Result{Machine: "2 CPUs", StartedAt: "2026-11-29T00:00:00Z", RawProduceEPS: 1000, IngestEPS: 700, IngestRatio: 0.7,
		RawCopyRPS: 1000, AuditRPS: 500, AuditRatio: 0.5, RSSMiB: map[string]float64{"b": 20, "a": 10}, RSSMiBMax: 20}

	if err := UpdateDoc(path, Table(r, "make bench")); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	for _, want := range []string{"| ingest / raw produce | 0.70 (700 / 1000 events/s) | ≥ 0.60 | met |",
		"| audit / raw copy | 0.50 (500 / 1000 rows/s) | ≥ 0.70 | missed |",
		"not measured in this run", "20 MiB max (a 10, b 20)", "Run `make bench` on 2 CPUs"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("table lacks %q:\n%s", want, first)
		}
	}

	// Analysis written around the markers survives the next run.
	doc := "# Benchmarks\n\nintro\n\n" + string(first) + "\n## Why\nanalysis\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r.AuditRPS, r.AuditRatio = 800, 0.8
	if err := UpdateDoc(path, Table(r, "make bench")); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	got := string(second)
	if !strings.HasPrefix(got, "# Benchmarks\n\nintro\n\n") || !strings.HasSuffix(got, "\n## Why\nanalysis\n") {
		t.Errorf("text around the table changed:\n%s", got)
	}
	if strings.Count(got, docBegin) != 1 || !strings.Contains(got, "0.80 (800 / 1000 rows/s) | ≥ 0.70 | met") {
		t.Errorf("table not replaced once:\n%s", got)
	}
}

func TestUpdateDocRefusesUnpairedMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(path, []byte("x\n"+docEnd+"\n"+docBegin+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDoc(path, "table\n"); err == nil {
		t.Fatal("markers out of order were accepted")
	}
}

func TestTableShowsIssue15Figures(t *testing.T) {
	r := &Result{Machine: "2 CPUs", RawCopyRPS: 10000, CapacityActionsPerS: 2500, CapacityRatio: 0.25, CapacityProbes: make([]Probe, 5),
		CPUUsPerAction: 410, RowWritesPerDelivery: 4.2, IdleP50MS: 40, IdleP99MS: 90,
		IdleHops:           IdleHops{AcceptedMS: 3, KafkaMS: 5, PlannedMS: 20, CalledMS: 12},
		BackfillDrainRatio: 100, Backfill: &BackfillDetail{Actions: 100_000, Delivered: 3000, Seconds: 300, MinimumS: 100, PerSecond: 10, MaxBatch: 100, Extrapolated: true},
		Scaling: &ScalingDetail{ActionsPerCPUSecond10: 2000, ActionsPerCPUSecond50: 1900}, VendorsScalingRatio: 0.95,
		SoakSamples: make([]SoakSample, 12), SoakDeliveryRowsGrowthRatio: 3.1, SoakClaimMeanMSFirst: 1.5, SoakClaimMeanMSLast: 1.6}
	got := Table(r, "make bench")
	for _, want := range []string{
		"| 0.25 (2500 actions/s / 10000 rows/s; 5 probes) | ≥ 0.20 | met |",
		"| 410 µs; 4.2 row writes per delivery | — |  |",
		"p50 40 ms, p99 90 ms (hops: accepted 3, on Kafka 5, planned 20, called 12 ms)",
		"| 100.00 (3000 of 100000 actions in 300 s, least 100 s at 10 req/s × 100; one call per action), extrapolated from the pace kept | ≤ 1.1 | missed |",
		"| 0.95 (1900 vs 2000 actions per CPU second) | ≥ 0.90 | met |",
		"| rows ×3.10; claim 1.5 → 1.6 ms (12 samples) | flat | missed |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	// A run of other phases leaves these rows unmeasured, not missed.
	if empty := Table(&Result{}, "x"); strings.Count(empty, "not measured in this run") < 6 {
		t.Errorf("unmeasured figures shown as measured:\n%s", empty)
	}
}

func TestCostRowNamesWhatSharedTheCores(t *testing.T) {
	r := &Result{CPUUsPerAction: 566, RowWritesPerDelivery: 8.1, Cost: &CostDetail{
		OutsideCPUUsPerAction: map[string]float64{"postgres": 557, "bench (broker, simulator, load)": 248}}}
	if got, want := costValue(r), "566 µs; 8.1 row writes per delivery (besides: PostgreSQL 557 µs, bench process 248 µs)"; got != want {
		t.Errorf("costValue = %q, want %q", got, want)
	}
	// Against an external database there is no PostgreSQL process to measure: no 0 µs.
	r.Cost.OutsideCPUUsPerAction = map[string]float64{"bench (broker, simulator, load)": 248}
	if got := costValue(r); strings.Contains(got, "PostgreSQL") {
		t.Errorf("costValue names PostgreSQL it did not measure: %q", got)
	}
}
