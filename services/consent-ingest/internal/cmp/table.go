package cmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/consentry/consentry/schemas"
)

// Table is one tenant's mapping from CMP signals to Consentry purposes.
type Table struct {
	// TCF: a purpose is granted when the TC string consents to every TCF purpose and
	// opts in to every special feature its rule lists, and denied otherwise.
	TCF map[string]TCFRule `json:"tcf"`
	// GPP: a purpose is denied when any US section opted out of any field listed,
	// granted when the sections carry a listed field and none opted out, and left alone
	// when no section carries a listed field or all say not applicable.
	GPP map[string][]string `json:"gpp"`
}

// TCFRule lists the TCF purposes and special features a Consentry purpose needs.
type TCFRule struct {
	Purposes        []int `json:"purposes"`
	SpecialFeatures []int `json:"special_features,omitempty"`
}

// DefaultTable is the mapping of docs/cmp-signals.md. Purpose 1 (store and/or access
// information on a device) is in every TCF rule: without it none of the others can run
// in a browser.
func DefaultTable() Table {
	return Table{
		TCF: map[string]TCFRule{
			// 2 limited data to select ads, 3-4 profiles for and selection of
			// personalised ads, 7 measure advertising performance.
			schemas.PurposeAdvertising: {Purposes: []int{1, 2, 3, 4, 7}},
			// 5-6 profiles for and selection of personalised content.
			schemas.PurposePersonalization: {Purposes: []int{1, 5, 6}},
			// 8 measure content performance, 9 understand audiences through statistics.
			schemas.PurposeAnalytics: {Purposes: []int{1, 8, 9}},
		},
		GPP: map[string][]string{
			schemas.PurposeSaleShare:   {FieldSaleOptOut, FieldSharingOptOut},
			schemas.PurposeAdvertising: {FieldTargetedAdvertisingOptOut},
		},
	}
}

// Tables holds the tables of the tenants that have their own; the zero value gives
// every tenant DefaultTable.
type Tables struct {
	byTenant map[string]Table
}

// For returns the tenant's table, else the "*" entry's, else DefaultTable.
func (t Tables) For(tenant string) Table {
	if tab, ok := t.byTenant[tenant]; ok {
		return tab
	}
	if tab, ok := t.byTenant["*"]; ok {
		return tab
	}
	return DefaultTable()
}

// ParseTables reads {"<tenant>": Table, ...}; "*" stands for every tenant not named. A
// tenant's table replaces the default whole, so what it maps is all in one place.
func ParseTables(b []byte) (Tables, error) {
	var raw map[string]Table
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Tables{}, fmt.Errorf("not a JSON object of tenant tables: %v", err)
	}
	if dec.More() {
		return Tables{}, errors.New("trailing data after the JSON object")
	}
	var errs []error
	for _, tenant := range sortedKeys(raw) {
		if tenant == "" {
			errs = append(errs, errors.New(`a tenant name is empty (use "*" for every tenant)`))
			continue
		}
		if err := raw[tenant].check(); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tenant, err))
		}
	}
	if len(errs) > 0 {
		return Tables{}, errors.Join(errs...)
	}
	return Tables{byTenant: raw}, nil
}

func (t Table) check() error {
	var errs []error
	purpose := func(p string) error {
		switch {
		case !slices.Contains(schemas.Purposes, p):
			return fmt.Errorf("%q is not a Consentry purpose", p)
		case p == schemas.PurposeEssential:
			return errors.New("essential cannot come from a CMP signal: it is never denied")
		}
		return nil
	}
	for _, p := range sortedKeys(t.TCF) {
		r := t.TCF[p]
		if err := purpose(p); err != nil {
			errs = append(errs, fmt.Errorf("tcf: %w", err))
			continue
		}
		if len(r.Purposes) == 0 && len(r.SpecialFeatures) == 0 {
			errs = append(errs, fmt.Errorf("tcf.%s: lists no TCF purpose or special feature", p))
		}
		for _, n := range r.Purposes {
			if n < 1 || n > 24 {
				errs = append(errs, fmt.Errorf("tcf.%s: TCF purpose %d is not 1-24", p, n))
			}
		}
		for _, n := range r.SpecialFeatures {
			if n < 1 || n > 12 {
				errs = append(errs, fmt.Errorf("tcf.%s: special feature %d is not 1-12", p, n))
			}
		}
	}
	for _, p := range sortedKeys(t.GPP) {
		if err := purpose(p); err != nil {
			errs = append(errs, fmt.Errorf("gpp: %w", err))
			continue
		}
		if len(t.GPP[p]) == 0 {
			errs = append(errs, fmt.Errorf("gpp.%s: lists no GPP field", p))
		}
		for _, f := range t.GPP[p] {
			if !slices.Contains(GPPFields, f) {
				errs = append(errs, fmt.Errorf("gpp.%s: %q is not one of %v", p, f, GPPFields))
			}
		}
	}
	return errors.Join(errs...)
}

// Decision is what the signals say about one Consentry purpose, and which field said it.
type Decision struct {
	Decision string // schemas.Granted or schemas.Denied
	From     string // "tcf" or "gpp"
}

// Derive maps the signals present by t. Where two signals speak to one purpose and
// disagree, denied wins: a person who refused anywhere has not agreed.
func (t Table) Derive(tc *TCF, g *GPP) map[string]Decision {
	out := map[string]Decision{}
	put := func(p, d, from string) {
		if cur, ok := out[p]; ok && cur.Decision == schemas.Denied {
			return
		}
		out[p] = Decision{Decision: d, From: from}
	}
	fromTCF := func(x *TCF, from string) {
		for _, p := range sortedKeys(t.TCF) {
			put(p, t.TCF[p].decide(x), from)
		}
	}
	if tc != nil {
		fromTCF(tc, "tcf")
	}
	if g != nil && g.TCF != nil {
		fromTCF(g.TCF, "gpp")
	}
	if g != nil {
		for _, p := range sortedKeys(t.GPP) {
			if d, ok := decideUS(g.US, t.GPP[p]); ok {
				put(p, d, "gpp")
			}
		}
	}
	return out
}

func (r TCFRule) decide(t *TCF) string {
	for _, n := range r.Purposes {
		if !t.Purposes[n] {
			return schemas.Denied
		}
	}
	for _, n := range r.SpecialFeatures {
		if !t.SpecialFeatures[n] {
			return schemas.Denied
		}
	}
	return schemas.Granted
}

func decideUS(secs []USSection, fields []string) (string, bool) {
	granted := false
	for _, s := range secs {
		for _, f := range fields {
			switch v, ok := s.Fields[f]; {
			case !ok:
			case v == OptedOut:
				return schemas.Denied, true
			case v == DidNotOptOut:
				granted = true
			}
		}
	}
	if granted {
		return schemas.Granted, true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
