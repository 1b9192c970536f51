package bench

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// The generated table lives between these markers so that a run can replace it while
// the analysis written around it stays.
const (
	docBegin = "<!-- bench:begin (written by make bench; edit outside the markers) -->"
	docEnd   = "<!-- bench:end -->"
)

// target is one of issue 4's goals, checked against a run's figures.
type target struct {
	name   string
	value  string
	goal   string
	met    bool
	absent bool
}

func targets(r *Result) []target {
	ms := func(v float64) string { return fmt.Sprintf("%.0f ms", v) }
	rss := make([]string, 0, len(r.RSSMiB))
	for _, name := range slices.Sorted(maps.Keys(r.RSSMiB)) {
		rss = append(rss, fmt.Sprintf("%s %.0f", name, r.RSSMiB[name]))
	}
	return []target{
		{name: "ingest / raw produce", goal: "≥ 0.60", met: r.IngestRatio >= 0.6, absent: r.RawProduceEPS == 0 || r.IngestEPS == 0,
			value: fmt.Sprintf("%.2f (%.0f / %.0f events/s)", r.IngestRatio, r.IngestEPS, r.RawProduceEPS)},
		{name: "audit / raw copy", goal: "≥ 0.70", met: r.AuditRatio >= 0.7, absent: r.RawCopyRPS == 0 || r.AuditRPS == 0,
			value: fmt.Sprintf("%.2f (%.0f / %.0f rows/s)", r.AuditRatio, r.AuditRPS, r.RawCopyRPS)},
		{name: fmt.Sprintf("e2e p99 at %.0f events/s × %d vendors", rateOf(r.E2E), r.Vendors), goal: "≤ 250 ms",
			met: r.E2EP99MS <= 250 && r.E2EUndelivered == 0, absent: r.E2E == nil,
			value: fmt.Sprintf("%s (p50 %s; %d deliveries, %d undelivered)", ms(r.E2EP99MS), ms(r.E2EP50MS), r.E2EDeliveries, r.E2EUndelivered)},
		{name: "isolation p99 ratio (" + r.BlackholedVendor + " black-holed)", goal: "≤ 1.2", met: r.IsolationP99Ratio <= 1.2,
			absent: r.IsolationP99Ratio == 0, value: fmt.Sprintf("%.2f (%s vs %s)", r.IsolationP99Ratio, ms(r.IsolationP99MS), ms(r.E2EP99MS))},
		{name: "capacity (vendor actions/s, every delivery made, p99 ≤ 250 ms) / raw copy", goal: "≥ 0.20", met: r.CapacityRatio >= 0.2,
			absent: r.CapacityRatio == 0 && len(r.CapacityProbes) == 0,
			value:  fmt.Sprintf("%.2f (%.0f actions/s / %.0f rows/s; %d probes)", r.CapacityRatio, r.CapacityActionsPerS, r.RawCopyRPS, len(r.CapacityProbes))},
		{name: "CPU per action delivered (four services)", goal: "—", met: true, absent: r.CPUUsPerAction == 0,
			value: costValue(r)},
		{name: "idle latency, one event at a time", goal: "—", met: true, absent: r.IdleP50MS == 0,
			value: fmt.Sprintf("p50 %s, p99 %s (hops: accepted %.0f, on Kafka %.0f, planned %.0f, called %.0f ms)", ms(r.IdleP50MS), ms(r.IdleP99MS),
				r.AcceptedMS, r.KafkaMS, r.PlannedMS, r.CalledMS)},
		{name: "back-fill drain / least the vendor's limits allow", goal: "≤ 1.1", met: r.BackfillDrainRatio > 0 && r.BackfillDrainRatio <= 1.1,
			absent: r.Backfill == nil, value: backfillValue(r)},
		{name: "actions/s per core, 50 vendors / 10", goal: "≥ 0.90", met: r.VendorsScalingRatio >= 0.9, absent: r.Scaling == nil,
			value: scalingValue(r)},
		{name: "soak: delivery rows, last quarter / first; claim query", goal: "flat", met: r.SoakDeliveryRowsGrowthRatio <= 1.2 && r.SoakClaimMeanMSLast <= 1.2*r.SoakClaimMeanMSFirst+1,
			absent: len(r.SoakSamples) == 0,
			value:  fmt.Sprintf("rows ×%.2f; claim %.1f → %.1f ms (%d samples)", r.SoakDeliveryRowsGrowthRatio, r.SoakClaimMeanMSFirst, r.SoakClaimMeanMSLast, len(r.SoakSamples))},
		{name: "peak RSS per service", goal: "≤ 256 MiB", met: r.RSSMiBMax <= 256, absent: r.RSSMiBMax == 0,
			value: fmt.Sprintf("%.0f MiB max (%s)", r.RSSMiBMax, strings.Join(rss, ", "))},
	}
}

