package schemas_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/consentry/consentry/schemas"
)

// TestVocabularyMatchesTheSchemaDocs keeps the named words and the .avsc docs, which
// producers outside this repository read, saying the same thing.
func TestVocabularyMatchesTheSchemaDocs(t *testing.T) {
	cases := []struct {
		record, field string
		words         []string
	}{
		{schemas.PrivacyRequestName, "type", append(slices.Clone(schemas.RequestTypes), schemas.RequestAccountTermination)},
		{schemas.PrivacyRequestName, "status", schemas.Statuses},
		{schemas.PrivacyRequestName, "scope", []string{schemas.ScopeDirectMarketing, schemas.ScopeLegitimateInterest, schemas.ScopeApply, schemas.ScopeLift}},
		{schemas.PrivacyRequestName, "reason", []string{schemas.ReasonUserRequest, schemas.ReasonChildUnder16, schemas.ReasonAccountClosure}},
		{schemas.ConsentChangedName, "purpose", schemas.Purposes},
		{schemas.ConsentChangedName, "decision", []string{schemas.Granted, schemas.Denied}},
	}
	for _, c := range cases {
		t.Run(c.record+"."+c.field, func(t *testing.T) {
			s, err := schemas.Get(c.record)
			if err != nil {
				t.Fatal(err)
			}
			doc, ok := fieldDoc(t, s.Text, c.field)
			if !ok {
				t.Fatalf("no doc on field %s", c.field)
			}
			for _, w := range c.words {
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).MatchString(doc) {
					t.Errorf("%q is not in the doc of %s: %q", w, c.field, doc)
				}
			}
		})
	}
}

// fieldDoc finds the doc of the field named name anywhere in the schema (nested records
// included).
func fieldDoc(t *testing.T, text, name string) (string, bool) {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(text), &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) (string, bool)
	walk = func(v any) (string, bool) {
		switch v := v.(type) {
		case map[string]any:
			if v["name"] == name {
				if doc, ok := v["doc"].(string); ok {
					return doc, true
				}
			}
			for _, x := range v {
				if doc, ok := walk(x); ok {
					return doc, true
				}
			}
		case []any:
			for _, x := range v {
				if doc, ok := walk(x); ok {
					return doc, true
				}
			}
		}
		return "", false
	}
	return walk(root)
}
