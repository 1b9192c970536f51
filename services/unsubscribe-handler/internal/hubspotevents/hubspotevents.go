// Package hubspotevents reads the batches HubSpot's Webhooks API posts (a JSON array of
// events, docs/vendors/hubspot.md) into the opt-outs they carry. An opt-out is a
// contact.propertyChange that sets one of the opt-out properties to "true": HubSpot's
// hs_email_optout ("unsubscribed from all email") or a property the tenant's workflows set
// when a contact opts out. Every other event — other types, other properties, a property
// set back to "false" — is counted and dropped: a grant is never taken from a platform's
// event, it needs the person's confirmed choice.
//
// The events name the contact by HubSpot's record ID only; the address is read from
// HubSpot afterwards. A batch is read whole before anything is acted on: one malformed
// opt-out rejects the batch with every field at fault named.
package hubspotevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
)

// OptOutProperty is HubSpot's own "unsubscribed from all email" contact property.
const OptOutProperty = "hs_email_optout"

// PropertyChange is the subscription type of a contact property change.
const PropertyChange = "contact.propertyChange"

// MaxEvents bounds a batch. HubSpot sends up to 100 events a request; the margin is
// for a batch size it may raise.
const MaxEvents = 1000

// propertyPattern is the shape of a HubSpot property's internal name.
var propertyPattern = regexp.MustCompile(`^[a-z0-9_]{1,100}$`)

// Properties are the contact properties whose change to "true" is an opt-out of all
// marketing email.
type Properties map[string]bool

// ParseProperties reads the configured extra properties; hs_email_optout is always one.
func ParseProperties(names []string) (Properties, error) {
	p := Properties{OptOutProperty: true}
	for _, n := range names {
		if !propertyPattern.MatchString(n) {
			return nil, errors.New("each property is a HubSpot internal name: 1 to 100 of a-z, 0-9, '_'")
		}
		p[n] = true
	}
	return p, nil
}

// OptOut is one contact's opt-out, as HubSpot reported it.
type OptOut struct {
	PortalID   int64
	EventID    int64
	ObjectID   int64 // the contact's record ID
	Property   string
	OccurredAt time.Time
}

// Key names the event for deduplication. HubSpot documents eventId as "not guaranteed to
// be unique", so the account, the contact, the property and the time join it: a
// redelivery repeats all of them (only attemptNumber changes), two different events do not.
func (o OptOut) Key() string {
	return fmt.Sprintf("%d/%d/%d/%s/%d", o.PortalID, o.EventID, o.ObjectID, o.Property, o.OccurredAt.UnixMilli())
}

// Batch is what a body held.
type Batch struct {
	OptOuts []OptOut
	Ignored int
}

type event struct {
	EventID          any `json:"eventId"`
	PortalID         any `json:"portalId"`
	ObjectID         any `json:"objectId"`
	OccurredAt       any `json:"occurredAt"`
	SubscriptionType any `json:"subscriptionType"`
	PropertyName     any `json:"propertyName"`
	PropertyValue    any `json:"propertyValue"`
}

// Parse reads a webhook body. Fields are checked only on the events acted on, and every
// field is decoded untyped first, so that an event of a shape HubSpot adds later cannot
// fail a batch: a 4xx answer is one HubSpot never retries, and the opt-outs beside it
// would be lost.
func Parse(body []byte, props Properties) (Batch, error) {
	var raw []json.RawMessage
	if err := jsonstrict.Decode(body, "", &raw); err != nil {
		return Batch{}, err
	}
	if len(raw) == 0 {
		return Batch{}, apierror.Fields([]apierror.FieldError{{Field: "(body)", Message: "holds no event"}})
	}
	if len(raw) > MaxEvents {
		return Batch{}, apierror.Fields([]apierror.FieldError{{Field: "(body)", Message: fmt.Sprintf("holds more than %d events", MaxEvents)}})
	}
	var out Batch
	var bad []apierror.FieldError
	fail := func(i int, field, msg string) {
		bad = append(bad, apierror.FieldError{Field: fmt.Sprintf("[%d].%s", i, field), Message: msg})
	}
	for i, r := range raw {
		var e event
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			bad = append(bad, apierror.FieldError{Field: fmt.Sprintf("[%d]", i), Message: "must be an object"})
			continue
		}
		property, _ := e.PropertyName.(string)
		if e.SubscriptionType != PropertyChange || !props[property] || e.PropertyValue != "true" {
			out.Ignored++
			continue
		}
		n := len(bad)
		ids := [3]int64{}
		for j, f := range []struct {
			name string
			v    any
		}{{"portalId", e.PortalID}, {"eventId", e.EventID}, {"objectId", e.ObjectID}} {
			if ids[j] = positive(f.v); ids[j] == 0 {
				fail(i, f.name, "must be a positive integer")
			}
		}
		ms := positive(e.OccurredAt)
		if ms == 0 {
			fail(i, "occurredAt", "must be a positive Unix time in milliseconds")
		}
		if len(bad) > n {
			continue
		}
		out.OptOuts = append(out.OptOuts, OptOut{PortalID: ids[0], EventID: ids[1], ObjectID: ids[2],
			Property: property, OccurredAt: time.UnixMilli(ms).UTC()})
	}
	if len(bad) > 0 {
		return Batch{}, apierror.Fields(bad)
	}
	return out, nil
}

// positive reads a JSON integer above zero, or returns 0.
func positive(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || i <= 0 {
		return 0
	}
	return i
}