func backfillValue(r *Result) string {
	b := r.Backfill
	if b == nil {
		return ""
	}
	how := "one call per action"
	if b.Batched {
		how = fmt.Sprintf("batches of up to %d", b.MaxBatch)
	}
	v := fmt.Sprintf("%.2f (%d of %d actions in %.0f s, least %.0f s at %.0f req/s × %d; %s)", r.BackfillDrainRatio, b.Delivered, b.Actions,
		b.Seconds, b.MinimumS, b.PerSecond, b.MaxBatch, how)
	if b.Extrapolated {
		v += ", extrapolated from the pace kept"
	}
	return v
}

func scalingValue(r *Result) string {
	if r.Scaling == nil {
		return ""
	}
	return fmt.Sprintf("%.2f (%.0f vs %.0f actions per CPU second)", r.VendorsScalingRatio, r.Scaling.ActionsPerCPUSecond50, r.Scaling.ActionsPerCPUSecond10)
}

func rateOf(l *LatencyAt) float64 {
	if l == nil {
		return 0
	}
	return l.RateEPS
}

// Table renders a run as the Markdown that docs/benchmarks.md keeps between its markers.
func Table(r *Result, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run `%s` on %s, started %s.\n\n", command, r.Machine, r.StartedAt)
	b.WriteString("| figure | measured | target | |\n| --- | --- | --- | --- |\n")
	for _, t := range targets(r) {
		verdict := "missed"
		switch {
		case t.absent:
			t.value, verdict = "not measured in this run", ""
		case t.goal == "—": // a figure reported, with no target of its own
			verdict = ""
		case t.met:
			verdict = "met"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.name, t.value, t.goal, verdict)
	}
	if r.IngestIdempotentEPS > 0 {
		fmt.Fprintf(&b, "| ingest with an Idempotency-Key on every request | %.0f events/s (%.2f of raw produce) | — | |\n",
			r.IngestIdempotentEPS, ratio(r.IngestIdempotentEPS, r.RawProduceEPS))
	}
	if s := r.Sustained; s != nil {
		fmt.Fprintf(&b, "| e2e at %.0f events/s × %d vendors (below saturation) | p50 %.0f ms, p99 %.0f ms; isolation %.2f | — | |\n",
			s.RateEPS, r.Vendors, s.P50MS, s.P99MS, s.IsolationP99Ratio)
	}
	if rp := r.Replicas; rp != nil {
		fmt.Fprintf(&b, "| drain of %d events × %d vendors, 1 → 2 processes of each consumer | %.0f → %.0f actions/s (×%.2f) | — | |\n",
			rp.Events, r.Vendors, rp.ActionsPerS1, rp.ActionsPerS2, rp.Ratio)
	}
	for _, name := range slices.Sorted(maps.Keys(r.PhaseErrors)) {
		fmt.Fprintf(&b, "\nThe %s phase failed (%s); its figures are missing.\n", name, r.PhaseErrors[name])
	}
	for _, u := range r.UnsettledPhases {
		fmt.Fprintf(&b, "\nThe stack had not settled after %s (%d deliveries pending, consumer lag %d, after %.0f s): the next phase ran beside that backlog.\n",
			u.After, u.PendingDeliveries, u.ConsumerLag, u.WaitedS)
	}
	return b.String()
}

// UpdateDoc replaces the generated table in the document at path, adding the markers
// at the end when the document has none yet, and creating it when it does not exist.
func UpdateDoc(path, table string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	block := docBegin + "\n" + table + docEnd
	begin, end := bytes.Index(doc, []byte(docBegin)), bytes.Index(doc, []byte(docEnd))
	switch {
	case begin >= 0 && end > begin:
		doc = append(doc[:begin:begin], append([]byte(block), doc[end+len(docEnd):]...)...)
	case begin >= 0 || end >= 0:
		return fmt.Errorf("%s: bench markers are unpaired or out of order; fix them by hand", path)
	default:
		if len(doc) > 0 && !bytes.HasSuffix(doc, []byte("\n")) {
			doc = append(doc, '\n')
		}
		doc = append(doc, []byte("\n"+block+"\n")...)
	}
	return os.WriteFile(path, doc, 0o644)
}

// costValue is the services' CPU per action and, where measured, what PostgreSQL and the
// bench process (broker, simulator, load) took on the same two cores besides.
func costValue(r *Result) string {
	v := fmt.Sprintf("%.0f µs; %.1f row writes per delivery", r.CPUUsPerAction, r.RowWritesPerDelivery)
	if r.Cost == nil {
		return v
	}
	// An external database has no processes here to measure: say nothing rather than 0.
	var besides []string
	if us, ok := r.Cost.OutsideCPUUsPerAction["postgres"]; ok {
		besides = append(besides, fmt.Sprintf("PostgreSQL %.0f µs", us))
	}
	if us, ok := r.Cost.OutsideCPUUsPerAction["bench (broker, simulator, load)"]; ok {
		besides = append(besides, fmt.Sprintf("bench process %.0f µs", us))
	}
	if len(besides) > 0 {
		v += " (besides: " + strings.Join(besides, ", ") + ")"
	}
	return v
}
