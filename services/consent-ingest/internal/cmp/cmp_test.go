package cmp_test

import (
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/cmp"
)

const (
	granted = schemas.Granted
	denied  = schemas.Denied
)

// Published example strings. Where each comes from is in docs/cmp-signals.md.
const (
	// IAB TCF v2 "Consent string and vendor list formats", the example of a full TC
	// string: core and disclosed-vendors segments, no purpose consented.
	tcfSpecExample = "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA"
	// IAB Tech Lab's reference encoder (iabgpp-es), TcfEuV2 test "decode 2": purposes
	// 1-10 consented, special feature 1 opted in, CMP 14.
	tcfIABTechLabAllPurposes = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	// IAB GPP repository, "TCF EU TCF CA Comparison": purposes 1-3 consented.
	tcfGPPRepoComparison = "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"
	// go-gdpr's tcf2 tests: purposes 1-8 consented, so analytics (needs 9) is not.
	tcfGoGDPRPurposes1to8 = "COyiBqdOyiBqdObAAAENAfCIAP8AAH-AAAAAB4AXQQgEAAAgoAAAAABAIYQUAAAAAAAAAAAAAAAIQIQCxIvkgQMAAAABgAIAAAAAAAAAAABAZAkAAA"

	// IAB GPP "Consent String Specification", GPP String Examples 1-3.
	gppSpecExample1 = "DBABM~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	gppSpecExample2 = "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"
	gppSpecExample3 = "DBABjw~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"
	// IAB Tech Lab's reference encoder, GppModel test: a national section whose sale,
	// sharing and targeted-advertising opt-outs are all 2 (did not opt out).
	gppUSNatNoOptOut = "DBABLA~BVQqAAAAAgA.QA"
	// The reference encoder's UsNat test string with every opt-out 1 (opted out) and
	// GPC set, under the header that lists section 7.
	gppUSNatOptedOut = "DBABLA~BVVVkkkkkpFY.YA"
	// The reference encoder's UsCa test strings under the header that lists section 8:
	// sale and sharing opted out; sale opted out, sharing not.
	gppUSCAOptedOut   = "DBABBgA~BVWSSSVY.YA"
	gppUSCASaleOptOut = "DBABBgA~BbYbGwXY.YA"
)

func TestPublishedTCStringsMapToTheDocumentedPurposes(t *testing.T) {
	cases := []struct {
		name, s  string
		purposes []int
		want     map[string]string
	}{
		{"IAB TCF spec example", tcfSpecExample, nil,
			map[string]string{"advertising": denied, "personalization": denied, "analytics": denied}},
		{"IAB Tech Lab encoder, purposes 1-10", tcfIABTechLabAllPurposes, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			map[string]string{"advertising": granted, "personalization": granted, "analytics": granted}},
		{"IAB GPP repo, purposes 1-3", tcfGPPRepoComparison, []int{1, 2, 3},
			map[string]string{"advertising": denied, "personalization": denied, "analytics": denied}},
		{"go-gdpr, purposes 1-8", tcfGoGDPRPurposes1to8, []int{1, 2, 3, 4, 5, 6, 7, 8},
			map[string]string{"advertising": granted, "personalization": granted, "analytics": denied}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc, err := cmp.ParseTCF(c.s)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Version != 2 {
				t.Errorf("version %d, want 2", tc.Version)
			}
			var got []int
			for i, ok := range tc.Purposes {
				if ok {
					got = append(got, i)
				}
			}
			if diff := gocmp.Diff(c.purposes, got); diff != "" {
				t.Errorf("consented purposes (-published +parsed):\n%s", diff)
			}
			if diff := gocmp.Diff(c.want, decisions(cmp.DefaultTable().Derive(&tc, nil), "tcf")); diff != "" {
				t.Errorf("mapped purposes (-documented +derived):\n%s", diff)
			}
		})
	}
}

