// Package deadline computes the legal deadline of a privacy request: when it was
// received, under which law, and of what kind decide by when it must be answered.
//
// Where the law leaves a choice of reading, the earlier deadline is taken: a tracker
// that warns a day early costs nothing, one that warns a day late is the failure privacy
// teams fear most. In particular public holidays are not skipped (that would move a
// deadline later), and neither is a deadline that falls on a weekend.
package deadline

import (
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/schemas"
)

// Regime is the law a request is handled under.
type Regime string

const (
	GDPR Regime = "gdpr" // GDPR and UK GDPR
	CCPA Regime = "ccpa" // CCPA as amended by the CPRA
	// Email is the bulk-sender rule for unsubscribes (Gmail and Yahoo, with RFC 8058
	// one-click), which applies whatever the recipient's jurisdiction.
	Email Regime = "email"
)

// Kind is what is asked.
type Kind string

const (
	Access          Kind = schemas.RequestAccess
	Portability     Kind = schemas.RequestPortability
	Erasure         Kind = schemas.RequestErasure
	Rectification   Kind = schemas.RequestRectification
	Restriction     Kind = schemas.RequestRestriction
	Objection       Kind = schemas.RequestObjection
	SaleShareOptOut Kind = "sale_share_opt_out"
	Unsubscribe     Kind = "unsubscribe"
)

// Rule is one law's time limit. Exactly one of Months, Days, BusinessDays and Within
// is set; Extension, when set, is how far the limit may be extended, with notice to the
// person and a reason, counted the same way and from the same receipt.
type Rule struct {
	Citation     string
	Months       int
	Days         int
	BusinessDays int
	Within       time.Duration
	// ExtensionMonths and ExtensionDays bound an extension; zero means none is allowed.
	ExtensionMonths int
	ExtensionDays   int
}

var (
	gdprOneMonth = Rule{Citation: "GDPR Art. 12(3): one month of receipt, extendable by two further months",
		Months: 1, ExtensionMonths: 2}
	ccpa45Days = Rule{Citation: "CCPA §1798.130(a)(2), Regs. §7021: 45 calendar days, extendable once by 45",
		Days: 45, ExtensionDays: 45}
	ccpaOptOut = Rule{Citation: "CCPA Regs. §7026(f): no later than 15 business days", BusinessDays: 15}
	email48h   = Rule{Citation: "Gmail/Yahoo bulk-sender requirements: unsubscribes honoured within 48 hours", Within: 48 * time.Hour}
)

// ErrNoRule is returned for a kind the regime gives no time limit for.
var ErrNoRule = errors.New("deadline: no time limit for this request under this regime")

// For returns the rule for a request of kind under regime.
func For(regime Regime, kind Kind) (Rule, error) {
	switch regime {
	case GDPR:
		switch kind {
		// Under the GDPR an opt-out of sale is an objection or a withdrawal of consent.
		case Access, Portability, Erasure, Rectification, Restriction, Objection, SaleShareOptOut:
			return gdprOneMonth, nil
		}
	case CCPA:
		switch kind {
		case Access, Portability, Erasure, Rectification:
			return ccpa45Days, nil
		case SaleShareOptOut, Objection, Restriction:
			// Opt-outs of sale/sharing and limits on sensitive data share CCPA Regs. §7026's limit.
			return ccpaOptOut, nil
		}
	case Email:
		if kind == Unsubscribe {
			return email48h, nil
		}
	default:
		return Rule{}, fmt.Errorf("deadline: unknown regime %q (want gdpr, ccpa or email)", regime)
	}
	return Rule{}, fmt.Errorf("%w: %s under %s", ErrNoRule, kind, regime)
}

// Due is the instant before which a request received at received must be answered.
// Day-counted limits end at the end of a day in loc, the place whose calendar counts
// (the controller's establishment); the day of receipt is not counted (EU Regulation
// 1182/71 Art. 3(1); Cal. Civ. Code §10).
func (r Rule) Due(received time.Time, loc *time.Location) time.Time {
	return r.due(received, loc, r.Months, r.Days)
}

// Latest is the deadline with the longest extension the rule allows; a rule without
// one returns Due.
func (r Rule) Latest(received time.Time, loc *time.Location) time.Time {
	return r.due(received, loc, r.Months+r.ExtensionMonths, r.Days+r.ExtensionDays)
}

// Extendable says whether the rule allows an extension at all.
func (r Rule) Extendable() bool { return r.ExtensionMonths > 0 || r.ExtensionDays > 0 }

func (r Rule) due(received time.Time, loc *time.Location, months, days int) time.Time {
	if r.Within > 0 {
		return received.Add(r.Within)
	}
	local := received.In(loc)
	y, m, d := local.Date()
	var last time.Time // the last day of the period, at midnight
	switch {
	case months > 0:
		last = addMonths(y, m, d, months, loc)
	case days > 0:
		last = time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	default:
		last = addBusinessDays(time.Date(y, m, d, 0, 0, 0, 0, loc), r.BusinessDays)
	}
	ly, lm, ld := last.Date()
	return time.Date(ly, lm, ld+1, 0, 0, 0, 0, loc) // the end of the last day
}

// addMonths is the same date n months later, or the last day of that month when it is
// shorter (31 January + 1 month = 28 or 29 February).
func addMonths(y int, m time.Month, d, n int, loc *time.Location) time.Time {
	firstOfTarget := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, loc)
	ty, tm, _ := firstOfTarget.Date()
	lastDay := time.Date(ty, tm+1, 0, 0, 0, 0, 0, loc).Day()
	return time.Date(ty, tm, min(d, lastDay), 0, 0, 0, 0, loc)
}

// addBusinessDays counts n weekdays after day (not counting day itself).
func addBusinessDays(day time.Time, n int) time.Time {
	for n > 0 {
		y, m, d := day.Date()
		day = time.Date(y, m, d+1, 0, 0, 0, 0, day.Location())
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return day
}

// Status is how a request stands against its deadline.
type Status string

const (
	OnTrack Status = "on_track"
	AtRisk  Status = "at_risk" // less than a fifth of the time allowed is left
	Overdue Status = "overdue"
)

// StatusAt says how a request received at received and due at due stands at now.
func StatusAt(now, received, due time.Time) Status {
	switch left := due.Sub(now); {
	case left <= 0:
		return Overdue
	case left*5 < due.Sub(received):
		return AtRisk
	default:
		return OnTrack
	}
}
