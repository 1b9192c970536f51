package schemas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/schemas"
)

func TestValidateAcceptsTheFixtures(t *testing.T) {
	for name, e := range fixtures() {
		if err := schemas.Validate(e); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateNamesWhatIsWrong(t *testing.T) {
	cases := map[string]struct {
		mutate func(map[string]schemas.Event)
		event  string
		field  string
	}{
		"event id": {func(f map[string]schemas.Event) { f["ConsentChanged"].EventHeader().EventID = "42" }, "ConsentChanged", "event_id"},
		"upper-case uuid": {func(f map[string]schemas.Event) {
			f["ConsentChanged"].EventHeader().EventID = strings.ToUpper(f["ConsentChanged"].EventHeader().EventID)
		}, "ConsentChanged", "event_id"},
		"dash moved": {func(f map[string]schemas.Event) {
			f["ConsentChanged"].EventHeader().EventID = "0190c2a1-7b3c7-b3c-8d41-2f7a9e5c1d04"
		}, "ConsentChanged", "event_id"},
		"non-hex digit": {func(f map[string]schemas.Event) {
			f["ConsentChanged"].EventHeader().EventID = "0190c2a1-7b3c-7b3c-8d41-2f7a9e5c1d0g"
		}, "ConsentChanged", "event_id"},
		"no tenant":     {func(f map[string]schemas.Event) { f["ConsentChanged"].EventHeader().Tenant = "" }, "ConsentChanged", "tenant"},
		"NUL in source": {func(f map[string]schemas.Event) { f["ConsentChanged"].EventHeader().Source = "cmp\x00" }, "ConsentChanged", "source"},
		"bad UTF-8":     {func(f map[string]schemas.Event) { f["PrivacyRequest"].(*schemas.PrivacyRequest).Detail = "\xff" }, "PrivacyRequest", "detail"},
		"no purposes":   {func(f map[string]schemas.Event) { f["ConsentChanged"].(*schemas.ConsentChanged).Purposes = nil }, "ConsentChanged", "purposes"},
		"decision": {func(f map[string]schemas.Event) {
			f["ConsentChanged"].(*schemas.ConsentChanged).Purposes["analytics"] = "maybe"
		}, "ConsentChanged", "purposes[].decision"},
		"request id": {func(f map[string]schemas.Event) { f["PrivacyRequest"].(*schemas.PrivacyRequest).RequestID = "" }, "PrivacyRequest", "request_id"},
		"email hash": {func(f map[string]schemas.Event) {
			f["SuppressionChanged"].(*schemas.SuppressionChanged).EmailSHA256 = "ada@example.com"
		}, "SuppressionChanged", "email_sha256"},
		"email hash upper-case": {func(f map[string]schemas.Event) {
			s := f["SuppressionChanged"].(*schemas.SuppressionChanged)
			s.EmailSHA256 = strings.ToUpper(s.EmailSHA256)
		}, "SuppressionChanged", "email_sha256"},
		"receipt source": {func(f map[string]schemas.Event) { f["VendorReceipt"].(*schemas.VendorReceipt).SourceEventID = "x" }, "VendorReceipt", "source_event_id"},
		"recorded_at":    {func(f map[string]schemas.Event) { f["VendorReceipt"].EventHeader().RecordedAt = time.Time{} }, "VendorReceipt", "recorded_at"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixtures()
			c.mutate(f)
			err := schemas.Validate(f[c.event])
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %v does not name %s", err, c.field)
			}
			if strings.Contains(err.Error(), "ada@example.com") {
				t.Error("the error repeats the value")
			}
		})
	}
}
