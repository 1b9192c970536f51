package client

import "time"

// The structs below follow the services' OpenAPI documents (the schema each names);
// devstack's TestClientStructsMatchTheOpenAPIDocuments holds them to those documents.

// Identifiers are a person's identifiers (schema Identifiers); consent-ingest seals them
// before anything leaves it.
type Identifiers struct {
	Email       string            `json:"email,omitempty"`
	AnonymousID string            `json:"anonymous_id,omitempty"`
	VendorIDs   map[string]string `json:"vendor_ids,omitempty"`
}

// Consent is one consent change (schema ConsentInput of consent-ingest).
type Consent struct {
	Tenant        string       `json:"tenant"`
	SubjectID     string       `json:"subject_id"`
	Identifiers   *Identifiers `json:"identifiers,omitempty"`
	OccurredAt    time.Time    `json:"occurred_at"`
	Source        string       `json:"source"` // e.g. "cmp", "preference_center", "api"
	PolicyVersion string       `json:"policy_version"`
	// Purposes maps a purpose (analytics, advertising, marketing_email…) to "granted"
	// or "denied".
	Purposes map[string]string `json:"purposes"`
	// TCF is the IAB TCF v2.2 TC string and GPP the IAB GPP string of the CMP that
	// collected the consent, when there is one.
	TCF string `json:"tcf,omitempty"`
	GPP string `json:"gpp,omitempty"`
}

// Decisions of a purpose.
const (
	Granted = "granted"
	Denied  = "denied"
)

// ConsentsAccepted is POST /v1/consents's answer (schema ConsentsAccepted).
type ConsentsAccepted struct {
	EventIDs       []string `json:"event_ids"`
	SignalEventIDs []string `json:"signal_event_ids,omitempty"`
}

