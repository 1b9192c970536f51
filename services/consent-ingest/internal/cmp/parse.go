// Package cmp reads the signals a consent management platform (CMP) hands a page — an IAB
// TCF v2 TC string and an IAB GPP string — and turns them into Consentry's purposes by a
// per-tenant table (docs/cmp-signals.md). It does no I/O.
package cmp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/prebid/go-gdpr/consentconstants"
	tcf2 "github.com/prebid/go-gdpr/vendorconsent/tcf2"
	gpp "github.com/prebid/go-gpp"
	"github.com/prebid/go-gpp/constants"
	"github.com/prebid/go-gpp/sections/uspca"
	"github.com/prebid/go-gpp/sections/uspco"
	"github.com/prebid/go-gpp/sections/uspct"
	"github.com/prebid/go-gpp/sections/uspnat"
	"github.com/prebid/go-gpp/sections/usput"
	"github.com/prebid/go-gpp/sections/uspva"
)

// MaxString bounds a TC or GPP string. A TC string that lists vendors one by one runs to
// a few kilobytes; the bound keeps one consent event small and parsing cheap.
const MaxString = 16 << 10

// TCF is what a TC string says about purposes. Indexes are the TCF's own numbers, so
// Purposes[1] is purpose 1; index 0 is unused.
type TCF struct {
	Version       int
	PolicyVersion int
	CmpID         int
	// Purposes holds the consent bits of purposes 1-24.
	Purposes [25]bool
	// SpecialFeatures holds the opt-ins of special features 1-12.
	SpecialFeatures [13]bool
}

// OptOut is a GPP US opt-out field: 0 not applicable, 1 opted out, 2 did not opt out.
type OptOut int

// The values of an OptOut, as the GPP US sections define them.
const (
	NotApplicable OptOut = 0
	OptedOut      OptOut = 1
	DidNotOptOut  OptOut = 2
)

// The GPP fields a table may name. Each US section carries some of them: the national
// section all three, California sale and sharing, the other states sale and targeted
// advertising, and the legacy US Privacy string (section 6) sale only.
const (
	FieldSaleOptOut                = "sale_opt_out"
	FieldSharingOptOut             = "sharing_opt_out"
	FieldTargetedAdvertisingOptOut = "targeted_advertising_opt_out"
)

// GPPFields are the fields a table may map.
var GPPFields = []string{FieldSaleOptOut, FieldSharingOptOut, FieldTargetedAdvertisingOptOut}

// USSection is one US section of a GPP string, by field name; a field the section does
// not carry is absent.
type USSection struct {
	Name   string
	Fields map[string]OptOut
}

// GPP is what a GPP string says that Consentry maps: its US sections and, when it
// carries one, its TCF EU v2 section.
type GPP struct {
	SectionIDs []int
	US         []USSection
	TCF        *TCF
}

// ParseTCF reads a TCF v2 TC string (core segment first, optional segments after dots).
func ParseTCF(s string) (t TCF, err error) {
	if err := checkChars(s, false); err != nil {
		return TCF{}, err
	}
	if !tcf2.IsConsentV2(s) {
		return TCF{}, errors.New("is not a TCF v2 TC string (a v2 core segment starts with C)")
	}
	defer recoverAs(&err)
	c, err := tcf2.ParseString(s)
	if err != nil {
		return TCF{}, fmt.Errorf("is not a valid TC string: %v", err)
	}
	m, ok := c.(tcf2.ConsentMetadata)
	if !ok {
		return TCF{}, errors.New("is not a valid TC string")
	}
	t = TCF{Version: int(m.Version()), PolicyVersion: int(m.TCFPolicyVersion()), CmpID: int(m.CmpID())}
	for i := 1; i < len(t.Purposes); i++ {
		t.Purposes[i] = m.PurposeAllowed(consentconstants.Purpose(i))
	}
	for i := 1; i < len(t.SpecialFeatures); i++ {
		t.SpecialFeatures[i] = m.SpecialFeatureOptIn(uint16(i))
	}
	return t, nil
}

