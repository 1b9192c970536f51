package audit

import (
	"time"

	"github.com/consentry/consentry/platform/deadline"
)

// Filters of the request listing that are not lifecycle statuses: open requests judged
// against their deadline.
const (
	FilterAtRisk  = string(deadline.AtRisk)
	FilterOverdue = string(deadline.Overdue)
)

// ValidFilter reports whether s may be asked of the listing.
func ValidFilter(s string) bool { return ValidStatus(s) || s == FilterAtRisk || s == FilterOverdue }

// RequestSummary is one privacy request as the listing shows it.
type RequestSummary struct {
	RequestID      string     `json:"request_id"`
	Tenant         string     `json:"tenant"`
	SubjectKey     string     `json:"subject_key"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	ReceivedAt     time.Time  `json:"received_at"`
	DeadlineAt     *time.Time `json:"deadline_at,omitempty"`
	DeadlineStatus string     `json:"deadline_status,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
}

// Judge fills the deadline status at now.
func (s *RequestSummary) Judge(now time.Time) {
	s.DeadlineStatus = DeadlineStatus(now, s.ReceivedAt, s.DeadlineAt, s.Status, s.ClosedAt)
}

// Matches reports whether the summary, judged, answers filter. The database selects
// with the same arithmetic; this keeps deadline.StatusAt the one definition of at risk.
func (s RequestSummary) Matches(filter string) bool {
	if ValidStatus(filter) {
		return s.Status == filter
	}
	return !Closed(s.Status) && s.DeadlineStatus == filter
}

// Tally is what the request gauges show for one tenant.
type Tally struct {
	AtRisk, Overdue int
	Open            map[string]int // by status
}

// TallyOpen counts open requests per tenant at now. Every tenant in tenants gets a tally,
// zeros included, so that an alert can tell "none" from "unknown".
func TallyOpen(tenants []string, open []RequestSummary, now time.Time) map[string]Tally {
	out := map[string]Tally{}
	for _, t := range tenants {
		out[t] = Tally{Open: map[string]int{}}
	}
	for _, r := range open {
		if Closed(r.Status) {
			continue
		}
		t, ok := out[r.Tenant]
		if !ok {
			t = Tally{Open: map[string]int{}}
		}
		t.Open[r.Status]++
		r.Judge(now)
		switch r.DeadlineStatus {
		case FilterAtRisk:
			t.AtRisk++
		case FilterOverdue:
			t.Overdue++
		}
		out[r.Tenant] = t
	}
	return out
}
