package fanout_test

import (
	"testing"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

func TestShreds(t *testing.T) {
	dead := []fanout.Unfinished{{Instance: "posthog", Action: "delete_user", Outcome: "dead_lettered", HTTPStatus: 400}}
	cases := []struct {
		name        string
		requestType string
		planned     int
		unfinished  []fanout.Unfinished
		previous    string
		want        bool
	}{
		{"erasure every vendor carried out", schemas.RequestErasure, 3, nil, "", true},
		{"erasure no vendor needed", schemas.RequestErasure, 0, nil, "", true},
		{"erasure a vendor did not carry out keeps the key", schemas.RequestErasure, 3, dead, "", false},
		{"erasure completed after a replayed dead letter", schemas.RequestErasure, 3, nil, schemas.StatusPartiallyCompleted, true},
		{"access", schemas.RequestAccess, 0, nil, "", false},
		{"restriction", schemas.RequestRestriction, 2, nil, "", false},
		{"objection", schemas.RequestObjection, 2, nil, "", false},
		{"rectification", schemas.RequestRectification, 1, nil, "", false},
		{"account termination", schemas.RequestAccountTermination, 0, nil, "", false},
		{"no request type", "", 0, nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := fanout.Completion{Request: fanout.Decision{Kind: fanout.KindRequest, RequestType: c.requestType},
				Planned: c.planned, Unfinished: c.unfinished, Previous: c.previous}
			if got := fanout.Shreds(comp); got != c.want {
				t.Errorf("Shreds = %v, want %v (status %s)", got, c.want, comp.Status())
			}
		})
	}
}

func TestCompletionStatusAndAnnouncement(t *testing.T) {
	dead := []fanout.Unfinished{{Instance: "hubspot", Action: "delete_user", Outcome: "dead_lettered"}}
	cases := []struct {
		name       string
		unfinished []fanout.Unfinished
		previous   string
		status     string
		announces  bool
	}{
		{"all carried out", nil, "", schemas.StatusCompleted, true},
		{"one not carried out", dead, "", schemas.StatusPartiallyCompleted, true},
		{"partial, then complete", nil, schemas.StatusPartiallyCompleted, schemas.StatusCompleted, true},
		{"partial twice is announced once", dead, schemas.StatusPartiallyCompleted, schemas.StatusPartiallyCompleted, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := fanout.Completion{Unfinished: c.unfinished, Previous: c.previous}
			if got := comp.Status(); got != c.status {
				t.Errorf("Status = %s, want %s", got, c.status)
			}
			if got := comp.Announces(); got != c.announces {
				t.Errorf("Announces = %v, want %v", got, c.announces)
			}
		})
	}
}
