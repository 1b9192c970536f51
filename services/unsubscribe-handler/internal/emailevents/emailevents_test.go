package emailevents_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/emailevents"
)

func TestSniff(t *testing.T) {
	if got := emailevents.Sniff([]byte(` [{"event":"bounce"}]`)); got != emailevents.SendGrid {
		t.Errorf("an array sniffs as %s", got)
	}
	if got := emailevents.Sniff([]byte(`{"events":[]}`)); got != emailevents.Simple {
		t.Errorf("an object sniffs as %s", got)
	}
}

func TestParseSimple(t *testing.T) {
	one := `{"tenant":"consumer","email":"Ada@Example.com ","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"}`
	b, err := emailevents.ParseSimple([]byte(one))
	if err != nil {
		t.Fatal(err)
	}
	want := emailevents.Event{Tenant: "consumer", Email: "Ada@Example.com", Kind: "hard_bounce", OccurredAt: time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)}
	if len(b.Events) != 1 || b.Events[0] != want {
		t.Errorf("one event: %+v", b)
	}
	batch := `{"events":[` + one + `,{"tenant":"acme","email":"b@example.com","type":"spam_complaint","occurred_at":"2026-11-28T21:04:05+01:00"},
		{"tenant":"acme","email":"c@example.com","type":"soft_bounce","occurred_at":"2026-11-28T21:04:05Z"}]}`
	b, err = emailevents.ParseSimple([]byte(batch))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 2 || b.Ignored != 1 || b.Events[1].Kind != "spam_complaint" || !b.Events[1].OccurredAt.Equal(time.Date(2026, 11, 28, 20, 4, 5, 0, time.UTC)) {
		t.Errorf("batch: %+v", b)
	}
}