func TestPublishedGPPStringsMapToTheDocumentedPurposes(t *testing.T) {
	allDenied := map[string]string{"advertising": denied, "personalization": denied, "analytics": denied}
	cases := []struct {
		name, s string
		want    map[string]string
	}{
		// Example 1's only section is TCF EU v2 with no consent: the TCF rules apply.
		{"GPP spec example 1", gppSpecExample1, allDenied},
		// Example 2 adds US Privacy 1YNN: not opted out of sale.
		{"GPP spec example 2", gppSpecExample2,
			map[string]string{"advertising": denied, "personalization": denied, "analytics": denied, "sale_share": granted}},
		// Example 3's first section is Canada's TCF, which the table does not map.
		{"GPP spec example 3", gppSpecExample3, map[string]string{"sale_share": granted}},
		{"usnat, no opt-out", gppUSNatNoOptOut, map[string]string{"sale_share": granted, "advertising": granted}},
		{"usnat, opted out", gppUSNatOptedOut, map[string]string{"sale_share": denied, "advertising": denied}},
		{"usca, sale and sharing opted out", gppUSCAOptedOut, map[string]string{"sale_share": denied}},
		// One of the two fields sale_share lists opted out: that is an opt-out.
		{"usca, sale opted out only", gppUSCASaleOptOut, map[string]string{"sale_share": denied}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := cmp.ParseGPP(c.s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(c.want, decisions(cmp.DefaultTable().Derive(nil, &g), "gpp")); diff != "" {
				t.Errorf("mapped purposes (-documented +derived):\n%s", diff)
			}
		})
	}
}

// decisions drops the provenance after checking it names the one field given.
func decisions(m map[string]cmp.Decision, from string) map[string]string {
	out := map[string]string{}
	for p, d := range m {
		if d.From != from {
			out[p] = d.Decision + " from " + d.From
			continue
		}
		out[p] = d.Decision
	}
	return out
}

