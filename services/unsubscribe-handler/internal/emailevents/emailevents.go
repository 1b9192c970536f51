// Package emailevents reads the bounces and spam complaints an email platform reports,
// in Consentry's own documented shape or as SendGrid's Event Webhook posts them, into one
// form. Only what makes an address undeliverable or unwanted is kept: hard bounces and
// complaints. Soft bounces, blocks and engagement events are counted and dropped.
//
// A batch is read whole before anything is acted on: one bad event rejects the batch with
// every field at fault named, so nothing is half-applied.
package emailevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
	"github.com/consentry/consentry/platform/pseudonym"
)

// Kinds of event that suppress an address; they are also the suppression reasons.
const (
	HardBounce    = "hard_bounce"
	SpamComplaint = "spam_complaint"
)

// Kinds of event that are the recipient's own opt-out, read only from a post whose
// signature was verified (ParseSendGridSigned): anyone could claim them otherwise.
const (
	Unsubscribe      = "unsubscribe"       // from all marketing email
	GroupUnsubscribe = "group_unsubscribe" // from one SendGrid unsubscribe group (Event.Group)
)

// Shapes a body can have.
const (
	Simple   = "simple"
	SendGrid = "sendgrid"
)

// MaxEvents bounds a batch.
const MaxEvents = 1000

// Event is one bounce or complaint to act on.
type Event struct {
	Tenant     string
	Email      string
	Kind       string // HardBounce or SpamComplaint
	OccurredAt time.Time
	// ProviderID is the platform's own id of the event (SendGrid's sg_event_id), or ""
	// when the shape has none.
	ProviderID string
	// Group is SendGrid's asm_group_id on a GroupUnsubscribe.
	Group int64
}

// Batch is what a body held.
type Batch struct {
	Events  []Event
	Ignored int // events that suppress nothing (soft bounces, blocks, opens, ...)
}

// Sniff tells the shapes apart: SendGrid always posts a JSON array of objects that carry
// "event"; the simple shape is an object (one event, or {"events": [...]}).
func Sniff(body []byte) string {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		return SendGrid
	}
	return Simple
}

type simpleEvent struct {
	Tenant     string `json:"tenant"`
	Email      string `json:"email"`
	Type       string `json:"type"`
	OccurredAt string `json:"occurred_at"`
}

// ParseSimple reads {"tenant","email","type","occurred_at"} or {"events": [...]}. Type is
// hard_bounce or spam_complaint; soft_bounce is accepted and ignored.
func ParseSimple(body []byte) (Batch, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return Batch{}, jsonstrict.Decode(body, "", &probe)
	}
	var events []simpleEvent
	prefix := func(i int) string { return "" }
	if _, batch := probe["events"]; batch {
		var b struct {
			Events []simpleEvent `json:"events"`
		}
		if err := jsonstrict.Decode(body, "", &b); err != nil {
			return Batch{}, err
		}
		events = b.Events
		prefix = func(i int) string { return fmt.Sprintf("events[%d].", i) }
	} else {
		var e simpleEvent
		if err := jsonstrict.Decode(body, "", &e); err != nil {
			return Batch{}, err
		}
		events = []simpleEvent{e}
	}
	if err := checkSize(len(events), "events"); err != nil {
		return Batch{}, err
	}
	var out Batch
	var bad []apierror.FieldError
	fail := func(i int, field, msg string) {
		bad = append(bad, apierror.FieldError{Field: prefix(i) + field, Message: msg})
	}
	for i, e := range events {
		if e.Tenant == "" || len(e.Tenant) > 128 {
			fail(i, "tenant", "is required and at most 128 bytes")
		}
		email := strings.TrimSpace(e.Email)
		if !pseudonym.PlausibleEmail(email) {
			fail(i, "email", "is not an email address")
		}
		at, err := time.Parse(time.RFC3339Nano, e.OccurredAt)
		if err != nil {
			fail(i, "occurred_at", "must be an RFC 3339 time")
		}
		switch e.Type {
		case HardBounce, SpamComplaint:
			out.Events = append(out.Events, Event{Tenant: e.Tenant, Email: email, Kind: e.Type, OccurredAt: at.UTC()})
		case "soft_bounce":
			out.Ignored++
		default:
			fail(i, "type", `must be "hard_bounce", "spam_complaint" or "soft_bounce"`)
		}
	}
	if len(bad) > 0 {
		return Batch{}, apierror.Fields(bad)
	}
	return out, nil
}

