package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/dispatch"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// announcer writes the PrivacyRequest event that closes a request's lifecycle at the
// vendors: completed, or partially_completed naming each vendor that did not carry it out.
type announcer struct {
	serde dispatch.Encoder
	topic string // the requests topic
	now   func() time.Time
}

// message encodes c's status event. Its id derives from the request and the status, so a
// re-publish (a crash between the relay's publish and its delete) is one event in effect.
func (a announcer) message(c fanout.Completion) (kafka.Message, error) {
	r := c.Request
	status := c.Status()
	id, err := eventid.Derive(r.RequestID, "status/"+status)
	if err != nil {
		return kafka.Message{}, err
	}
	now := a.now().UTC()
	return a.serde.EncodeMessage(a.topic, r.SubjectKey, &schemas.PrivacyRequest{
		Header: schemas.Header{EventID: id, Tenant: r.Tenant, SubjectKey: r.SubjectKey, OccurredAt: now, RecordedAt: now,
			Source: schemas.SourceConsentry, PolicyVersion: r.PolicyVersion, Identifiers: r.Sealed},
		RequestID: r.RequestID, Type: r.RequestType, Reason: r.Reason, Status: status, DeadlineAt: r.DeadlineAt,
		Detail: completionDetail(c), Jurisdiction: r.Jurisdiction, Scope: r.Scope,
	})
}

// completionDetail says why the request is completed, from vendor names, actions,
// outcomes and HTTP statuses only: never an identifier, nor a vendor's error text.
func completionDetail(c fanout.Completion) string {
	var detail string
	switch {
	case c.Planned == 0 && fanout.Shreds(c):
		detail = "no vendor action required"
	case c.Planned == 0:
		return "no vendor action required for this request type"
	case len(c.Unfinished) == 0:
		detail = fmt.Sprintf("all %d vendor actions carried out", c.Planned)
	default:
		parts := make([]string, len(c.Unfinished))
		for i, u := range c.Unfinished {
			parts[i] = u.Instance + " " + u.Action + ": " + u.Outcome
			if u.HTTPStatus != 0 {
				parts[i] += fmt.Sprintf(" (HTTP %d)", u.HTTPStatus)
			}
		}
		detail = fmt.Sprintf("%d of %d vendor actions not carried out: %s", len(c.Unfinished), c.Planned, strings.Join(parts, "; "))
	}
	if c.AtDeadline {
		detail = "closed at its legal deadline; " + detail
	}
	if fanout.Shreds(c) {
		detail += "; the subject's data key is destroyed (crypto-shredding): no sealed copy of their identifiers opens any more"
	}
	return detail
}