// PrivacyRequest is a privacy request as submitted (schema RequestInput).
type PrivacyRequest struct {
	Tenant        string       `json:"tenant"`
	SubjectID     string       `json:"subject_id"`
	Identifiers   *Identifiers `json:"identifiers,omitempty"`
	Type          string       `json:"type"`   // erasure, access, rectification, restriction, portability, objection
	Reason        string       `json:"reason"` // user_request, child_under_16, account_closure
	OccurredAt    *time.Time   `json:"occurred_at,omitempty"`
	Source        string       `json:"source,omitempty"`
	PolicyVersion string       `json:"policy_version,omitempty"`
	// Verified asserts that the product verified the person; the key needs the verify
	// permission.
	Verified     bool   `json:"verified,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// RequestAccepted is the answer to a submission or a move of a request (schema
// RequestAnswer).
type RequestAccepted struct {
	RequestID    string     `json:"request_id"`
	EventIDs     []string   `json:"event_ids"`
	Status       string     `json:"status"`
	Type         string     `json:"type"`
	Jurisdiction string     `json:"jurisdiction"`
	Scope        string     `json:"scope,omitempty"`
	ReceivedAt   time.Time  `json:"received_at"`
	DeadlineAt   *time.Time `json:"deadline_at,omitempty"`
}

// RequestStatus is where a privacy request stands (audit-sink's schema RequestView,
// without the raw log entries).
type RequestStatus struct {
	RequestID      string           `json:"request_id"`
	Tenant         string           `json:"tenant"`
	SubjectKey     string           `json:"subject_key"`
	Type           string           `json:"type"`
	Reason         string           `json:"reason"`
	Scope          string           `json:"scope,omitempty"`
	Jurisdiction   string           `json:"jurisdiction,omitempty"`
	Status         string           `json:"status"`
	ReceivedAt     time.Time        `json:"received_at"`
	DeadlineAt     *time.Time       `json:"deadline_at,omitempty"`
	DeadlineStatus string           `json:"deadline_status,omitempty"`
	ClosedAt       *time.Time       `json:"closed_at,omitempty"`
	Extensions     []Extension      `json:"extensions"`
	Transitions    []Transition     `json:"transitions"`
	Vendors        []VendorProgress `json:"vendors"`
}

// Extension is one extension of a request's deadline.
type Extension struct {
	At         time.Time  `json:"at"`
	DeadlineAt *time.Time `json:"deadline_at,omitempty"`
	Reason     string     `json:"reason"`
	EventID    string     `json:"event_id"`
}

// Transition is one status a request went through.
type Transition struct {
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
	Detail  string    `json:"detail,omitempty"`
	EventID string    `json:"event_id"`
}

// VendorProgress is what one vendor did with a request.
type VendorProgress struct {
	Vendor   string    `json:"vendor"`
	Action   string    `json:"action"`
	Status   string    `json:"status"`
	Receipts []Receipt `json:"receipts"`
}

// Receipt is one vendor receipt of a request.
type Receipt struct {
	EventID         string    `json:"event_id"`
	Outcome         string    `json:"outcome"`
	At              time.Time `json:"at"`
	Attempts        int       `json:"attempts"`
	HTTPStatus      int       `json:"http_status,omitempty"`
	VendorReference string    `json:"vendor_reference,omitempty"`
	Detail          string    `json:"detail,omitempty"`
}

// SubjectConsent is a subject's current decision per purpose (schema SubjectConsent).
type SubjectConsent struct {
	Tenant     string                  `json:"tenant"`
	SubjectKey string                  `json:"subject_key"`
	Purposes   map[string]PurposeState `json:"purposes"`
}

// PurposeState is one purpose's current decision and the event that made it (schema
// PurposeState).
type PurposeState struct {
	Decision      string         `json:"decision"`
	EventID       string         `json:"event_id"`
	Source        string         `json:"source"`
	PolicyVersion string         `json:"policy_version"`
	OccurredAt    time.Time      `json:"occurred_at"`
	RecordedAt    time.Time      `json:"recorded_at"`
	AuditSeq      int64          `json:"audit_seq"`
	ChainPosition *ChainPosition `json:"chain_position,omitempty"`
}

// ChainPosition is where a record sits in the audit log's hash chains.
type ChainPosition struct {
	Chain    string `json:"chain"`
	ChainSeq int64  `json:"chain_seq"`
}

// Suppression is whether an address is suppressed, per tenant the key may see
// (GET /v1/suppressions/{email_sha256}).
type Suppression struct {
	EmailSHA256 string              `json:"email_sha256"`
	Suppressed  bool                `json:"suppressed"`
	Tenants     []TenantSuppression `json:"tenants"`
}

// TenantSuppression is one tenant's suppression record of an address.
type TenantSuppression struct {
	Tenant        string    `json:"tenant"`
	EmailSHA256   string    `json:"email_sha256"`
	SubjectKey    string    `json:"subject_key,omitempty"`
	Suppressed    bool      `json:"suppressed"`
	Reason        string    `json:"reason"`
	Scope         string    `json:"scope"`
	Source        string    `json:"source"`
	SourceEventID string    `json:"source_event_id,omitempty"`
	Erased        bool      `json:"erased"`
	ChangedAt     time.Time `json:"changed_at"`
}

// UnsubscribeLinkInput asks for a signed unsubscribe link.
type UnsubscribeLinkInput struct {
	Tenant    string `json:"tenant"`
	SubjectID string `json:"subject_id"`
	Email     string `json:"email"`
	List      string `json:"list,omitempty"`
}

// UnsubscribeLink is a signed link and the headers a sender adds to the mail (RFC 2369
// List-Unsubscribe, RFC 8058 List-Unsubscribe-Post).
type UnsubscribeLink struct {
	ID                  string    `json:"id"`
	ExpiresAt           time.Time `json:"expires_at"`
	URL                 string    `json:"url"`
	ListUnsubscribe     string    `json:"list_unsubscribe"`
	ListUnsubscribePost string    `json:"list_unsubscribe_post"`
}
