package ingest_test

import (
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
	cmpsig "github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
)

// The fuzz targets below take a request body as the API does — strict decoding, then
// validation — and check what the API promises: nothing panics, every error names a
// field and never repeats the email, and whatever validates obeys the documented rules
// and makes an event that consumers accept. The clock is the fixed now of the table
// tests, so a corpus entry's occurred_at stays in (or out of) range for ever.

const fuzzPolicy = "2025-04-09"

// Copies of the documented patterns, so that a change to either side shows up here.
var (
	fuzzTenant   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	fuzzVendorID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

func FuzzConsent(f *testing.F) {
	for _, s := range []struct {
		body  string
		batch bool
	}{
		{`{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":" ada@example.com ","anonymous_id":"a_77f","vendor_ids":{"amplitude":"u_8d41"}},"occurred_at":"2026-11-28T21:04:05Z","source":"cmp","policy_version":"2025-04-09","purposes":{"analytics":"denied","advertising":"denied","marketing_email":"denied"}}`, false},
		{`{"tenant":"acme.eu-1","subject_id":"42","occurred_at":"2026-11-28T22:04:05.123456789+01:00","source":"gpc","policy_version":"v7","purposes":{"essential":"granted","sale_share":"denied"}}`, true},
		{`{"tenant":"consumer","subject_id":"u","occurred_at":"2000-01-01T00:00:00Z","source":"import","policy_version":"1","purposes":{"essential":"denied"}}`, false},
		{`{"tenant":"Acme Corp","subject_id":"","identifiers":{"email":"ada-at-example.com","vendor_ids":{"Amplitude!":"x","posthog":""}},"occurred_at":"2026-11-28T21:04:05","source":"carrier-pigeon","purposes":{"telepathy":"maybe"}}`, false},
		{`{"tenant":"consumer","subject_id":"u\u0000","identifiers":{"email":"a@b@example.com"},"occurred_at":"2126-11-28T21:04:05Z","source":"cmp","policy_version":"2025-04-09","purposes":{}}`, true},
		{`{"tenant":"consumer","identifiers":{"email":"ada@example.com"},"purposes":{"ada@example.com":"denied"}}`, false},
		{`{"tenant":"consumer","purposes":{"analytics":7}}`, true},
		// CMP strings (docs/cmp-signals.md): alone, with a purpose that agrees, malformed.
		{`{"tenant":"consumer","subject_id":"u","occurred_at":"2026-11-28T21:04:05Z","source":"cmp","policy_version":"1","tcf":"COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA","gpp":"DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"}`, false},
		{`{"tenant":"consumer","subject_id":"u","occurred_at":"2026-11-28T21:04:05Z","source":"cmp","policy_version":"1","gpp":"DBABLA~BVVVkkkkkpFY.YA","purposes":{"advertising":"denied"}}`, true},
		{`{"tenant":"consumer","subject_id":"u","occurred_at":"2026-11-28T21:04:05Z","source":"cmp","policy_version":"1","tcf":"CQSbk4AQ","gpp":"DBABLA~z"}`, false},
		{`{"tenant":"consumer","tenant_id":"x"}`, false},
		{`{"":1}`, false},
		{`{"tenant":"consumer"} {"tenant":"consumer"}`, false},
		{`{"tenant":"cons`, false},
		{`[]`, false},
		{`null`, true},
		{``, false},
	} {
		f.Add([]byte(s.body), s.batch)
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		prefix := ""
		if batch {
			prefix = "consents[3]"
		}
		var in ingest.ConsentInput
		if err := jsonstrict.Decode(body, prefix, &in); err != nil {
			checkDecodeError(t, err, prefix, body)
			return
		}
		n, errs := ingest.ValidateConsent(in, prefix, now, cmpsig.Tables{})
		checkFieldErrors(t, errs, prefix, body)
		if len(errs) > 0 {
			return
		}
		checkCommon(t, n, in.Tenant, in.SubjectID, in.Identifiers)
		if in.OccurredAt == "" {
			t.Errorf("accepted a consent without occurred_at")
		}
		checkOccurredAt(t, n.OccurredAt, in.OccurredAt)
		checkSource(t, n.Source)
		checkPolicyVersion(t, n.PolicyVersion)
		if n.PolicyVersion != in.PolicyVersion {
			t.Errorf("policy_version %q became %q", in.PolicyVersion, n.PolicyVersion)
		}
		// Named purposes stay as named; only a CMP string adds others (docs/cmp-signals.md).
		for p, d := range in.Purposes {
			if n.Purposes[p] != d {
				t.Errorf("purpose %q: %q became %q", p, d, n.Purposes[p])
			}
		}
		if len(n.Purposes) == 0 || (in.TCF == "" && in.GPP == "" && !maps.Equal(n.Purposes, in.Purposes)) {
			t.Errorf("purposes %v became %v", in.Purposes, n.Purposes)
		}
		if n.TCFString != in.TCF || n.GPPString != in.GPP {
			t.Errorf("CMP strings %q, %q became %q, %q", in.TCF, in.GPP, n.TCFString, n.GPPString)
		}
		for p, d := range n.Purposes {
			if !slices.Contains(schemas.Purposes, p) || (d != "granted" && d != "denied") || (p == "essential" && d == "denied") {
				t.Errorf("accepted purpose %q: %q", p, d)
			}
		}
		if n.Type != "" || n.Reason != "" {
			t.Errorf("a consent has type %q, reason %q", n.Type, n.Reason)
		}
		checkEvent(t, n.ConsentEvent(fuzzHeader(n)))
	})
}

