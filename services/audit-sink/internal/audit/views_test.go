package audit_test

import (
	"testing"
	"time"

	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

func TestCurrentStateIsLastWriterWinsByOccurredAt(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	choices := []audit.Choice{
		{Purpose: "analytics", Decision: "granted", EventID: "a", OccurredAt: t0, Seq: 1},
		{Purpose: "analytics", Decision: "denied", EventID: "b", OccurredAt: t0.Add(time.Hour), Seq: 2},
		// Arrives last but happened before b: audited, not current.
		{Purpose: "analytics", Decision: "granted", EventID: "c", OccurredAt: t0.Add(30 * time.Minute), Seq: 3},
		// Same instant: the larger event id wins, whatever the arrival order.
		{Purpose: "marketing_email", Decision: "denied", EventID: "z", OccurredAt: t0, Seq: 4},
		{Purpose: "marketing_email", Decision: "granted", EventID: "y", OccurredAt: t0, Seq: 5},
	}
	got := audit.CurrentState(choices)
	if s := got["analytics"]; s.Decision != "denied" || s.EventID != "b" {
		t.Errorf("analytics = %+v, want denied by b", s)
	}
	if s := got["marketing_email"]; s.Decision != "denied" || s.EventID != "z" {
		t.Errorf("marketing_email = %+v, want denied by z", s)
	}
}