// sendGridEvent holds the fields of a SendGrid Event Webhook event that matter here;
// the platform sends many more (sg_message_id, category, ip, ...), all ignored.
type sendGridEvent struct {
	Event     *string `json:"event"`
	Email     *string `json:"email"`
	Timestamp any     `json:"timestamp"` // checked by hand: a json.Number field rejects text without naming itself
	EventID   *string `json:"sg_event_id"`
	Type      *string `json:"type"`   // on bounce: "bounce" (hard) or "blocked" (soft)
	Reason    *string `json:"reason"` // on dropped: why SendGrid did not send
	Group     any     `json:"asm_group_id"`
}

// Reasons SendGrid gives for dropping a message that say the address bounced or
// complained before (the others — unsubscribed, invalid headers — do not).
var droppedKinds = map[string]string{
	"Bounced Address":        HardBounce,
	"Spam Reporting Address": SpamComplaint,
}

// ParseSendGrid reads SendGrid's Event Webhook body (a JSON array of events) for tenant.
// bounce with type "bounce" is a hard bounce and "blocked" a soft one; spamreport is a
// complaint; dropped counts when its reason names a bounced or reporting address.
func ParseSendGrid(body []byte, tenant string) (Batch, error) {
	return parseSendGrid(body, tenant, false)
}

// ParseSendGridSigned reads a post whose SendGrid signature was verified: as
// ParseSendGrid, and also unsubscribe (Unsubscribe) and group_unsubscribe with its
// asm_group_id (GroupUnsubscribe). group_resubscribe is ignored: a grant is never taken
// from a platform's event (it needs the person's confirmed choice).
func ParseSendGridSigned(body []byte, tenant string) (Batch, error) {
	return parseSendGrid(body, tenant, true)
}

func parseSendGrid(body []byte, tenant string, optOuts bool) (Batch, error) {
	var raw []json.RawMessage
	if err := jsonstrict.Decode(body, "", &raw); err != nil {
		return Batch{}, err
	}
	if err := checkSize(len(raw), "(body)"); err != nil {
		return Batch{}, err
	}
	var out Batch
	var bad []apierror.FieldError
	fail := func(i int, field, msg string) {
		bad = append(bad, apierror.FieldError{Field: fmt.Sprintf("[%d].%s", i, field), Message: msg})
	}
	for i, r := range raw {
		var e sendGridEvent
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			var typ *json.UnmarshalTypeError
			if errors.As(err, &typ) && typ.Field != "" {
				fail(i, typ.Field, "has the wrong type")
			} else {
				bad = append(bad, apierror.FieldError{Field: fmt.Sprintf("[%d]", i), Message: "must be an object"})
			}
			continue
		}
		if e.Event == nil || *e.Event == "" {
			fail(i, "event", "is required")
			continue
		}
		kind := ""
		switch *e.Event {
		case "bounce":
			if e.Type == nil || *e.Type != "blocked" {
				kind = HardBounce
			}
		case "spamreport":
			kind = SpamComplaint
		case "dropped":
			if e.Reason != nil {
				kind = droppedKinds[*e.Reason]
			}
		case Unsubscribe, GroupUnsubscribe:
			if optOuts {
				kind = *e.Event
			}
		}
		if kind == "" {
			out.Ignored++
			continue
		}
		n := len(bad)
		var email string
		if e.Email != nil {
			email = strings.TrimSpace(*e.Email)
		}
		if !pseudonym.PlausibleEmail(email) {
			fail(i, "email", "is not an email address")
		}
		var secs int64
		if n, ok := e.Timestamp.(json.Number); ok {
			secs, _ = n.Int64()
		}
		if secs <= 0 {
			fail(i, "timestamp", "must be a positive Unix time in seconds")
		}
		if e.EventID == nil || *e.EventID == "" || len(*e.EventID) > 256 {
			fail(i, "sg_event_id", "is required and at most 256 bytes")
		}
		var group int64
		if kind == GroupUnsubscribe {
			if n, ok := e.Group.(json.Number); ok {
				group, _ = n.Int64()
			}
			if group <= 0 {
				fail(i, "asm_group_id", "must be a positive integer on group_unsubscribe")
			}
		}
		if len(bad) > n {
			continue
		}
		out.Events = append(out.Events, Event{Tenant: tenant, Email: email, Kind: kind,
			OccurredAt: time.Unix(secs, 0).UTC(), ProviderID: *e.EventID, Group: group})
	}
	if len(bad) > 0 {
		return Batch{}, apierror.Fields(bad)
	}
	return out, nil
}

func checkSize(n int, field string) error {
	if n == 0 {
		return apierror.Fields([]apierror.FieldError{{Field: field, Message: "holds no event"}})
	}
	if n > MaxEvents {
		return apierror.Fields([]apierror.FieldError{{Field: field, Message: fmt.Sprintf("holds more than %d events", MaxEvents)}})
	}
	return nil
}
