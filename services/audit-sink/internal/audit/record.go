// Package audit turns consumed events into audit records and records into the answers of
// the read API. It does no I/O.
package audit

import (
	"time"

	"github.com/consentry/consentry/schemas"
)

// Event types as stored; the record name without its namespace.
const (
	TypeConsentChanged     = "ConsentChanged"
	TypePrivacyRequest     = "PrivacyRequest"
	TypeSuppressionChanged = "SuppressionChanged"
	TypeSuppressionLifted  = "SuppressionLifted" // a tombstone on the suppression topic
	TypeVendorReceipt      = "VendorReceipt"
)

// Record is one row of the audit log.
type Record struct {
	EventID       string
	EventType     string
	Tenant        string
	SubjectKey    string
	RequestID     string
	SourceEventID string
	OccurredAt    time.Time
	RecordedAt    time.Time
	Source        string
	PolicyVersion string
	Topic         string
	Partition     int
	Offset        int64
	SchemaID      int
	Payload       []byte
	// Details are the event's fields that identify no one, for queries and answers.
	Details map[string]any
}

// FromEvent builds the record of a decoded event.
func FromEvent(e schemas.Event) Record {
	h := e.EventHeader()
	r := Record{
		EventID: h.EventID, Tenant: h.Tenant, SubjectKey: h.SubjectKey, OccurredAt: h.OccurredAt, RecordedAt: h.RecordedAt,
		Source: h.Source, PolicyVersion: h.PolicyVersion,
		Details: map[string]any{"identifiers_sealed": h.Identifiers != nil},
	}
	switch e := e.(type) {
	case *schemas.ConsentChanged:
		r.EventType = TypeConsentChanged
		r.Details["purposes"] = e.Purposes
		// The CMP strings are the proof of the choices derived from them; they name no one.
		setIf(r.Details, "tcf_string", e.TCFString)
		setIf(r.Details, "gpp_string", e.GPPString)
	case *schemas.PrivacyRequest:
		r.EventType = TypePrivacyRequest
		r.RequestID = e.RequestID
		r.Details["request_id"] = e.RequestID
		r.Details["type"] = e.Type
		r.Details["reason"] = e.Reason
		r.Details["status"] = e.Status
		if e.DeadlineAt != nil {
			r.Details["deadline_at"] = e.DeadlineAt.UTC()
		}
		setIf(r.Details, "detail", e.Detail)
		setIf(r.Details, "jurisdiction", e.Jurisdiction)
		setIf(r.Details, "scope", e.Scope)
	case *schemas.SuppressionChanged:
		r.EventType = TypeSuppressionChanged
		r.SourceEventID = e.SourceEventID
		r.Details["email_sha256"] = e.EmailSHA256
		r.Details["scope"] = e.Scope
		r.Details["reason"] = e.Reason
		setIf(r.Details, "topic", e.Topic)
		setIf(r.Details, "source_event_id", e.SourceEventID)
	case *schemas.VendorReceipt:
		r.EventType = TypeVendorReceipt
		r.RequestID = e.RequestID
		r.SourceEventID = e.SourceEventID
		r.Details["source_event_id"] = e.SourceEventID
		r.Details["vendor"] = e.Vendor
		r.Details["action"] = e.Action
		r.Details["outcome"] = e.Outcome
		r.Details["attempts"] = e.Attempts
		setIf(r.Details, "request_id", e.RequestID)
		setIf(r.Details, "vendor_reference", e.VendorReference)
		setIf(r.Details, "detail", e.Detail)
		if e.HTTPStatus != 0 {
			r.Details["http_status"] = e.HTTPStatus
		}
	}
	return r
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
