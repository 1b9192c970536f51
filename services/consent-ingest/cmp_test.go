package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/schemas"
)

// Published example strings (docs/cmp-signals.md): IAB Tech Lab's reference encoder's TC
// string with purposes 1-10 consented, and a US national section with every opt-out taken.
const (
	tcAllPurposes = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	gppOptedOut   = "DBABLA~BVVVkkkkkpFY.YA"
)

func cmpBody(tcf, gpp string) string {
	return `{"tenant": "consumer", "subject_id": "u_cmp", "occurred_at": "2026-11-28T21:04:05Z", "source": "cmp",
	  "policy_version": "2025-04-09", "tcf": "` + tcf + `", "gpp": "` + gpp + `"}`
}

// POST /v1/consents with only a CMP's strings records the purposes they map to, and the
// event keeps both strings as sent.
func TestConsentFromCMPStringsCarriesThem(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)

	var got accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, cmpBody(tcAllPurposes, gppOptedOut), &got); status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", status)
	}
	recs := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 60*time.Second)
	e, ok := recs[0].Event.(*schemas.ConsentChanged)
	if !ok || e.EventID != got.EventIDs[0] {
		t.Fatalf("topic holds %+v, want event %v", recs[0].Event, got.EventIDs)
	}
	if e.TCFString != tcAllPurposes || e.GPPString != gppOptedOut {
		t.Errorf("event carries tcf %q and gpp %q, want the strings as sent", e.TCFString, e.GPPString)
	}
	want := map[string]string{"advertising": "denied", "personalization": "granted", "analytics": "granted", "sale_share": "denied"}
	if diff := cmp.Diff(want, e.Purposes); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
}

// A malformed string is the submitter's fault: 400, naming the field, and nothing is
// written.
func TestMalformedCMPStringsAnswer400NamingTheField(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"truncated TC string", cmpBody("CQSbk4AQSbk4ANwAAAEN", ""), []string{"tcf"}},
		{"GPP header lying about its sections", cmpBody("", "DBABLA~BVVVkkkkkpFY.YA~1YNN"), []string{"gpp"}},
		// The header go-gpp would read for ever (internal/cmp's TestHostileGPPHeadersAreRefused).
		{"hostile GPP header", cmpBody("", "D0UUUUUUUUUUUUUUUUUUUUUUUUUABB0~0000000.0"), []string{"gpp"}},
		{"in a batch", `{"consents": [` + cmpBody(tcAllPurposes, "") + `,` + cmpBody("", "DBABLA~z") + `]}`, []string{"consents[1].gpp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e apiError
			if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, c.body, &e); status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%+v)", status, e)
			}
			var fields []string
			for _, f := range e.Error.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(c.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// CONSENTRY_CMP_MAPPINGS is checked at start; a bad table stops the service naming it.
func TestCMPMappingsConfig(t *testing.T) {
	env := map[string]string{
		"CONSENTRY_KAFKA_BROKERS":  "127.0.0.1:9092",
		"CONSENTRY_POSTGRES_URL":   "postgres://consentry@127.0.0.1/consentry",
		"CONSENTRY_API_KEYS":       "test:" + testkit.APIKey + ":*",
		"CONSENTRY_SUBJECT_PEPPER": base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"CONSENTRY_MASTER_KEYS":    "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"CONSENTRY_CMP_MAPPINGS":   `{"acme": {"gpp": {"sale_share": ["sale_opt_out"]}}}`,
	}
	cfg, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.cmpTables.For("acme"); len(got.TCF) != 0 || len(got.GPP) != 1 {
		t.Errorf("acme's table is %+v, want its own", got)
	}
	if got := cfg.cmpTables.For("consumer"); len(got.TCF) == 0 {
		t.Error("a tenant without a table does not get the default")
	}
	env["CONSENTRY_CMP_MAPPINGS"] = `{"acme": {"gpp": {"sale_share": ["do_not_sell"]}}}`
	if _, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "CONSENTRY_CMP_MAPPINGS") || !strings.Contains(err.Error(), "do_not_sell") {
		t.Errorf("loadConfig error %v, want it to name CONSENTRY_CMP_MAPPINGS and the bad field", err)
	}
}
