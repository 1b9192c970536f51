package audit_test

import (
	"testing"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

// A consent derived from a CMP's strings keeps them in its record: they are the proof
// an auditor checks the decisions against (docs/cmp-signals.md).
func TestConsentRecordKeepsTheCMPStrings(t *testing.T) {
	e := &schemas.ConsentChanged{Header: schemas.Header{EventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", Tenant: "consumer", Source: "cmp"},
		Purposes:  map[string]string{"advertising": "denied"},
		TCFString: "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA", GPPString: "DBABLA~BVVVkkkkkpFY.YA"}
	r := audit.FromEvent(e)
	if got := r.Details["tcf_string"]; got != e.TCFString {
		t.Errorf("tcf_string = %v, want the TC string", got)
	}
	if got := r.Details["gpp_string"]; got != e.GPPString {
		t.Errorf("gpp_string = %v, want the GPP string", got)
	}
	e.TCFString, e.GPPString = "", ""
	r = audit.FromEvent(e)
	if _, ok := r.Details["tcf_string"]; ok {
		t.Error("a consent without a TC string records an empty one")
	}
	if _, ok := r.Details["gpp_string"]; ok {
		t.Error("a consent without a GPP string records an empty one")
	}
}
