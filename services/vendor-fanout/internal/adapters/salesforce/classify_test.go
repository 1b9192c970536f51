package salesforce

import (
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendorhttp"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

func TestClassifyError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		kind   vendor.Kind
		msg    string
	}{
		{"limit exceeded", 403, nil, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, vendor.Throttled, "REQUEST_LIMIT_EXCEEDED"},
		{"limit exceeded ignores Retry-After", 403, http.Header{"Retry-After": {"9"}}, `[{"errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, vendor.Throttled, "REQUEST_LIMIT_EXCEEDED"},
		{"other 403", 403, nil, `[{"message":"no access","errorCode":"INSUFFICIENT_ACCESS"}]`, vendor.Auth, "INSUFFICIENT_ACCESS"},
		{"expired session", 401, nil, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, vendor.Auth, "INVALID_SESSION_ID"},
		{"several errors", 400, nil, `[{"message":"a@example.com bad","errorCode":"INVALID_EMAIL_ADDRESS"},{"errorCode":"X"}]`, vendor.Permanent, "INVALID_EMAIL_ADDRESS (+1 more)"},
		{"unreadable 403", 403, nil, `<html>`, vendor.Auth, "Forbidden"},
		{"outage", 503, nil, `[{"errorCode":"SERVER_UNAVAILABLE"}]`, vendor.Transient, "SERVER_UNAVAILABLE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := classifyError(&vendorhttp.Response{StatusCode: tc.status, Header: tc.header, Body: []byte(tc.body)}, time.Now())
			if e.Kind != tc.kind || e.Msg != tc.msg || e.RetryAfter != 0 || e.HTTPStatus != tc.status {
				t.Errorf("got %+v, want kind %s, msg %q, no RetryAfter", e, tc.kind, tc.msg)
			}
		})
	}
}