func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"ada@example.com"},"type":"erasure","reason":"user_request"}`,
		`{"tenant":"consumer","subject_id":"u_8d41","type":"access","reason":"child_under_16","occurred_at":"2026-11-28T21:04:05Z","source":"support","policy_version":"2024-01-01"}`,
		`{"tenant":"0","subject_id":"é","identifiers":{"anonymous_id":"a_1","vendor_ids":{"salesforce":"003xx"}},"type":"portability","reason":"account_closure","occurred_at":"1999-12-31T23:59:59Z"}`,
		`{"tenant":"consumer","subject_id":"u","type":"delete-everything","reason":"","source":"carrier-pigeon","policy_version":"\u0007"}`,
		`{"tenant":"consumer","subject_id":"u","identifiers":{"email":"not-an-email"},"type":"erasure","reason":"user_request","occurred_at":"tomorrow"}`,
		`{"tenant":"consumer","subject_id":"u","identifiers":{"email":"ada@example.com","ada@example.com":true},"type":"erasure"}`,
		`{"tenant":"consumer","subject_id":"u","type":["erasure"]}`,
		`{"tenant":"consumer","subject_id":"u","purposes":{"analytics":"denied"}}`,
		`{"":"x"}`,
		`"erasure"`,
		`{`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in ingest.RequestInput
		if err := jsonstrict.Decode(body, "", &in); err != nil {
			checkDecodeError(t, err, "", body)
			return
		}
		n, errs := ingest.ValidateRequest(in, now, fuzzPolicy, "gdpr")
		checkFieldErrors(t, errs, "", body)
		if len(errs) > 0 {
			return
		}
		checkCommon(t, n, in.Tenant, in.SubjectID, in.Identifiers)
		if in.OccurredAt == "" {
			if !n.OccurredAt.Equal(now) {
				t.Errorf("occurred_at defaulted to %v, want now", n.OccurredAt)
			}
		} else {
			checkOccurredAt(t, n.OccurredAt, in.OccurredAt)
		}
		checkSource(t, n.Source)
		if in.Source == "" && n.Source != "api" {
			t.Errorf("source defaulted to %q, want api", n.Source)
		}
		checkPolicyVersion(t, n.PolicyVersion)
		if in.PolicyVersion == "" && n.PolicyVersion != fuzzPolicy {
			t.Errorf("policy_version defaulted to %q, want the current one", n.PolicyVersion)
		}
		if !slices.Contains(schemas.RequestTypes, n.Type) || !slices.Contains(schemas.RequestReasons, n.Reason) {
			t.Errorf("accepted type %q, reason %q", n.Type, n.Reason)
		}
		if n.Purposes != nil {
			t.Errorf("a request has purposes %v", n.Purposes)
		}
		checkEvent(t, n.RequestEvent(fuzzHeader(n)))
	})
}

// checkDecodeError: a body that does not decode gets an Invalid *apierror.Error whose
// fields are named (under prefix) and which does not repeat the email.
func checkDecodeError(t *testing.T, err error, prefix string, body []byte) {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) {
		t.Fatalf("jsonstrict.Decode error %v (%T) is not an *apierror.Error", err, err)
	}
	if e.Code != apierror.Invalid || e.Message == "" {
		t.Errorf("jsonstrict.Decode error %+v: want code invalid and a message", e)
	}
	noEmail(t, body, e.Message)
	checkFieldErrors(t, e.Fields, prefix, body)
}

// checkFieldErrors: every field error names a field under prefix and says what is wrong
// without repeating the email.
func checkFieldErrors(t *testing.T, errs []apierror.FieldError, prefix string, body []byte) {
	t.Helper()
	for _, fe := range errs {
		if fe.Field == "" {
			t.Errorf("field error %+v names no field", fe)
		}
		if prefix != "" && fe.Field != prefix && !strings.HasPrefix(fe.Field, prefix+".") {
			t.Errorf("field %q is not under %q", fe.Field, prefix)
		}
		if fe.Message == "" {
			t.Errorf("field error %+v says nothing", fe)
		}
		noEmail(t, body, fe.Field+" "+fe.Message)
	}
}

// noEmail fails when text holds the email the body submits. An address without "@"
// is too short a string to tell an echo from a coincidence (no message holds an "@"),
// and an address the client also wrote into an object key is skipped: keys are the
// client's field names, which errors name on purpose.
func noEmail(t *testing.T, body []byte, text string) {
	t.Helper()
	var probe struct {
		Identifiers struct {
			Email any `json:"email"`
		} `json:"identifiers"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return
	}
	raw, _ := probe.Identifiers.Email.(string)
	email := strings.TrimSpace(raw)
	if !strings.Contains(email, "@") {
		return
	}
	var generic any
	_ = json.Unmarshal(body, &generic)
	if inKey(generic, email) {
		return
	}
	if strings.Contains(text, email) {
		t.Errorf("error %q repeats the email %q", text, email)
	}
}

