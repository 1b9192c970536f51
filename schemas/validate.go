package schemas

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// canonicalUUID reports whether s is a UUID in lowercase 8-4-4-4-12 form. Hand-written
// rather than a regexp: every consumer checks several ids on every record.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isLowerHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// sha256Hex reports whether s is a SHA-256 digest in lowercase hex.
func sha256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// Validate checks what every consumer relies on: ids are UUIDs, required fields are
// there, and every string is text a database accepts (valid UTF-8, no NUL). Consumers
// call it right after decoding, so that an event that decodes but could never be
// processed is dead-lettered instead of blocking its partition. Errors name the field,
// never its value.
func Validate(e Event) error {
	v := &validator{}
	h := e.EventHeader()
	v.uuid("event_id", h.EventID)
	v.required("tenant", h.Tenant)
	v.required("source", h.Source)
	v.text("policy_version", h.PolicyVersion)
	if h.OccurredAt.IsZero() {
		v.fail("occurred_at", "is missing")
	}
	if h.RecordedAt.IsZero() {
		v.fail("recorded_at", "is missing")
	}
	switch e := e.(type) {
	case *ConsentChanged:
		v.required("subject_key", h.SubjectKey)
		if len(e.Purposes) == 0 {
			v.fail("purposes", "is empty")
		}
		for p, d := range e.Purposes {
			v.required("purposes[].purpose", p)
			if d != Granted && d != Denied {
				v.fail("purposes[].decision", `is not "granted" or "denied"`)
			}
		}
		v.text("tcf_string", e.TCFString)
		v.text("gpp_string", e.GPPString)
	case *PrivacyRequest:
		v.required("subject_key", h.SubjectKey)
		v.uuid("request_id", e.RequestID)
		v.required("type", e.Type)
		v.required("status", e.Status)
		v.text("reason", e.Reason)
		v.text("detail", e.Detail)
		v.text("jurisdiction", e.Jurisdiction)
		v.text("scope", e.Scope)
	case *SuppressionChanged:
		v.text("subject_key", h.SubjectKey)
		if !sha256Hex(e.EmailSHA256) {
			v.fail("email_sha256", "is not 64 lower-case hex digits")
		}
		v.required("scope", e.Scope)
		v.required("reason", e.Reason)
		v.text("topic", e.Topic)
		if e.SourceEventID != "" {
			v.uuid("source_event_id", e.SourceEventID)
		}
	case *VendorReceipt:
		v.required("subject_key", h.SubjectKey)
		v.uuid("source_event_id", e.SourceEventID)
		if e.RequestID != "" {
			v.uuid("request_id", e.RequestID)
		}
		v.required("vendor", e.Vendor)
		v.required("action", e.Action)
		v.required("outcome", e.Outcome)
		v.text("vendor_reference", e.VendorReference)
		v.text("detail", e.Detail)
	}
	if len(v.errs) > 0 {
		return fmt.Errorf("%s is invalid: %w", e.SchemaName(), errors.Join(v.errs...))
	}
	return nil
}

type validator struct{ errs []error }

func (v *validator) fail(field, msg string) { v.errs = append(v.errs, fmt.Errorf("%s %s", field, msg)) }

func (v *validator) text(field, s string) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		v.fail(field, "is not valid UTF-8 text")
	}
}

func (v *validator) required(field, s string) {
	if s == "" {
		v.fail(field, "is empty")
		return
	}
	v.text(field, s)
}

func (v *validator) uuid(field, s string) {
	if !canonicalUUID(s) {
		v.fail(field, "is not a UUID in canonical form")
	}
}
