// Package ingest is consent-ingest's domain: what a product service may submit, how it is
// validated, and what canonical event it becomes. It does no I/O.
package ingest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/cmp"
)

// IdentifiersInput are the personal identifiers a producer may send. They are sealed
// before anything leaves the service.
type IdentifiersInput struct {
	Email       string            `json:"email,omitempty"`
	AnonymousID string            `json:"anonymous_id,omitempty"`
	VendorIDs   map[string]string `json:"vendor_ids,omitempty"`
}

// ConsentInput is one consent change as POST /v1/consents takes it.
type ConsentInput struct {
	Tenant        string            `json:"tenant"`
	SubjectID     string            `json:"subject_id"`
	Identifiers   *IdentifiersInput `json:"identifiers,omitempty"`
	OccurredAt    string            `json:"occurred_at"`
	Source        string            `json:"source"`
	PolicyVersion string            `json:"policy_version"`
	Purposes      map[string]string `json:"purposes"`
	// TCF and GPP are a CMP's own strings (an IAB TCF v2 TC string, an IAB GPP string).
	// The purposes they map to under the tenant's table join Purposes, and the strings
	// travel with the event as proof (docs/cmp-signals.md).
	TCF string `json:"tcf,omitempty"`
	GPP string `json:"gpp,omitempty"`
}

// RequestInput is one privacy request as POST /v1/privacy-requests takes it.
type RequestInput struct {
	Tenant        string            `json:"tenant"`
	SubjectID     string            `json:"subject_id"`
	Identifiers   *IdentifiersInput `json:"identifiers,omitempty"`
	Type          string            `json:"type"`
	Reason        string            `json:"reason"`
	OccurredAt    string            `json:"occurred_at,omitempty"`
	Source        string            `json:"source,omitempty"`
	PolicyVersion string            `json:"policy_version,omitempty"`
	// Verified asserts that the submitting service verified the person (a signed-in
	// session, say); only a key with the verify permission may assert it.
	Verified bool `json:"verified,omitempty"`
	// Jurisdiction is the law the deadline counts under; the tenant's default otherwise.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Scope narrows an objection (direct_marketing, legitimate_interest) or a
	// restriction (apply, lift).
	Scope string `json:"scope,omitempty"`
}

// Jurisdictions a privacy request may be handled under.
var Jurisdictions = []string{"gdpr", "ccpa"}

// Scopes of the request types that have one; the first is the default.
var Scopes = map[string][]string{
	schemas.RequestObjection:   {schemas.ScopeDirectMarketing, schemas.ScopeLegitimateInterest},
	schemas.RequestRestriction: {schemas.ScopeApply, schemas.ScopeLift},
}

