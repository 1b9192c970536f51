package hubspotevents_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotevents"
)

func mustProps(t *testing.T, names ...string) hubspotevents.Properties {
	t.Helper()
	p, err := hubspotevents.ParseProperties(names)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	body := `[
 {"eventId":100,"subscriptionId":7,"portalId":62515,"appId":54321,"occurredAt":1764363845123,"subscriptionType":"contact.propertyChange",
  "attemptNumber":0,"objectId":501,"propertyName":"hs_email_optout","propertyValue":"true","changeSource":"EMAIL"},
 {"eventId":101,"portalId":62515,"occurredAt":1764363846000,"subscriptionType":"contact.propertyChange","objectId":502,
  "propertyName":"consentry_optout","propertyValue":"true"},
 {"eventId":102,"portalId":62515,"occurredAt":1764363847000,"subscriptionType":"contact.propertyChange","objectId":503,
  "propertyName":"hs_email_optout","propertyValue":"false"},
 {"eventId":103,"portalId":62515,"occurredAt":1764363848000,"subscriptionType":"contact.propertyChange","objectId":504,
  "propertyName":"firstname","propertyValue":"true"},
 {"eventId":104,"portalId":62515,"occurredAt":1764363849000,"subscriptionType":"contact.creation","objectId":505,"changeFlag":"NEW"},
 {"eventId":105,"portalId":62515,"occurredAt":1764363850000,"subscriptionType":"contact.privacyDeletion","objectId":506},
 {"eventId":"x","subscriptionType":{"future":"shape"},"propertyName":7,"propertyValue":true}]`
	b, err := hubspotevents.Parse([]byte(body), mustProps(t, "consentry_optout"))
	if err != nil {
		t.Fatal(err)
	}
	want := []hubspotevents.OptOut{
		{PortalID: 62515, EventID: 100, ObjectID: 501, Property: "hs_email_optout", OccurredAt: time.UnixMilli(1764363845123).UTC()},
		{PortalID: 62515, EventID: 101, ObjectID: 502, Property: "consentry_optout", OccurredAt: time.UnixMilli(1764363846000).UTC()},
	}
	if len(b.OptOuts) != 2 || b.OptOuts[0] != want[0] || b.OptOuts[1] != want[1] || b.Ignored != 5 {
		t.Errorf("parsed %+v", b)
	}
	// Without the extra property configured, its change is only counted.
	if b, _ := hubspotevents.Parse([]byte(body), mustProps(t)); len(b.OptOuts) != 1 || b.Ignored != 6 {
		t.Errorf("default properties: %+v", b)
	}
}

func TestKeySeparatesWhatHubSpotMayNumberAlike(t *testing.T) {
	at := time.UnixMilli(1764363845123)
	a := hubspotevents.OptOut{PortalID: 1, EventID: 9, ObjectID: 501, Property: "hs_email_optout", OccurredAt: at}
	for name, b := range map[string]hubspotevents.OptOut{
		"other portal":   {PortalID: 2, EventID: 9, ObjectID: 501, Property: "hs_email_optout", OccurredAt: at},
		"other contact":  {PortalID: 1, EventID: 9, ObjectID: 502, Property: "hs_email_optout", OccurredAt: at},
		"other property": {PortalID: 1, EventID: 9, ObjectID: 501, Property: "x", OccurredAt: at},
		"other time":     {PortalID: 1, EventID: 9, ObjectID: 501, Property: "hs_email_optout", OccurredAt: at.Add(time.Millisecond)},
	} {
		if a.Key() == b.Key() {
			t.Errorf("%s: same key %s", name, a.Key())
		}
	}
}

func TestParseRejects(t *testing.T) {
	props := mustProps(t)
	optOut := func(fields string) string {
		return `[{"subscriptionType":"contact.propertyChange","propertyName":"hs_email_optout","propertyValue":"true"` + fields + `}]`
	}
	cases := map[string]struct{ body, field string }{
		"not an array":    {`{"eventId":1}`, ""},
		"empty":           {`[]`, "(body)"},
		"not an object":   {`[1]`, "[0]"},
		"no eventId":      {optOut(`,"portalId":1,"objectId":2,"occurredAt":3`), "[0].eventId"},
		"text portalId":   {optOut(`,"eventId":1,"portalId":"1","objectId":2,"occurredAt":3`), "[0].portalId"},
		"zero objectId":   {optOut(`,"eventId":1,"portalId":1,"objectId":0,"occurredAt":3`), "[0].objectId"},
		"fraction":        {optOut(`,"eventId":1.5,"portalId":1,"objectId":2,"occurredAt":3`), "[0].eventId"},
		"no occurredAt":   {optOut(`,"eventId":1,"portalId":1,"objectId":2`), "[0].occurredAt"},
		"too many events": {"[" + strings.Repeat(`{},`, hubspotevents.MaxEvents) + "{}]", "(body)"},
	}
	for name, c := range cases {
		_, err := hubspotevents.Parse([]byte(c.body), props)
		var ae *apierror.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s: %v, want a field error", name, err)
			continue
		}
		if c.field != "" && !strings.Contains(err.Error()+fieldsOf(ae), c.field) {
			t.Errorf("%s: %v (%s), want it to name %s", name, err, fieldsOf(ae), c.field)
		}
	}
}

func fieldsOf(e *apierror.Error) string {
	var s []string
	for _, f := range e.Fields {
		s = append(s, f.Field)
	}
	return strings.Join(s, ",")
}

func TestParseProperties(t *testing.T) {
	for _, bad := range []string{"", "Has-Caps", "a b", strings.Repeat("a", 101), "*"} {
		if _, err := hubspotevents.ParseProperties([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
