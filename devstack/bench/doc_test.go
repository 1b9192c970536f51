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
