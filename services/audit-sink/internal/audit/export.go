package audit

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/consentry/consentry/schemas"
)

// ExportFormatVersion changes whenever a field of Export changes meaning or goes away,
// so that whoever reads an archived export knows which shape it has.
const ExportFormatVersion = 1

// Whether the subject's identifiers are in an export, and if not, why.
const (
	IdentifiersOpened      = "opened"
	IdentifiersNone        = "none"        // no event of the subject carried any
	IdentifiersDestroyed   = "destroyed"   // the subject's data key was destroyed (erasure)
	IdentifiersUnavailable = "unavailable" // this deployment cannot open them
)

// Export is everything Consentry holds about one subject, answering an access or
// portability request (GDPR Art. 15 and 20).
type Export struct {
	FormatVersion     int                     `json:"format_version"`
	GeneratedAt       time.Time               `json:"generated_at"`
	RequestID         string                  `json:"request_id"`
	Tenant            string                  `json:"tenant"`
	SubjectKey        string                  `json:"subject_key"`
	Identifiers       *Identifiers            `json:"identifiers,omitempty"`
	IdentifiersStatus string                  `json:"identifiers_status"`
	Consent           map[string]PurposeState `json:"consent"`
	ConsentHistory    []Entry                 `json:"consent_history"`
	PrivacyRequests   []RequestView           `json:"privacy_requests"`
	VendorReceipts    []Entry                 `json:"vendor_receipts"`
	Suppressions      []Entry                 `json:"suppressions"`
}

// Identifiers are the subject's personal identifiers as every event carried them, each
// value once.
type Identifiers struct {
	SubjectIDs   []string            `json:"subject_ids,omitempty"`
	Emails       []string            `json:"emails,omitempty"`
	AnonymousIDs []string            `json:"anonymous_ids,omitempty"`
	VendorIDs    map[string][]string `json:"vendor_ids,omitempty"`
}

// Add merges one event's identifiers.
func (i *Identifiers) Add(subjectID, email, anonymousID string, vendorIDs map[string]string) {
	i.SubjectIDs = addOnce(i.SubjectIDs, subjectID)
	i.Emails = addOnce(i.Emails, email)
	i.AnonymousIDs = addOnce(i.AnonymousIDs, anonymousID)
	for vendor, id := range vendorIDs {
		if i.VendorIDs == nil {
			i.VendorIDs = map[string][]string{}
		}
		i.VendorIDs[vendor] = addOnce(i.VendorIDs[vendor], id)
	}
}

func addOnce(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// ExportRefusal says why the request may not be answered with an export yet, or ""
// when it may: only access and portability requests, and never before the person was
// verified (and the controller approved, where one must).
func ExportRefusal(v RequestView) string {
	switch {
	case v.Type != schemas.RequestAccess && v.Type != schemas.RequestPortability:
		return "only an access or portability request has an export"
	case v.Status == schemas.StatusRejected:
		return "the request was rejected: it has no export"
	case v.Status != schemas.StatusInProgress && v.Status != schemas.StatusCompleted && v.Status != schemas.StatusPartiallyCompleted:
		return "the request is not in progress yet (it is " + v.Status + "): its export is served once it is verified"
	}
	return ""
}

// BuildExport assembles the export from the subject's history (as Store.History returns
// it) and its purpose decisions; identifiers are the caller's to add.
func BuildExport(requestID, tenant, subjectKey string, history []Entry, choices []Choice, now time.Time) Export {
	x := Export{FormatVersion: ExportFormatVersion, GeneratedAt: now.UTC(), RequestID: requestID, Tenant: tenant,
		SubjectKey: subjectKey, IdentifiersStatus: IdentifiersUnavailable, Consent: CurrentState(choices),
		ConsentHistory: []Entry{}, PrivacyRequests: []RequestView{}, VendorReceipts: []Entry{}, Suppressions: []Entry{}}
	byRequest := map[string][]Entry{}
	var order []string
	for _, e := range history {
		switch e.Type {
		case TypeConsentChanged:
			x.ConsentHistory = append(x.ConsentHistory, e)
		case TypeSuppressionChanged:
			x.Suppressions = append(x.Suppressions, e)
		case TypeVendorReceipt:
			x.VendorReceipts = append(x.VendorReceipts, e)
		}
		if id := str(e.Details, "request_id"); id != "" && (e.Type == TypePrivacyRequest || e.Type == TypeVendorReceipt) {
			if _, seen := byRequest[id]; !seen {
				order = append(order, id)
			}
			byRequest[id] = append(byRequest[id], e)
		}
	}
	for _, id := range order {
		v := BuildRequest(id, tenant, subjectKey, byRequest[id], now)
		v.Events = nil // its receipts are in vendor_receipts, its events summed up in transitions
		if v.Status != "" {
			x.PrivacyRequests = append(x.PrivacyRequests, v)
		}
	}
	return x
}

// ConsentCSVHeader names the columns of ConsentCSV.
var ConsentCSVHeader = []string{"occurred_at", "recorded_at", "source", "policy_version", "purpose", "decision", "event_id"}

// ConsentCSV renders the consent history one purpose decision a row, in log order and
// by purpose within an event, header first. Every cell is CSVCell-safe: the file is meant
// to be opened in a spreadsheet, and some of its values come from callers.
func ConsentCSV(history []Entry) [][]string {
	rows := [][]string{ConsentCSVHeader}
	for _, e := range history {
		if e.Type != TypeConsentChanged {
			continue
		}
		purposes, _ := e.Details["purposes"].(map[string]any)
		names := make([]string, 0, len(purposes))
		for p := range purposes {
			names = append(names, p)
		}
		sort.Strings(names)
		for _, p := range names {
			decision, _ := purposes[p].(string)
			rows = append(rows, []string{stamp(e.OccurredAt), stamp(e.RecordedAt), CSVCell(e.Source), CSVCell(e.PolicyVersion),
				CSVCell(p), CSVCell(decision), CSVCell(e.EventID)})
		}
	}
	return rows
}

// CSVCell neutralises formula injection (OWASP's rule): a spreadsheet evaluates a cell
// that starts with =, +, -, @, a tab or a carriage return as a formula, which could
// run =HYPERLINK or DDE on the reader's machine; a leading single quote makes it text.
func CSVCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