// ParseGPP reads a GPP string: a header, then one section per id the header lists. Any
// section that does not parse makes the whole string malformed: a half-read string is
// not proof of anything.
func ParseGPP(s string) (g GPP, err error) {
	if err := checkChars(s, true); err != nil {
		return GPP{}, err
	}
	if err := checkGPPHeader(s); err != nil {
		return GPP{}, err
	}
	defer recoverAs(&err)
	c, errs := gpp.Parse(s)
	if len(errs) > 0 {
		return GPP{}, fmt.Errorf("is not a valid GPP string: %v", errors.Join(errs...))
	}
	for i, sec := range c.Sections {
		g.SectionIDs = append(g.SectionIDs, int(c.SectionTypes[i]))
		switch sec := sec.(type) {
		case uspnat.USPNAT:
			g.US = append(g.US, usSection(sec.GetID(), map[string]byte{FieldSaleOptOut: sec.CoreSegment.SaleOptOut,
				FieldSharingOptOut: sec.CoreSegment.SharingOptOut, FieldTargetedAdvertisingOptOut: sec.CoreSegment.TargetedAdvertisingOptOut}))
		case uspca.USPCA:
			g.US = append(g.US, usSection(sec.GetID(), map[string]byte{FieldSaleOptOut: sec.CoreSegment.SaleOptOut,
				FieldSharingOptOut: sec.CoreSegment.SharingOptOut}))
		case uspva.USPVA:
			g.US = append(g.US, commonUS(sec.GetID(), sec.CoreSegment.SaleOptOut, sec.CoreSegment.TargetedAdvertisingOptOut))
		case uspco.USPCO:
			g.US = append(g.US, commonUS(sec.GetID(), sec.CoreSegment.SaleOptOut, sec.CoreSegment.TargetedAdvertisingOptOut))
		case usput.USPUT:
			g.US = append(g.US, commonUS(sec.GetID(), sec.CoreSegment.SaleOptOut, sec.CoreSegment.TargetedAdvertisingOptOut))
		case uspct.USPCT:
			g.US = append(g.US, commonUS(sec.GetID(), sec.CoreSegment.SaleOptOut, sec.CoreSegment.TargetedAdvertisingOptOut))
		default:
			switch sec.GetID() {
			case constants.SectionTCFEU2:
				t, err := ParseTCF(sec.GetValue())
				if err != nil {
					return GPP{}, fmt.Errorf("has a TCF EU section that %v", err)
				}
				g.TCF = &t
			case constants.SectionUSPV1:
				u, err := parseUSPrivacy(sec.GetValue())
				if err != nil {
					return GPP{}, fmt.Errorf("has a US Privacy section that %v", err)
				}
				g.US = append(g.US, u)
			}
			// Other sections (Canada's TCF, states go-gpp does not know) carry nothing
			// the table maps; they stay in the kept string.
		}
	}
	for _, u := range g.US {
		for _, f := range sortedKeys(u.Fields) {
			if v := u.Fields[f]; v > DidNotOptOut {
				return GPP{}, fmt.Errorf("has a %s section whose %s is %d; the GPP US sections define 0, 1 and 2 only", u.Name, f, v)
			}
		}
	}
	return g, nil
}

func usSection(id constants.SectionID, fields map[string]byte) USSection {
	u := USSection{Name: constants.SectionNamesByID[int(id)], Fields: map[string]OptOut{}}
	for k, v := range fields {
		u.Fields[k] = OptOut(v)
	}
	return u
}

func commonUS(id constants.SectionID, sale, targeted byte) USSection {
	return usSection(id, map[string]byte{FieldSaleOptOut: sale, FieldTargetedAdvertisingOptOut: targeted})
}

// parseUSPrivacy reads the legacy US Privacy string ("1YNN": version, notice given,
// opted out of sale, LSPA covered), which GPP carries as section 6. Only the sale
// opt-out maps; "-" means the CCPA does not apply.
func parseUSPrivacy(s string) (USSection, error) {
	if len(s) != 4 || s[0] != '1' {
		return USSection{}, errors.New("is not a version 1 US Privacy string of 4 characters")
	}
	var v OptOut
	switch s[2] {
	case 'Y', 'y':
		v = OptedOut
	case 'N', 'n':
		v = DidNotOptOut
	case '-':
		v = NotApplicable
	default:
		return USSection{}, errors.New("has an opt-out-of-sale flag that is not Y, N or -")
	}
	return USSection{Name: constants.SectionNamesByID[int(constants.SectionUSPV1)], Fields: map[string]OptOut{FieldSaleOptOut: v}}, nil
}

