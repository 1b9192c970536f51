package posthog

import (
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// TestClassifyBulk covers answers the simulator never gives, deletion_errors above all.
func TestClassifyBulk(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		want     vendor.Outcome
		wantKind vendor.Kind
	}{
		{name: "deleted", status: 202, body: `{"persons_found":1,"persons_deleted":1,"events_queued_for_deletion":true,"recordings_queued_for_deletion":true,"deletion_errors":[]}`, want: vendor.Accepted},
		{name: "queued, not yet deleted", status: 202, body: `{"persons_found":1,"persons_deleted":0,"persons_queued_for_deletion":1,"events_queued_for_deletion":true,"recordings_queued_for_deletion":true,"deletion_errors":[]}`, want: vendor.Accepted},
		{name: "found but neither deleted nor queued", status: 202, body: `{"persons_found":1,"persons_deleted":0,"events_queued_for_deletion":true,"recordings_queued_for_deletion":true,"deletion_errors":[]}`, wantKind: vendor.Transient},
		{name: "events not queued", status: 202, body: `{"persons_found":1,"persons_deleted":1,"events_queued_for_deletion":false,"recordings_queued_for_deletion":true,"deletion_errors":[]}`, wantKind: vendor.Transient},
		{name: "recordings not said", status: 202, body: `{"persons_found":1,"persons_deleted":1,"events_queued_for_deletion":true,"deletion_errors":[]}`, wantKind: vendor.Transient},
		{name: "older PostHog: empty 202", status: 202, body: ``, want: vendor.Accepted},
		{name: "already gone", status: 202, body: `{"persons_found":0,"persons_deleted":0,"deletion_errors":[]}`, want: vendor.AlreadyDone},
		{name: "deletion errors", status: 202, body: `{"persons_found":1,"persons_deleted":0,"deletion_errors":[{"person_uuid":"0190f1e2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"}]}`, wantKind: vendor.Transient},
		{name: "no summary", status: 202, body: `{}`, wantKind: vendor.Transient},
		{name: "unreadable", status: 202, body: `not json`, wantKind: vendor.Transient},
		{name: "validation", status: 400, body: `{"type":"validation_error","code":"invalid_input","detail":"x"}`, wantKind: vendor.Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := classifyBulk(&vendorhttp.Response{StatusCode: tc.status, Body: []byte(tc.body)}, time.Now())
			if tc.wantKind != "" {
				e, ok := err.(*vendor.Error)
				if !ok || e.Kind != tc.wantKind {
					t.Fatalf("error = %#v, want kind %s", err, tc.wantKind)
				}
				return
			}
			if err != nil || res.Outcome != tc.want {
				t.Errorf("got %+v, %v; want %s", res, err, tc.want)
			}
		})
	}
}
