package deadline

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, on a machine without a zone database
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDue(t *testing.T) {
	paris, la := mustLoad(t, "Europe/Paris"), mustLoad(t, "America/Los_Angeles")
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		regime   Regime
		kind     Kind
		loc      *time.Location
		received time.Time
		due      time.Time // the end of the last day, i.e. midnight after it
		latest   time.Time
	}{
		{"GDPR: the same date a month later", GDPR, Erasure, paris, at(paris, "2026-03-05 14:00"),
			at(paris, "2026-04-06 00:00"), at(paris, "2026-06-06 00:00")},
		{"GDPR: 31 January ends with February (not a leap year)", GDPR, Access, paris, at(paris, "2027-01-31 09:00"),
			at(paris, "2027-03-01 00:00"), at(paris, "2027-05-01 00:00")},
		{"GDPR: 31 January in a leap year ends on 29 February", GDPR, Access, paris, at(paris, "2028-01-31 09:00"),
			at(paris, "2028-03-01 00:00"), at(paris, "2028-05-01 00:00")},
		{"GDPR: 30 November + 1 month = 30 December, across the year end with extension", GDPR, Portability, paris,
			at(paris, "2026-11-30 23:30"), at(paris, "2026-12-31 00:00"), at(paris, "2027-03-01 00:00")},
		{"GDPR: the date counts in the controller's zone, not in UTC", GDPR, Erasure, paris,
			time.Date(2026, 3, 31, 22, 30, 0, 0, time.UTC), // 1 April 00:30 in Paris
			at(paris, "2026-05-02 00:00"), at(paris, "2026-07-02 00:00")},
		{"GDPR: a saturday deadline (10 October 2026) is not moved to monday", GDPR, Erasure, paris, at(paris, "2026-09-10 10:00"),
			at(paris, "2026-10-11 00:00"), at(paris, "2026-12-11 00:00")},
		{"CCPA: 45 days, the day of receipt not counted", CCPA, Access, la, at(la, "2026-01-01 08:00"),
			at(la, "2026-02-16 00:00"), at(la, "2026-04-02 00:00")},
		{"CCPA: across the spring DST change the deadline is still local midnight", CCPA, Erasure, la, at(la, "2026-02-20 23:59"),
			at(la, "2026-04-07 00:00"), at(la, "2026-05-22 00:00")},
		{"CCPA opt-out: 15 business days skip weekends, received on a friday", CCPA, SaleShareOptOut, la, at(la, "2026-11-27 16:00"),
			at(la, "2026-12-19 00:00"), at(la, "2026-12-19 00:00")},
		{"CCPA opt-out: received on a saturday", CCPA, SaleShareOptOut, la, at(la, "2026-11-28 16:00"),
			at(la, "2026-12-19 00:00"), at(la, "2026-12-19 00:00")},
		{"email unsubscribe: 48 hours to the minute, whatever the zone", Email, Unsubscribe, la,
			time.Date(2026, 11, 28, 23, 15, 0, 0, time.UTC), time.Date(2026, 11, 30, 23, 15, 0, 0, time.UTC),
			time.Date(2026, 11, 30, 23, 15, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := For(c.regime, c.kind)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Due(c.received, c.loc); !got.Equal(c.due) {
				t.Errorf("due %s, want %s", got.In(c.loc), c.due.In(c.loc))
			}
			if got := r.Latest(c.received, c.loc); !got.Equal(c.latest) {
				t.Errorf("latest %s, want %s", got.In(c.loc), c.latest.In(c.loc))
			}
			if r.Extendable() != !c.latest.Equal(c.due) {
				t.Errorf("extendable %v with due %s and latest %s", r.Extendable(), c.due, c.latest)
			}
		})
	}
}

func TestForNamesWhatHasNoRule(t *testing.T) {
	if _, err := For(Email, Erasure); !errors.Is(err, ErrNoRule) {
		t.Errorf("email erasure: %v, want ErrNoRule", err)
	}
	if _, err := For("lgpd", Access); err == nil || errors.Is(err, ErrNoRule) {
		t.Errorf("unknown regime: %v, want an error naming it", err)
	}
	for _, k := range []Kind{Access, Portability, Erasure, Rectification, Restriction, Objection, SaleShareOptOut} {
		for _, r := range []Regime{GDPR, CCPA} {
			if _, err := For(r, k); err != nil {
				t.Errorf("%s under %s: %v", k, r, err)
			}
		}
	}
}

func TestStatusAt(t *testing.T) {
	received := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	due := received.Add(100 * time.Hour)
	cases := []struct {
		now  time.Time
		want Status
	}{
		{received, OnTrack},
		{received.Add(80 * time.Hour), OnTrack}, // exactly a fifth left
		{received.Add(81 * time.Hour), AtRisk},
		{due.Add(-time.Nanosecond), AtRisk},
		{due, Overdue},
		{due.Add(time.Hour), Overdue},
	}
	for _, c := range cases {
		if got := StatusAt(c.now, received, due); got != c.want {
			t.Errorf("at +%v: %s, want %s", c.now.Sub(received), got, c.want)
		}
	}
}
