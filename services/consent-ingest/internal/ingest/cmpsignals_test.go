package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
	cmpsig "github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
)

const (
	// IAB Tech Lab's reference encoder: purposes 1-10 consented (docs/cmp-signals.md).
	tcAllPurposes = "CPi8wgAPi8wgAAOACBENCuCoAP_AAEfAACiQJHNd_H__bX9n-f7_6ft0eY1f9_r37uQzDhfNk-8F3L_W_LwX_2E7NF36tq4KmR4ku1LBIUNtHMnUDUmxaokVrzHsak2cpzNKJ_BkknsZe2dYGF9vm5tj-QKZ7_5_d3f52T_9_9v-39z33913v3d93-_13LjdV5_9H_v9fR_b8_Kf9_5-_4v8_____3_e______8AEEggCTDVuIAuxLHAm0DCKBECMKwkKoFABBQDC0QGADg4KdlYBPrCBAAgFAEYEQIcAUYEAgAAAgCQiACQIsEAAAIgEAAIAEQiEABAwCCgAsDAIAAQDQMUQoABAkIMiAiKUwICIEggJbKhBKC6Q0wgCrLACgkRsFAAiAAAUgACAsHAMESAlYsECTFG-QAjBCgFEqFaAGGgAwABBI4RABgACCRwqADAAEEjgA"
	// The US national section with every opt-out taken.
	gppOptedOut = "DBABLA~BVVVkkkkkpFY.YA"
)

func cmpConsent(tcf, gpp string, purposes map[string]string) ingest.ConsentInput {
	in := validConsent()
	in.TCF, in.GPP, in.Purposes = tcf, gpp, purposes
	return in
}

func TestConsentFromCMPStringsAloneTakesTheMappedPurposesAndKeepsTheStrings(t *testing.T) {
	n, errs := ingest.ValidateConsent(cmpConsent(tcAllPurposes, gppOptedOut, nil), "", now, cmpsig.Tables{})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]string{"advertising": "denied", "personalization": "granted", "analytics": "granted", "sale_share": "denied"}
	if diff := cmp.Diff(want, n.Purposes); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
	e := n.ConsentEvent(n.Header("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", "key", now, nil))
	if e.TCFString != tcAllPurposes || e.GPPString != gppOptedOut {
		t.Errorf("the event carries tcf %q, gpp %q; want the strings as sent", e.TCFString, e.GPPString)
	}
	if err := schemas.Validate(e); err != nil {
		t.Errorf("the event does not validate: %v", err)
	}
}

func TestExplicitPurposesJoinTheMappedOnesAndMustAgreeWithThem(t *testing.T) {
	// A purpose the strings do not decide joins them; one they do decide may repeat them.
	n, errs := ingest.ValidateConsent(cmpConsent(tcAllPurposes, "", map[string]string{"marketing_email": "denied", "analytics": "granted"}),
		"", now, cmpsig.Tables{})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]string{"advertising": "granted", "personalization": "granted", "analytics": "granted", "marketing_email": "denied"}
	if diff := cmp.Diff(want, n.Purposes); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
	// Contradicting them would record a decision its own proof refutes.
	_, errs = ingest.ValidateConsent(cmpConsent("", gppOptedOut, map[string]string{"advertising": "granted"}), "", now, cmpsig.Tables{})
	if diff := cmp.Diff([]string{"purposes.advertising"}, names(errs)); diff != "" {
		t.Fatalf("fields at fault (-want +got):\n%s", diff)
	}
	if !strings.Contains(errs[0].Message, "gpp") {
		t.Errorf("message %q does not name the string that disagrees", errs[0].Message)
	}
}

func TestMalformedCMPStringsNameTheirField(t *testing.T) {
	cases := []struct {
		name     string
		tcf, gpp string
		prefix   string
		want     []string
	}{
		{"truncated TC string", "CQSbk4AQSbk4ANwAAAEN", "", "", []string{"tcf"}},
		{"GPP string in tcf", gppOptedOut, "", "", []string{"tcf"}},
		{"GPP header without its section", "", "DBABLA", "", []string{"gpp"}},
		{"both, in a batch", "COx", "DBABLA~z", "consents[2]", []string{"consents[2].tcf", "consents[2].gpp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// With explicit purposes too, so that the string is the only fault.
			_, errs := ingest.ValidateConsent(cmpConsent(c.tcf, c.gpp, map[string]string{"marketing_email": "denied"}), c.prefix, now, cmpsig.Tables{})
			if diff := cmp.Diff(c.want, names(errs)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s", diff)
			}
		})
	}
	// Without explicit purposes a malformed string is still the one fault named.
	_, errs := ingest.ValidateConsent(cmpConsent("nope", "", nil), "", now, cmpsig.Tables{})
	if diff := cmp.Diff([]string{"tcf"}, names(errs)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
}

// A string that decides nothing under the table (here a US Privacy section that says
// the CCPA does not apply) with no purpose named is a submission of nothing.
func TestCMPStringsThatDecideNothingNeedAPurpose(t *testing.T) {
	_, errs := ingest.ValidateConsent(cmpConsent("", "DBABTA~1N--", nil), "", now, cmpsig.Tables{})
	if diff := cmp.Diff([]string{"purposes"}, names(errs)); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s", diff)
	}
}

func TestTheTenantsTableDecides(t *testing.T) {
	tables, err := cmpsig.ParseTables([]byte(`{"consumer": {"tcf": {"analytics": {"purposes": [1, 11]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	n, errs := ingest.ValidateConsent(cmpConsent(tcAllPurposes, "", nil), "", now, tables)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	// Purpose 11 is not consented in the string, and the tenant's table maps nothing else.
	if diff := cmp.Diff(map[string]string{"analytics": "denied"}, n.Purposes); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
}

// The GPC denial derived alongside a CMP's consent is the browser's signal, not the
// CMP's: it must not claim the CMP's strings as its proof.
func TestSignalConsentDoesNotCarryTheCMPStrings(t *testing.T) {
	n, errs := ingest.ValidateConsent(cmpConsent(tcAllPurposes, gppOptedOut, nil), "", now, cmpsig.Tables{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	s, ok := ingest.SignalConsent(n, ingest.Signals{GPC: true}, now.Add(time.Minute))
	if !ok {
		t.Fatal("no signal consent")
	}
	if s.TCFString != "" || s.GPPString != "" {
		t.Errorf("the GPC consent carries tcf %q, gpp %q", s.TCFString, s.GPPString)
	}
}
