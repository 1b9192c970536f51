package hubspot

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// TestClassifyUnsubscribe covers replies the simulator's v4 endpoint never gives, such
// as the "already unsubscribed" error integrations report (docs/vendors/hubspot.md).
func TestClassifyUnsubscribe(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		want     vendor.Outcome
		wantKind vendor.Kind
		retry    time.Duration
	}{
		{name: "applied, not verbose", status: 200, want: vendor.Delivered},
		{name: "applied", status: 200, body: `{"status":"COMPLETE","results":[{"setStatusSuccessReason":"UNSUBSCRIBE_FROM_ALL_OCCURRED"}]}`, want: vendor.Delivered},
		{name: "no change", status: 200, body: `{"status":"COMPLETE","results":[{"setStatusSuccessReason":"NO_STATUS_CHANGE"}]}`, want: vendor.AlreadyDone},
		{name: "already unsubscribed", status: 400, body: `{"status":"error","message":"a@example.com is already unsubscribed from subscription 42","category":"VALIDATION_ERROR"}`, want: vendor.AlreadyDone},
		{name: "other 400", status: 400, body: `{"status":"error","message":"channel is required","category":"VALIDATION_ERROR"}`, wantKind: vendor.Permanent},
		{name: "already unsubscribed but 500", status: 500, body: `{"message":"already unsubscribed"}`, wantKind: vendor.Transient},
		{name: "unreadable success", status: 200, body: `<html>`, wantKind: vendor.Transient},
		{name: "throttled", status: 429, header: http.Header{"Retry-After": {"3"}}, body: `{"errorType":"RATE_LIMIT","policyName":"DAILY"}`, wantKind: vendor.Throttled, retry: 3 * time.Second},
		{name: "auth", status: 401, body: `{"category":"INVALID_AUTHENTICATION"}`, wantKind: vendor.Auth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := classifyUnsubscribe(&vendorhttp.Response{StatusCode: tc.status, Header: tc.header, Body: []byte(tc.body)}, now)
			if tc.wantKind != "" {
				e, ok := err.(*vendor.Error)
				if !ok || e.Kind != tc.wantKind || e.RetryAfter != tc.retry {
					t.Fatalf("error = %#v, want kind %s retry %v", err, tc.wantKind, tc.retry)
				}
				if e.Msg == "" || strings.ContainsRune(e.Error(), '@') {
					t.Errorf("error %q: want a code, never the message", e)
				}
				return
			}
			if err != nil || res.Outcome != tc.want {
				t.Errorf("got %+v, %v; want %s", res, err, tc.want)
			}
		})
	}
}
