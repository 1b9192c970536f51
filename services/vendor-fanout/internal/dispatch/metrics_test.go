package dispatch

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The sunset gauge counts down by itself: it is computed at scrape time, not set once at
// start-up.
func TestAPIVersionSunsetCountsDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clock := now
	m.sunsets.now = func() time.Time { return clock }
	m.APIVersionSunset("linkedin", "linkedin-eu", now.Add(48*time.Hour))
	read := func() (float64, map[string]string) {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != "consentry_vendor_api_version_sunset_seconds" {
				continue
			}
			if len(f.Metric) != 1 {
				t.Fatalf("%d series, want 1", len(f.Metric))
			}
			labels := map[string]string{}
			for _, l := range f.Metric[0].Label {
				labels[l.GetName()] = l.GetValue()
			}
			return f.Metric[0].Gauge.GetValue(), labels
		}
		t.Fatal("consentry_vendor_api_version_sunset_seconds is not exported")
		return 0, nil
	}
	v, labels := read()
	if v != 48*3600 || labels["vendor"] != "linkedin" || labels["instance"] != "linkedin-eu" {
		t.Errorf("gauge = %v %v, want 172800 for vendor linkedin, instance linkedin-eu", v, labels)
	}
	clock = now.Add(72 * time.Hour)
	if v, _ := read(); v != -24*3600 {
		t.Errorf("a day past the sunset the gauge = %v, want -86400", v)
	}
}
