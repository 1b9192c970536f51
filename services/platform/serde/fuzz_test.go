package serde_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/devregistry"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

// FuzzDecode feeds arbitrary record values to a consumer's Decode against a live,
// healthy in-process registry. Decode must never panic, and every failure must be
// classified: not Confluent framing, an id the registry lacks, or a body that does not
// decode or validate — all poison, dead-lettered. With the registry up, nothing may be
// called retryable (kafka.ErrRetryDecode), or one bad record would stall its partition
// for ever. What decodes must validate, carry the id of its header and survive a round
// trip through Encode.
//
// The serde caches the four seeded schemas by id after their first use, so only ids the
// registry lacks cost a (loopback) registry call.
func FuzzDecode(f *testing.F) {
	topics := kafka.DefaultTopics()
	reg, err := devregistry.New(topics)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(reg.Close)
	writes := serde.RecordsByTopic(topics)
	client, err := serde.NewClient(reg.URL(), "", "", "", &http.Client{Timeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	sd, err := serde.New(context.Background(), serde.Config{Client: client, Writes: writes})
	if err != nil {
		f.Fatal(err)
	}
	topicOf := map[string]string{}
	for topic, record := range writes {
		topicOf[record] = topic
	}

	at := time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)
	h := schemas.Header{EventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", Tenant: "consumer", SubjectKey: "sk",
		OccurredAt: at, RecordedAt: at, Source: "cmp", PolicyVersion: "2025-04-09",
		Identifiers: &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte("0123456789ab"), Ciphertext: []byte{0xde, 0xad}}}
	events := []schemas.Event{
		&schemas.ConsentChanged{Header: h, Purposes: map[string]string{"analytics": "denied", "essential": "granted"}},
		&schemas.PrivacyRequest{Header: h, RequestID: h.EventID, Type: "erasure", Reason: "user_request", Status: "received", DeadlineAt: &at},
		&schemas.SuppressionChanged{Header: h, EmailSHA256: strings.Repeat("ab", 32), Scope: "all", Reason: "opt_out", SourceEventID: h.EventID},
		&schemas.VendorReceipt{Header: h, SourceEventID: h.EventID, Vendor: "amplitude", Action: "delete_user", Outcome: "accepted", Attempts: 2, HTTPStatus: 200},
	}
	var bodies [][]byte
	for _, e := range events {
		b, err := sd.Encode(topicOf[e.SchemaName()], e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		bodies = append(bodies, b[5:])
	}
	framed := func(id uint32, body []byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0}, id), body...)
	}
	f.Add(framed(401, bodies[0]))                          // a consent's body under the receipt's id
	f.Add(framed(101, bodies[0][:len(bodies[0])/2]))       // truncated
	f.Add(framed(101, append(slices.Clone(bodies[0]), 0))) // trailing byte
	f.Add(framed(12345, bodies[0]))                        // an id the registry lacks
	f.Add(framed(0xffffffff, nil))
	f.Add(append([]byte{1}, bodies[0]...)) // wrong magic byte
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{})
	f.Add([]byte(`{"event_id":"019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6"}`)) // JSON, not Avro

	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		e, id, err := sd.Decode(ctx, b)
		framedOK := len(b) >= 5 && b[0] == 0
		switch {
		case err == nil:
			if e == nil {
				t.Fatal("no event and no error")
			}
		case e != nil:
			t.Fatalf("an event and the error %v", err)
		case errors.Is(err, serde.ErrFraming):
			if framedOK {
				t.Errorf("framed record % x called unframed: %v", b[:5], err)
			}
			return
		case !framedOK:
			t.Fatalf("unframed record not called unframed: %v", err)
		case errors.Is(err, kafka.ErrRetryDecode):
			t.Fatalf("the registry is up, yet the record is to be retried: %v", err)
		case errors.Is(err, serde.ErrUnknownSchema),
			strings.HasPrefix(err.Error(), "schemas: decode "),
			strings.Contains(err.Error(), " is invalid: "):
			// poison, named as such
		default:
			t.Fatalf("unclassified error %v", err)
		}
		if want := int(binary.BigEndian.Uint32(b[1:5])); id != want {
			t.Errorf("id %d, header says %d", id, want)
		}
		if err != nil {
			return
		}
		if err := schemas.Validate(e); err != nil {
			t.Fatalf("decoded an invalid event: %v", err)
		}
		out, err := sd.Encode(topicOf[e.SchemaName()], e)
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
		back, _, err := sd.Decode(ctx, out)
		if err != nil {
			t.Fatalf("a re-encoded event does not decode: %v", err)
		}
		if !reflect.DeepEqual(e, back) {
			t.Errorf("round trip changed the event:\n%+v\n%+v", e, back)
		}
	})
}
