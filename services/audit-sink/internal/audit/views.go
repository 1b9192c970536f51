package audit

import (
	"sort"
	"time"
)

// Entry is a record as the read API shows it: the common fields and the details, never
// the payload.
type Entry struct {
	Seq           int64          `json:"seq"`
	EventID       string         `json:"event_id"`
	Type          string         `json:"type"`
	OccurredAt    *time.Time     `json:"occurred_at,omitempty"`
	RecordedAt    *time.Time     `json:"recorded_at,omitempty"`
	AuditedAt     time.Time      `json:"audited_at"`
	Source        string         `json:"source,omitempty"`
	PolicyVersion string         `json:"policy_version,omitempty"`
	Topic         string         `json:"topic"`
	Partition     int            `json:"partition"`
	Offset        int64          `json:"offset"`
	Details       map[string]any `json:"details"`
}

// PurposeState is the current choice for one purpose and the proof of it: the event that
// set it — the signal it came through (source: cmp, gpc, dnt, email_link, …), the policy
// in force, when it happened and when Consentry accepted it — and that event's place in
// the hash chain, which GET /v1/audit/verify and an exported head vouch for.
type PurposeState struct {
	Decision      string         `json:"decision"`
	EventID       string         `json:"event_id"`
	Source        string         `json:"source"`
	PolicyVersion string         `json:"policy_version"`
	OccurredAt    time.Time      `json:"occurred_at"`
	RecordedAt    time.Time      `json:"recorded_at"`
	Seq           int64          `json:"audit_seq"`
	Position      *ChainPosition `json:"chain_position,omitempty"`
}

// ChainPosition is where a record sits in the audit log's hash chains.
type ChainPosition struct {
	Chain    string `json:"chain"`
	ChainSeq int64  `json:"chain_seq"`
	Hash     string `json:"hash"`
}

// Choice is one purpose decision of one consent event, the input of CurrentState.
type Choice struct {
	Purpose       string
	Decision      string
	EventID       string
	Source        string
	PolicyVersion string
	OccurredAt    time.Time
	RecordedAt    time.Time
	Seq           int64
	// Chain, ChainSeq and Hash place the event in its chain; Chain is empty for a row
	// not chained yet.
	Chain    string
	ChainSeq int64
	Hash     string
}

// CurrentState applies last-writer-wins by occurred_at, ties broken by event_id (docs/architecture.md, "Ordering and current consent"):
// a late event that happened earlier is in the log but does not override a newer choice.
func CurrentState(choices []Choice) map[string]PurposeState {
	sort.SliceStable(choices, func(i, j int) bool {
		a, b := choices[i], choices[j]
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		return a.EventID < b.EventID
	})
	out := map[string]PurposeState{}
	for _, c := range choices {
		s := PurposeState{Decision: c.Decision, EventID: c.EventID, Source: c.Source, PolicyVersion: c.PolicyVersion,
			OccurredAt: c.OccurredAt, RecordedAt: c.RecordedAt, Seq: c.Seq}
		if c.Chain != "" {
			s.Position = &ChainPosition{Chain: c.Chain, ChainSeq: c.ChainSeq, Hash: c.Hash}
		}
		out[c.Purpose] = s
	}
	return out
}
