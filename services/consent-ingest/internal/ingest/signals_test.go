package ingest

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSignalsFrom(t *testing.T) {
	cases := []struct {
		headers map[string]string
		want    Signals
	}{
		{map[string]string{}, Signals{}},
		{map[string]string{"Sec-GPC": "1"}, Signals{GPC: true}},
		{map[string]string{"DNT": "1"}, Signals{DNT: true}},
		{map[string]string{"Sec-GPC": " 1 ", "DNT": "1"}, Signals{GPC: true, DNT: true}},
		{map[string]string{"Sec-GPC": "0", "DNT": "0"}, Signals{}},
		{map[string]string{"Sec-GPC": "true", "DNT": "yes"}, Signals{}},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.headers {
			h.Set(k, v)
		}
		if got := SignalsFrom(h); got != c.want {
			t.Errorf("%v: %+v, want %+v", c.headers, got, c.want)
		}
	}
}

func TestSignalConsent(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	base := Normalized{Tenant: "consumer", SubjectID: "u1", Email: "a@example.com", Source: "cmp", PolicyVersion: "2025-04-09",
		OccurredAt: now.Add(-time.Minute), Purposes: map[string]string{"advertising": "granted", "analytics": "granted"}}
	cases := []struct {
		name        string
		source      string
		occurredAt  time.Time
		signals     Signals
		ok          bool
		wantSource  string
		wantPurpose map[string]string
		wantAt      time.Time
	}{
		{"GPC from a CMP denies advertising and sale/share", "cmp", base.OccurredAt, Signals{GPC: true}, true,
			"gpc", map[string]string{"advertising": "denied", "sale_share": "denied"}, now},
		{"DNT from the preference center denies advertising", "preference_center", base.OccurredAt, Signals{DNT: true}, true,
			"dnt", map[string]string{"advertising": "denied"}, now},
		{"both: GPC, which includes DNT's objection", "cmp", base.OccurredAt, Signals{GPC: true, DNT: true}, true,
			"gpc", map[string]string{"advertising": "denied", "sale_share": "denied"}, now},
		{"a consent dated ahead (clock skew) is not overtaken by its own signal", "cmp", now.Add(2 * time.Minute), Signals{GPC: true}, true,
			"gpc", map[string]string{"advertising": "denied", "sale_share": "denied"}, now.Add(2 * time.Minute)},
		{"no signal, no consent", "cmp", base.OccurredAt, Signals{}, false, "", nil, time.Time{}},
		{"a server-to-server call's headers are not the person's", "api", base.OccurredAt, Signals{GPC: true, DNT: true}, false, "", nil, time.Time{}},
		{"support staff's browser is not the person's", "support", base.OccurredAt, Signals{GPC: true}, false, "", nil, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := base
			n.Source, n.OccurredAt = c.source, c.occurredAt
			got, ok := SignalConsent(n, c.signals, now)
			if ok != c.ok {
				t.Fatalf("ok %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			if got.Source != c.wantSource || !got.OccurredAt.Equal(c.wantAt) {
				t.Errorf("source %s at %s, want %s at %s", got.Source, got.OccurredAt, c.wantSource, c.wantAt)
			}
			if diff := cmp.Diff(c.wantPurpose, got.Purposes); diff != "" {
				t.Error(diff)
			}
			if got.Tenant != n.Tenant || got.SubjectID != n.SubjectID || got.Email != n.Email || got.PolicyVersion != n.PolicyVersion {
				t.Errorf("the signal's consent is not about the same subject: %+v", got)
			}
			if n.Purposes["advertising"] != "granted" {
				t.Error("the consent the signal came with was changed")
			}
		})
	}
}