// inKey reports whether s occurs inside any object key of a decoded JSON value.
func inKey(v any, s string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			if strings.Contains(k, s) || inKey(inner, s) {
				return true
			}
		}
	case []any:
		for _, inner := range v {
			if inKey(inner, s) {
				return true
			}
		}
	}
	return false
}

// checkCommon checks the fields consents and requests share against the input.
func checkCommon(t *testing.T, n ingest.Normalized, tenant, subjectID string, ids *ingest.IdentifiersInput) {
	t.Helper()
	if n.Tenant != tenant || !fuzzTenant.MatchString(n.Tenant) {
		t.Errorf("accepted tenant %q (normalised %q)", tenant, n.Tenant)
	}
	if n.SubjectID != subjectID || n.SubjectID == "" || len(n.SubjectID) > ingest.MaxSubjectID || !fuzzPrintable(n.SubjectID) {
		t.Errorf("accepted subject_id %q (normalised %q)", subjectID, n.SubjectID)
	}
	if ids == nil {
		ids = &ingest.IdentifiersInput{}
	}
	if ids.Email == "" {
		if n.Email != "" {
			t.Errorf("no email given, normalised %q", n.Email)
		}
	} else if n.Email != strings.TrimSpace(ids.Email) || !pseudonym.PlausibleEmail(n.Email) {
		t.Errorf("accepted email %q (normalised %q)", ids.Email, n.Email)
	}
	if n.AnonymousID != ids.AnonymousID || len(n.AnonymousID) > ingest.MaxOpaqueID || !fuzzPrintable(n.AnonymousID) {
		t.Errorf("accepted anonymous_id %q (normalised %q)", ids.AnonymousID, n.AnonymousID)
	}
	if len(n.VendorIDs) > ingest.MaxVendorIDs || !maps.Equal(n.VendorIDs, ids.VendorIDs) {
		t.Errorf("vendor_ids %v became %v", ids.VendorIDs, n.VendorIDs)
	}
	for vendor, id := range n.VendorIDs {
		if !fuzzVendorID.MatchString(vendor) || id == "" || len(id) > ingest.MaxOpaqueID || !fuzzPrintable(id) {
			t.Errorf("accepted vendor id %q: %q", vendor, id)
		}
	}
}

// checkOccurredAt: a validated occurred_at is the instant given, in UTC, between the
// year 2000 and now plus the allowed clock skew.
func checkOccurredAt(t *testing.T, got time.Time, in string) {
	t.Helper()
	want, err := time.Parse(time.RFC3339Nano, in)
	if err != nil || !got.Equal(want) {
		t.Errorf("occurred_at %q became %v", in, got)
	}
	if got.IsZero() || got.Location() != time.UTC {
		t.Errorf("occurred_at %v: want a non-zero UTC time", got)
	}
	if got.After(now.Add(ingest.ClockSkew)) || got.Year() < 2000 {
		t.Errorf("accepted occurred_at %v, out of range", got)
	}
}

func checkSource(t *testing.T, s string) {
	t.Helper()
	if !slices.Contains(schemas.Sources, s) {
		t.Errorf("accepted source %q", s)
	}
}

func checkPolicyVersion(t *testing.T, s string) {
	t.Helper()
	if s == "" || len(s) > ingest.MaxPolicyVersion || !fuzzPrintable(s) {
		t.Errorf("accepted policy_version %q", s)
	}
}

// checkEvent: what validates must make an event that consumers accept, or it would be
// dead-lettered after the client was told 202.
func checkEvent(t *testing.T, e schemas.Event) {
	t.Helper()
	if err := schemas.Validate(e); err != nil {
		t.Errorf("the event of a valid submission is invalid: %v", err)
	}
	if _, err := schemas.Encode(e); err != nil {
		t.Errorf("the event of a valid submission does not encode: %v", err)
	}
}

func fuzzHeader(n ingest.Normalized) schemas.Header {
	sealed := &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte("0123456789ab"), Ciphertext: []byte{1}}
	return n.Header("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", strings.Repeat("ab", 32), now, sealed)
}

func fuzzPrintable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