// A TC string that grants advertising next to a GPP string that opted out of targeted
// advertising is an opt-out: denied wins, and names the field that denied.
func TestDeniedWinsAcrossSignals(t *testing.T) {
	tc, err := cmp.ParseTCF(tcfIABTechLabAllPurposes)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cmp.ParseGPP(gppUSNatOptedOut)
	if err != nil {
		t.Fatal(err)
	}
	got := cmp.DefaultTable().Derive(&tc, &g)
	want := map[string]cmp.Decision{
		"advertising":     {Decision: denied, From: "gpp"},
		"personalization": {Decision: granted, From: "tcf"},
		"analytics":       {Decision: granted, From: "tcf"},
		"sale_share":      {Decision: denied, From: "gpp"},
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMalformedStringsAreRejected(t *testing.T) {
	tcf := map[string]string{
		"empty":              "",
		"not base64url":      "CQSbk4AQSbk4AN+AAAENAwCg",
		"truncated core":     "CQSbk4AQSbk4ANwAAAEN",
		"TCF v1 string":      "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",
		"control character":  "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA\n",
		"too long":           "C" + strings.Repeat("A", cmp.MaxString),
		"a GPP string":       gppUSNatNoOptOut,
		"missing LI section": "COvcSpYOvcSpYC9AAAENAPCAAAAAAAAAAAAAAFAAAAA",
		"short core":         "CAAAAAAA",
	}
	for name, s := range tcf {
		t.Run("tcf/"+name, func(t *testing.T) {
			if tc, err := cmp.ParseTCF(s); err == nil {
				t.Errorf("accepted %q as %+v", s, tc)
			} else if strings.Contains(err.Error(), s) && s != "" {
				t.Errorf("error %q repeats the input", err)
			}
		})
	}
	gpp := map[string]string{
		"empty":                  "",
		"header only":            "DBABLA",
		"wrong header type":      "CBABLA~BVQqAAAAAgA.QA",
		"more sections than ids": "DBABLA~BVQqAAAAAgA.QA~1YNN",
		"garbage usnat section":  "DBABLA~z",
		"bad US Privacy":         "DBABTA~1XZN",
		"bad TCF EU section":     "DBABM~CPXxRfAPXx",
		"space":                  "DBABLA~BVQqAAAAAgA .QA",
		"too long":               "DBABLA~" + strings.Repeat("A", cmp.MaxString),
	}
	for name, s := range gpp {
		t.Run("gpp/"+name, func(t *testing.T) {
			if g, err := cmp.ParseGPP(s); err == nil {
				t.Errorf("accepted %q as %+v", s, g)
			}
		})
	}
}

func TestTenantTables(t *testing.T) {
	tables, err := cmp.ParseTables([]byte(`{
		"acme": {"tcf": {"advertising": {"purposes": [1, 2], "special_features": [1]}},
		         "gpp": {"advertising": ["sharing_opt_out", "targeted_advertising_opt_out"]}},
		"*":    {"gpp": {"sale_share": ["sale_opt_out"]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cmp.ParseTCF(tcfIABTechLabAllPurposes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(map[string]cmp.Decision{"advertising": {Decision: granted, From: "tcf"}},
		tables.For("acme").Derive(&tc, nil)); diff != "" {
		t.Errorf("acme's own table (-want +got):\n%s", diff)
	}
	// Every other tenant gets the "*" table, which maps no TCF purpose.
	if got := tables.For("globex").Derive(&tc, nil); len(got) != 0 {
		t.Errorf(`the "*" table maps no TCF purpose, got %v`, got)
	}
	if got := (cmp.Tables{}).For("acme"); gocmp.Diff(cmp.DefaultTable(), got) != "" {
		t.Error("the zero Tables does not give the default table")
	}

	bad := map[string]string{
		"unknown purpose":       `{"acme": {"tcf": {"newsletters": {"purposes": [1]}}}}`,
		"essential":             `{"acme": {"tcf": {"essential": {"purposes": [1]}}}}`,
		"TCF purpose 0":         `{"acme": {"tcf": {"analytics": {"purposes": [0]}}}}`,
		"TCF purpose 25":        `{"acme": {"tcf": {"analytics": {"purposes": [25]}}}}`,
		"special feature 13":    `{"acme": {"tcf": {"analytics": {"purposes": [1], "special_features": [13]}}}}`,
		"empty rule":            `{"acme": {"tcf": {"analytics": {}}}}`,
		"unknown GPP field":     `{"acme": {"gpp": {"sale_share": ["do_not_sell"]}}}`,
		"empty GPP list":        `{"acme": {"gpp": {"sale_share": []}}}`,
		"unknown key":           `{"acme": {"tfc": {}}}`,
		"not an object":         `[]`,
		"empty tenant":          `{"": {}}`,
		"trailing data":         `{} {}`,
		"string for a purpose":  `{"acme": {"tcf": {"analytics": {"purposes": ["1"]}}}}`,
		"list for GPP purposes": `{"acme": {"gpp": ["sale_opt_out"]}}`,
	}
	for name, spec := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := cmp.ParseTables([]byte(spec)); err == nil {
				t.Errorf("accepted %s", spec)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{tcfSpecExample, tcfGPPRepoComparison, gppSpecExample2, gppUSNatOptedOut, gppUSCAOptedOut,
		"COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA", "DBABTA~1YYN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Neither parser may panic on what a browser sends, and what one accepts maps.
		if tc, err := cmp.ParseTCF(s); err == nil {
			cmp.DefaultTable().Derive(&tc, nil)
		}
		if g, err := cmp.ParseGPP(s); err == nil {
			cmp.DefaultTable().Derive(nil, &g)
		}
	})
}

// go-gpp reads a header's section ids with an exponential Fibonacci decoder and a uint16
// loop that never ends at 65535: a header of a few dozen characters would hold a request
// (and a core) forever. The first two are such headers (each hangs ParseGPP without its
// bounded pre-read); every one must be refused at once.
func TestHostileGPPHeadersAreRefused(t *testing.T) {
	hostile := map[string]string{
		// Found by FuzzParse (kept in testdata/fuzz): a 26-bit run of Fibonacci code.
		"long Fibonacci code": "D0UUUUUUUUUUUUUUUUUUUUUUUUUABB0~0000000.0",
		// 32 ids 2000 apart, then a range ending at 65535: short Fibonacci codes
		// throughout, so only the uint16 loop can hang on it.
		"range to 65535": "DBAhCQ" + strings.Repeat("TCQ", 31) + "T4kVg~x",
		// 4095 range entries for one section: go-gpp refuses it too, after listing the ids.
		"4095 entries": "DBA__" + strings.Repeat("_", 200) + "~x",
	}
	for name, s := range hostile {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := cmp.ParseGPP(s)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("accepted %q", s)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ParseGPP still running after 10 s: the header is read without bounds")
			}
		})
	}
}

// BenchmarkParse is the cost a consent pays for its strings: a real CMP's TC string (772
// vendor consents) and a two-section GPP string, parsed and mapped (about 12 µs).
func BenchmarkParse(b *testing.B) {
	table := cmp.DefaultTable()
	for b.Loop() {
		tc, err := cmp.ParseTCF(tcfIABTechLabAllPurposes)
		if err != nil {
			b.Fatal(err)
		}
		g, err := cmp.ParseGPP(gppSpecExample2)
		if err != nil {
			b.Fatal(err)
		}
		table.Derive(&tc, &g)
	}
}