// checkChars keeps what will be stored as proof to the characters the formats use:
// base64url, the segment dots and, in GPP, the section tildes and US Privacy's letters.
func checkChars(s string, gppString bool) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > MaxString:
		return fmt.Errorf("is longer than %d bytes", MaxString)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		case c == '~' && gppString:
		default:
			return fmt.Errorf("has a character at byte %d that the format does not use", i)
		}
	}
	return nil
}

// Bounds on a GPP header that go-gpp's own reader lacks. A Fibonacci code longer than
// maxFibBits makes its fibonacci() recurse exponentially, and a section range ending at
// 65535 makes its uint16 loop never end; either hangs a request on a header of a few
// dozen characters (FuzzParse found it). Real headers list a handful of ids under 30.
const (
	maxFibBits   = 16
	maxSectionID = 255
	maxSections  = 64
)

// checkGPPHeader reads the header's section ids as go-gpp will, but with bounds, so that
// go-gpp only ever sees a header it reads in a few steps.
func checkGPPHeader(s string) error {
	header, rest, _ := strings.Cut(s, "~")
	sections := 0
	if rest != "" || strings.Contains(s, "~") {
		sections = strings.Count(rest, "~") + 1
	}
	if sections > maxSections {
		return fmt.Errorf("has more than %d sections", maxSections)
	}
	if len(header)%4 != 0 {
		header += "A" // as go-gpp pads the last quantum
	}
	data, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return errors.New("has a header that is not base64url")
	}
	r := bitReader{data: data}
	if t := r.read(6); t != 3 {
		return errors.New("has a header whose type is not 3 (a GPP header starts with D)")
	}
	r.read(6) // version
	entries := r.read(12)
	var ids, max int
	for i := 0; i < entries && r.err == nil; i++ {
		isRange := r.read(1) == 1
		first := max + r.fib()
		last := first
		if isRange {
			last = first + r.fib()
		}
		if last > max {
			max = last
		}
		ids += last - first + 1
		if max > maxSectionID || ids > maxSections {
			return errors.New("has a header that lists more or higher section ids than GPP defines")
		}
	}
	if r.err != nil {
		return fmt.Errorf("has a header that %v", r.err)
	}
	if ids != sections {
		return fmt.Errorf("has a header that lists %d section ids for %d sections", ids, sections)
	}
	return nil
}

// bitReader reads big-endian bit fields and remembers the first overrun.
type bitReader struct {
	data []byte
	pos  int
	err  error
}

func (r *bitReader) read(n int) int {
	v := 0
	for i := 0; i < n; i++ {
		if r.pos >= len(r.data)*8 {
			if r.err == nil {
				r.err = errors.New("ends early")
			}
			return 0
		}
		v = v<<1 | int(r.data[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// fib reads one Fibonacci code (bit k weighs F(k+2), "11" ends it), at most maxFibBits.
func (r *bitReader) fib() int {
	a, b := 1, 2 // F(2), F(3)
	v, prev := 0, 0
	for n := 0; r.err == nil; n++ {
		if n > maxFibBits {
			r.err = fmt.Errorf("uses a Fibonacci code longer than %d bits", maxFibBits)
			return 0
		}
		bit := r.read(1)
		if bit == 1 && prev == 1 {
			return v
		}
		if bit == 1 {
			v += a
		}
		prev = bit
		a, b = b, a+b
	}
	return 0
}

// recoverAs turns a panic in a parser into a malformed-string error: the strings come
// from browsers, and go-gdpr has panicked on truncated input before (its fix #39).
func recoverAs(err *error) {
	if r := recover(); r != nil {
		*err = errors.New("is not a valid string (the parser could not read it)")
	}
}