var (
	tenantPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	vendorIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Limits on sizes, generous for real ids and tight enough to keep one event small.
const (
	MaxSubjectID     = 256
	MaxOpaqueID      = 256
	MaxVendorIDs     = 32
	MaxPolicyVersion = 64
	// ClockSkew is how far in the future occurred_at may lie: producers' clocks drift.
	ClockSkew = 5 * time.Minute
)

// Normalized is a validated submission, ready to become an event.
type Normalized struct {
	Tenant        string
	SubjectID     string
	Email         string // trimmed; the hash for suppression is computed downstream
	AnonymousID   string
	VendorIDs     map[string]string
	OccurredAt    time.Time
	Source        string
	PolicyVersion string
	Purposes      map[string]string // consents only
	// TCFString and GPPString are the CMP strings a consent came with, kept as sent.
	TCFString, GPPString string
	// Requests only.
	Type, Reason, Scope, Jurisdiction string
	Verified                          bool
}

// fields collects errors under a path prefix such as "consents[2]".
type fields struct {
	prefix string
	errs   []apierror.FieldError
}

func (f *fields) add(field, format string, args ...any) {
	name := field
	if f.prefix != "" {
		name = f.prefix + "." + field
	}
	f.errs = append(f.errs, apierror.FieldError{Field: name, Message: fmt.Sprintf(format, args...)})
}

// ValidateConsent checks one consent and returns it normalised, or the fields at fault
// (prefixed by prefix, e.g. "consents[2]"). A TC or GPP string is mapped by the tenant's
// table in tables; a purpose the submission names and the strings also decide must agree
// with them, since the strings are kept as the proof of the event's decisions.
func ValidateConsent(in ConsentInput, prefix string, now time.Time, tables cmp.Tables) (Normalized, []apierror.FieldError) {
	f := &fields{prefix: prefix}
	n := common(f, in.Tenant, in.SubjectID, in.Identifiers)
	n.OccurredAt = occurredAt(f, in.OccurredAt, true, now)
	n.Source = oneOf(f, "source", in.Source, schemas.Sources, true)
	n.PolicyVersion = policyVersion(f, in.PolicyVersion, true)
	derived, signalsOK := cmpSignals(f, in, tables)
	n.TCFString, n.GPPString = in.TCF, in.GPP
	switch {
	case len(in.Purposes) > 0 || len(derived) > 0 || !signalsOK:
	case in.TCF != "" || in.GPP != "":
		f.add("purposes", "is required: the tcf and gpp strings sent decide no purpose under the tenant's table; name at least one purpose")
	default:
		f.add("purposes", "is required: name at least one purpose")
	}
	n.Purposes = make(map[string]string, len(in.Purposes)+len(derived))
	for _, p := range sortedKeys(in.Purposes) {
		d := in.Purposes[p]
		switch {
		case !contains(schemas.Purposes, p):
			f.add("purposes."+p, "is not a known purpose; known purposes are %s", strings.Join(schemas.Purposes, ", "))
		case d != schemas.Granted && d != schemas.Denied:
			f.add("purposes."+p, `must be "granted" or "denied"`)
		case p == schemas.PurposeEssential && d == schemas.Denied:
			f.add("purposes.essential", "cannot be denied: essential processing is not optional")
		default:
			n.Purposes[p] = d
		}
	}
	for _, p := range sortedKeys(derived) {
		d := derived[p]
		switch explicit, named := n.Purposes[p]; {
		case named && explicit != d.Decision:
			f.add("purposes."+p, "is %q, but the %s string sent with it says %q; send what the CMP recorded, or leave the purpose out",
				explicit, d.From, d.Decision)
		case !named:
			n.Purposes[p] = d.Decision
		}
	}
	return n, f.errs
}

// cmpSignals parses the CMP strings of a consent and maps them by the tenant's table;
// ok is false when a string is malformed (its field then holds the error).
func cmpSignals(f *fields, in ConsentInput, tables cmp.Tables) (map[string]cmp.Decision, bool) {
	var (
		tc *cmp.TCF
		g  *cmp.GPP
		ok = true
	)
	if in.TCF != "" {
		if t, err := cmp.ParseTCF(in.TCF); err != nil {
			f.add("tcf", "%v", err)
			ok = false
		} else {
			tc = &t
		}
	}
	if in.GPP != "" {
		if parsed, err := cmp.ParseGPP(in.GPP); err != nil {
			f.add("gpp", "%v", err)
			ok = false
		} else {
			g = &parsed
		}
	}
	if !ok || (tc == nil && g == nil) {
		return nil, ok
	}
	return tables.For(in.Tenant).Derive(tc, g), true
}

// ValidateRequest checks one privacy request. occurred_at defaults to now, source to
// "api", policy_version to the current one, jurisdiction to the tenant's and scope to
// the type's first.
func ValidateRequest(in RequestInput, now time.Time, currentPolicy, defaultJurisdiction string) (Normalized, []apierror.FieldError) {
	f := &fields{}
	n := common(f, in.Tenant, in.SubjectID, in.Identifiers)
	n.Type = oneOf(f, "type", in.Type, schemas.RequestTypes, true)
	n.Reason = oneOf(f, "reason", in.Reason, schemas.RequestReasons, true)
	n.Verified = in.Verified
	n.Jurisdiction = defaultJurisdiction
	if in.Jurisdiction != "" {
		n.Jurisdiction = oneOf(f, "jurisdiction", in.Jurisdiction, Jurisdictions, true)
	}
	switch scopes, ok := Scopes[n.Type]; {
	case ok && in.Scope == "":
		n.Scope = scopes[0]
	case ok:
		n.Scope = oneOf(f, "scope", in.Scope, scopes, true)
	case in.Scope != "" && n.Type != "":
		f.add("scope", "applies only to objection and restriction requests")
	}
	if in.OccurredAt == "" {
		n.OccurredAt = now
	} else {
		n.OccurredAt = occurredAt(f, in.OccurredAt, true, now)
	}
	n.Source = schemas.SourceAPI
	if in.Source != "" {
		n.Source = oneOf(f, "source", in.Source, schemas.Sources, true)
	}
	n.PolicyVersion = currentPolicy
	if in.PolicyVersion != "" {
		n.PolicyVersion = policyVersion(f, in.PolicyVersion, true)
	}
	return n, f.errs
}

func common(f *fields, tenant, subjectID string, ids *IdentifiersInput) Normalized {
	n := Normalized{Tenant: tenant, SubjectID: subjectID}
	switch {
	case tenant == "":
		f.add("tenant", "is required")
	case !tenantPattern.MatchString(tenant):
		f.add("tenant", "must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	switch {
	case subjectID == "":
		f.add("subject_id", "is required")
	case len(subjectID) > MaxSubjectID:
		f.add("subject_id", "is longer than %d bytes", MaxSubjectID)
	case !printable(subjectID):
		f.add("subject_id", "must be printable UTF-8 without control characters")
	}
	if ids == nil {
		return n
	}
	if ids.Email != "" {
		n.Email = strings.TrimSpace(ids.Email)
		if !pseudonym.PlausibleEmail(n.Email) {
			f.add("identifiers.email", "is not an email address")
		}
	}
	if ids.AnonymousID != "" {
		n.AnonymousID = ids.AnonymousID
		if len(ids.AnonymousID) > MaxOpaqueID || !printable(ids.AnonymousID) {
			f.add("identifiers.anonymous_id", "must be printable and at most %d bytes", MaxOpaqueID)
		}
	}
	if len(ids.VendorIDs) > MaxVendorIDs {
		f.add("identifiers.vendor_ids", "has more than %d entries", MaxVendorIDs)
	}
	if len(ids.VendorIDs) > 0 {
		n.VendorIDs = map[string]string{}
	}
	for _, vendor := range sortedKeys(ids.VendorIDs) {
		id := ids.VendorIDs[vendor]
		switch {
		case !vendorIDPattern.MatchString(vendor):
			f.add("identifiers.vendor_ids", "has a key that is not a vendor name (lower-case letters, digits, '_' or '-')")
		case id == "" || len(id) > MaxOpaqueID || !printable(id):
			f.add("identifiers.vendor_ids."+vendor, "must be non-empty, printable and at most %d bytes", MaxOpaqueID)
		default:
			n.VendorIDs[vendor] = id
		}
	}
	return n
}

func occurredAt(f *fields, s string, required bool, now time.Time) time.Time {
	if s == "" {
		if required {
			f.add("occurred_at", "is required (RFC 3339, e.g. 2026-11-28T21:04:05Z)")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		f.add("occurred_at", "must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-28T21:04:05Z")
		return time.Time{}
	}
	t = t.UTC() // the year is the instant's, not that of the producer's zone
	switch {
	case t.After(now.Add(ClockSkew)):
		f.add("occurred_at", "lies in the future")
	case t.Year() < 2000:
		f.add("occurred_at", "is before the year 2000")
	}
	return t
}

func policyVersion(f *fields, s string, required bool) string {
	switch {
	case s == "" && required:
		f.add("policy_version", "is required: the version of the privacy policy in force, e.g. 2025-04-09")
	case len(s) > MaxPolicyVersion || !printable(s):
		f.add("policy_version", "must be printable and at most %d bytes", MaxPolicyVersion)
	}
	return s
}

func oneOf(f *fields, field, v string, allowed []string, required bool) string {
	switch {
	case v == "" && required:
		f.add(field, "is required; one of %s", strings.Join(allowed, ", "))
	case v != "" && !contains(allowed, v):
		f.add(field, "must be one of %s", strings.Join(allowed, ", "))
	}
	return v
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
