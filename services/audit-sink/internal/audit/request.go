package audit

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/deadline"
	"github.com/consentry/consentry/schemas"
)

// ClosedStatuses end a request; its deadline is then met or missed, never at risk.
var ClosedStatuses = []string{schemas.StatusCompleted, schemas.StatusPartiallyCompleted, schemas.StatusRejected}

// How a closed request stood against its deadline.
const (
	DeadlineMet    = "met"
	DeadlineMissed = "missed"
)

// ValidStatus reports whether s is a lifecycle status.
func ValidStatus(s string) bool { return slices.Contains(schemas.Statuses, s) }

// Closed reports whether status ends the request.
func Closed(status string) bool { return slices.Contains(ClosedStatuses, status) }

// DeadlineStatus says how a request stands against due at now: deadline.StatusAt's
// answer while it is open, met or missed by the time it closed once it is closed, ""
// without a deadline.
func DeadlineStatus(now, received time.Time, due *time.Time, status string, closedAt *time.Time) string {
	switch {
	case due == nil:
		return ""
	case !Closed(status):
		return string(deadline.StatusAt(now, received, *due))
	case closedAt != nil && closedAt.After(*due):
		return DeadlineMissed
	default:
		return DeadlineMet
	}
}

// RequestView is where a privacy request stands: its status and deadline, how it got
// there, and what each vendor answered.
type RequestView struct {
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
	// Events are the raw log entries, for callers that read them directly.
	Events []Entry `json:"events,omitempty"`
}

// Transition is a change of status.
type Transition struct {
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
	Detail  string    `json:"detail,omitempty"`
	EventID string    `json:"event_id"`
}

// Extension is a move of the deadline.
type Extension struct {
	At         time.Time  `json:"at"`
	DeadlineAt *time.Time `json:"deadline_at,omitempty"`
	Reason     string     `json:"reason"`
	EventID    string     `json:"event_id"`
}

// VendorProgress is one vendor action of the request and every receipt it produced.
type VendorProgress struct {
	Vendor   string    `json:"vendor"`
	Action   string    `json:"action"`
	Status   string    `json:"status"` // the latest receipt's outcome
	Receipts []Receipt `json:"receipts"`
}

// Receipt is one vendor's answer, the evidence GDPR Art. 19 lets the person ask for.
type Receipt struct {
	EventID         string    `json:"event_id"`
	Outcome         string    `json:"outcome"`
	At              time.Time `json:"at"`
	Attempts        int       `json:"attempts"`
	HTTPStatus      int       `json:"http_status,omitempty"`
	VendorReference string    `json:"vendor_reference,omitempty"`
	Detail          string    `json:"detail,omitempty"`
}

// BuildRequest builds the view of one request from its log entries (its PrivacyRequest
// events and the receipts carrying its id), judged at now. The latest event in log order
// decides status and deadline, as every consumer of the topic decides them.
func BuildRequest(requestID, tenant, subjectKey string, entries []Entry, now time.Time) RequestView {
	v := RequestView{RequestID: requestID, Tenant: tenant, SubjectKey: subjectKey,
		Extensions: []Extension{}, Transitions: []Transition{}, Vendors: []VendorProgress{}, Events: entries}
	ordered := slices.Clone(entries)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Seq < ordered[j].Seq })
	var firstAt, receivedAt time.Time
	for _, e := range ordered {
		switch e.Type {
		case TypePrivacyRequest:
			v.apply(e)
			firstAt = earliest(firstAt, EntryAt(e))
			if str(e.Details, "status") == schemas.StatusReceived {
				receivedAt = earliest(receivedAt, EntryAt(e))
			}
		case TypeVendorReceipt:
			v.addReceipt(e)
		}
	}
	v.ReceivedAt = receivedAt
	if v.ReceivedAt.IsZero() {
		v.ReceivedAt = firstAt
	}
	v.DeadlineStatus = DeadlineStatus(now, v.ReceivedAt, v.DeadlineAt, v.Status, v.ClosedAt)
	return v
}