func TestParseSendGrid(t *testing.T) {
	body := `[
	 {"email":"a@example.com","timestamp":1764363845,"event":"bounce","type":"bounce","sg_event_id":"ZGVsaXZlcmVk-1","sg_message_id":"m.1","reason":"550 5.1.1 unknown user","status":"5.1.1"},
	 {"email":"b@example.com","timestamp":1764363846,"event":"bounce","type":"blocked","sg_event_id":"e2"},
	 {"email":"c@example.com","timestamp":1764363847,"event":"spamreport","sg_event_id":"e3"},
	 {"email":"d@example.com","timestamp":1764363848,"event":"dropped","reason":"Bounced Address","sg_event_id":"e4"},
	 {"email":"e@example.com","timestamp":1764363849,"event":"dropped","reason":"Unsubscribed Address","sg_event_id":"e5"},
	 {"email":"f@example.com","timestamp":1764363850,"event":"delivered","sg_event_id":"e6","category":["promo"]},
	 {"email":"g@example.com","timestamp":1764363851,"event":"open","sg_event_id":"e7","useragent":"x"}
	]`
	b, err := emailevents.ParseSendGrid([]byte(body), "consumer")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Events {
		got = append(got, e.Email+"="+e.Kind+"/"+e.ProviderID)
	}
	want := "a@example.com=hard_bounce/ZGVsaXZlcmVk-1,c@example.com=spam_complaint/e3,d@example.com=hard_bounce/e4"
	if strings.Join(got, ",") != want || b.Ignored != 4 {
		t.Errorf("events %v, ignored %d; want %s and 4", got, b.Ignored, want)
	}
	if !b.Events[0].OccurredAt.Equal(time.Unix(1764363845, 0)) || b.Events[0].Tenant != "consumer" {
		t.Errorf("first event %+v", b.Events[0])
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	cases := []struct {
		name, shape, body string
		fields            []string
	}{
		{"simple: unknown type", "simple", `{"tenant":"t","email":"a@example.com","type":"bounced","occurred_at":"2026-11-28T21:04:05Z"}`, []string{"type"}},
		{"simple: bad time and email in a batch", "simple", `{"events":[{"tenant":"t","email":"a@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"},{"tenant":"t","email":"nope","type":"hard_bounce","occurred_at":"yesterday"}]}`, []string{"events[1].email", "events[1].occurred_at"}},
		{"simple: missing tenant", "simple", `{"email":"a@example.com","type":"hard_bounce","occurred_at":"2026-11-28T21:04:05Z"}`, []string{"tenant"}},
		{"simple: unknown field", "simple", `{"tenant":"t","mail":"a@example.com"}`, []string{"mail"}},
		{"simple: empty batch", "simple", `{"events":[]}`, []string{"events"}},
		{"sendgrid: timestamp as text", "sendgrid", `[{"email":"a@example.com","timestamp":"soon","event":"spamreport","sg_event_id":"e1"}]`, []string{"[0].timestamp"}},
		{"sendgrid: no id", "sendgrid", `[{"email":"a@example.com","timestamp":1,"event":"spamreport"},{"event":"open"}]`, []string{"[0].sg_event_id"}},
		{"sendgrid: no event", "sendgrid", `[{"email":"a@example.com","timestamp":1}]`, []string{"[0].event"}},
		{"sendgrid: not an object", "sendgrid", `[{"event":"open"}, 3]`, []string{"[1]"}},
		{"sendgrid: no address", "sendgrid", `[{"timestamp":1,"event":"bounce","sg_event_id":"e1"}]`, []string{"[0].email"}},
	}
	for _, c := range cases {
		var err error
		if c.shape == "simple" {
			_, err = emailevents.ParseSimple([]byte(c.body))
		} else {
			_, err = emailevents.ParseSendGrid([]byte(c.body), "t")
		}
		var api *apierror.Error
		if !errors.As(err, &api) {
			t.Errorf("%s: %v, want an API error", c.name, err)
			continue
		}
		var fields []string
		for _, f := range api.Fields {
			fields = append(fields, f.Field)
		}
		if strings.Join(fields, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: fields %v, want %v", c.name, fields, c.fields)
		}
		if strings.Contains(err.Error(), "@") {
			t.Errorf("%s: the error repeats an address: %v", c.name, err)
		}
	}
}

func TestParseSendGridSignedTakesOptOuts(t *testing.T) {
	body := `[
	 {"email":"a@example.com","timestamp":1764363845,"event":"unsubscribe","sg_event_id":"u1"},
	 {"email":"b@example.com","timestamp":1764363846,"event":"group_unsubscribe","asm_group_id":42,"sg_event_id":"u2"},
	 {"email":"c@example.com","timestamp":1764363847,"event":"group_resubscribe","asm_group_id":42,"sg_event_id":"u3"},
	 {"email":"d@example.com","timestamp":1764363848,"event":"spamreport","sg_event_id":"u4"}
	]`
	b, err := emailevents.ParseSendGridSigned([]byte(body), "consumer")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Events {
		got = append(got, fmt.Sprintf("%s=%s/%d", e.Email, e.Kind, e.Group))
	}
	want := "a@example.com=unsubscribe/0,b@example.com=group_unsubscribe/42,d@example.com=spam_complaint/0"
	if strings.Join(got, ",") != want || b.Ignored != 1 {
		t.Errorf("events %v, ignored %d; want %s and 1", got, b.Ignored, want)
	}
	// Unsigned, the same body's opt-outs are not taken: anyone could have posted them.
	if b, err := emailevents.ParseSendGrid([]byte(body), "consumer"); err != nil || len(b.Events) != 1 || b.Ignored != 3 {
		t.Errorf("unsigned parse: %+v %v", b, err)
	}
	_, err = emailevents.ParseSendGridSigned([]byte(`[{"email":"a@example.com","timestamp":1,"event":"group_unsubscribe","sg_event_id":"x"}]`), "t")
	var api *apierror.Error
	if !errors.As(err, &api) || len(api.Fields) != 1 || api.Fields[0].Field != "[0].asm_group_id" {
		t.Errorf("group_unsubscribe without a group: %v", err)
	}
}
