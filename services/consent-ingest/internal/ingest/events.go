package ingest

import (
	"time"

	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
)

// Identifiers returns what gets sealed: the subject id itself travels sealed too, since
// vendors that know a person by the product's user id need it.
func (n Normalized) Identifiers() seal.Identifiers {
	return seal.Identifiers{SubjectID: n.SubjectID, Email: n.Email, AnonymousID: n.AnonymousID, VendorIDs: n.VendorIDs}
}

// Header builds the common event fields.
func (n Normalized) Header(eventID, subjectKey string, recordedAt time.Time, sealed *schemas.Sealed) schemas.Header {
	return schemas.Header{
		EventID:       eventID,
		Tenant:        n.Tenant,
		SubjectKey:    subjectKey,
		OccurredAt:    n.OccurredAt,
		RecordedAt:    recordedAt,
		Source:        n.Source,
		PolicyVersion: n.PolicyVersion,
		Identifiers:   sealed,
	}
}

// ConsentEvent is the canonical event of a validated consent.
func (n Normalized) ConsentEvent(h schemas.Header) *schemas.ConsentChanged {
	return &schemas.ConsentChanged{Header: h, Purposes: n.Purposes, TCFString: n.TCFString, GPPString: n.GPPString}
}

// RequestEvent is the first event of a validated privacy request; the request is named
// by the id of that first event.
func (n Normalized) RequestEvent(h schemas.Header) *schemas.PrivacyRequest {
	return &schemas.PrivacyRequest{Header: h, RequestID: h.EventID, Type: n.Type, Reason: n.Reason, Status: schemas.StatusReceived}
}