func (v *RequestView) apply(e Entry) {
	d := e.Details
	v.Type, v.Reason = str(d, "type"), str(d, "reason")
	v.Scope, v.Jurisdiction = str(d, "scope"), str(d, "jurisdiction")
	// Deadlines are only ever extended: an event that still carries the earlier one
	// (vendor-fanout's completion copies the deadline it planned with) does not undo it.
	if due := timeOf(d, "deadline_at"); due != nil && (v.DeadlineAt == nil || due.After(*v.DeadlineAt)) {
		v.DeadlineAt = due
	}
	status, detail, at := str(d, "status"), str(d, "detail"), EntryAt(e)
	// An extension repeats the status it extends: it is a move of the deadline, not a
	// step — and, published by consent-ingest as vendor-fanout completes the request, it
	// may even follow the completion in the log.
	if reason, ok := strings.CutPrefix(detail, schemas.ExtensionDetail); ok {
		v.Extensions = append(v.Extensions, Extension{At: at, DeadlineAt: v.DeadlineAt, Reason: strings.TrimSpace(reason), EventID: e.EventID})
		if v.Status != "" {
			return
		}
	}
	// A closed request stays closed — but for a partially completed one that the vendors
	// left out have since carried out (a replayed dead letter): it is then completed.
	if status == v.Status || Closed(v.Status) && !(v.Status == schemas.StatusPartiallyCompleted && status == schemas.StatusCompleted) {
		return
	}
	v.Transitions = append(v.Transitions, Transition{Status: status, At: at, Detail: detail, EventID: e.EventID})
	if Closed(status) && v.ClosedAt == nil {
		v.ClosedAt = &at
	}
	v.Status = status
}

// OutcomeIdentifiersDisclosed is the outcome of the receipt vendor-fanout writes when a
// manual task's identifiers are shown to someone (its detail says to whom).
const OutcomeIdentifiersDisclosed = "identifiers_disclosed"

func (v *RequestView) addReceipt(e Entry) {
	d := e.Details
	r := Receipt{EventID: e.EventID, Outcome: str(d, "outcome"), At: EntryAt(e), Attempts: num(d, "attempts"),
		HTTPStatus: num(d, "http_status"), VendorReference: str(d, "vendor_reference"), Detail: str(d, "detail")}
	vendor, action := str(d, "vendor"), str(d, "action")
	// A disclosure of a manual task's identifiers is on the record among the vendor's
	// receipts, but it is not the vendor's answer: the status stays what the vendor said.
	status := r.Outcome
	disclosure := r.Outcome == OutcomeIdentifiersDisclosed
	for i := range v.Vendors {
		if p := &v.Vendors[i]; p.Vendor == vendor && p.Action == action {
			if !disclosure {
				p.Status = status
			}
			p.Receipts = append(p.Receipts, r)
			return
		}
	}
	if disclosure {
		status = "pending"
	}
	v.Vendors = append(v.Vendors, VendorProgress{Vendor: vendor, Action: action, Status: status, Receipts: []Receipt{r}})
}

// EntryAt is when Consentry accepted the event, or audited it when the event says nothing.
func EntryAt(e Entry) time.Time {
	if e.RecordedAt != nil {
		return e.RecordedAt.UTC()
	}
	return e.AuditedAt.UTC()
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

// num reads a number of details decoded from JSON, where every number is a float64.
func num(d map[string]any, k string) int {
	switch n := d[k].(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

func timeOf(d map[string]any, k string) *time.Time {
	switch t := d[k].(type) {
	case time.Time:
		t = t.UTC()
		return &t
	case string:
		if parsed, err := time.Parse(time.RFC3339Nano, t); err == nil {
			parsed = parsed.UTC()
			return &parsed
		}
	}
	return nil
}
