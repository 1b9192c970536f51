package serde_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentry/consentry/devkit/devregistry"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

func newSerde(t *testing.T, url string, writes map[string]string, autoRegister bool) (*serde.Serde, error) {
	t.Helper()
	client, err := serde.NewClient(url, "", "", "", &http.Client{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return serde.New(context.Background(), serde.Config{Client: client, Writes: writes, AutoRegister: autoRegister})
}

func event() *schemas.ConsentChanged {
	at := time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)
	return &schemas.ConsentChanged{Header: schemas.Header{EventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", Tenant: "consumer",
		SubjectKey: "sk", OccurredAt: at, RecordedAt: at, Source: "cmp", PolicyVersion: "2025-04-09"},
		Purposes: map[string]string{"analytics": "denied"}}
}

func TestConfluentFramingRoundTrip(t *testing.T) {
	topics := kafka.DefaultTopics()
	reg, err := devregistry.New(topics)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	sd, err := newSerde(t, reg.URL(), map[string]string{topics.Consents: schemas.ConsentChangedName}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sd.Encode(topics.Consents, event())
	if err != nil {
		t.Fatal(err)
	}
	// Magic byte 0, then the big-endian id the seeded registry gives the newest version
	// of ConsentChanged (100 + its version), then the Avro body.
	history, err := schemas.History(schemas.ConsentChangedName)
	if err != nil {
		t.Fatal(err)
	}
	latest := 100 + len(history)
	if b[0] != 0 || b[1] != 0 || b[2] != 0 || b[3] != 0 || int(b[4]) != latest {
		t.Fatalf("header % x, want 00 00 00 00 %02x", b[:5], latest)
	}
	reader, _ := newSerde(t, reg.URL(), nil, false) // a consumer that writes nothing
	got, id, err := reader.Decode(context.Background(), b)
	if err != nil || id != latest {
		t.Fatalf("decode: id %d, %v", id, err)
	}
	if c := got.(*schemas.ConsentChanged); c.EventID != event().EventID || c.Purposes["analytics"] != "denied" {
		t.Errorf("decoded %+v", c)
	}
	if _, err := sd.Encode(topics.Receipts, event()); err == nil {
		t.Error("encoded for a topic this process does not write")
	}
}

func TestDecodeErrorsTellPoisonFromOutage(t *testing.T) {
	topics := kafka.DefaultTopics()
	reg, err := devregistry.New(topics)
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := newSerde(t, reg.URL(), nil, false)
	ctx := context.Background()
	if _, _, err := sd.Decode(ctx, []byte("not framed")); !errors.Is(err, serde.ErrFraming) {
		t.Errorf("unframed bytes: %v, want ErrFraming", err)
	}
	if _, _, err := sd.Decode(ctx, []byte{0, 0, 0}); !errors.Is(err, serde.ErrFraming) {
		t.Errorf("a short header: %v, want ErrFraming", err)
	}
	if _, _, err := sd.Decode(ctx, []byte{0, 0, 0, 0x30, 0x39, 2}); !errors.Is(err, serde.ErrUnknownSchema) {
		t.Errorf("an id the registry lacks: %v, want ErrUnknownSchema", err)
	}
	if _, _, err := sd.Decode(ctx, []byte{0, 0, 0, 0, 101, 0xff}); err == nil || errors.Is(err, kafka.ErrRetryDecode) {
		t.Errorf("a body that is not Avro: %v, want a poison error", err)
	}
	reg.Close() // the registry goes away: an id not yet cached cannot be judged
	if _, _, err := sd.Decode(ctx, []byte{0, 0, 0, 0, 201, 0}); !errors.Is(err, kafka.ErrRetryDecode) {
		t.Errorf("registry down: %v, want ErrRetryDecode", err)
	}
}

func TestProducerRegistersOnlyWhenAllowed(t *testing.T) {
	reg := srfake.New() // empty
	defer reg.Close()
	writes := map[string]string{"custom.topic.v1": schemas.VendorReceiptName}
	if _, err := newSerde(t, reg.URL(), writes, false); err == nil {
		t.Fatal("started against a registry without its schema, auto-register off")
	}
	if _, err := newSerde(t, reg.URL(), writes, true); err != nil {
		t.Fatalf("auto-register: %v", err)
	}
	if !reg.SubjectExists(serde.SubjectFor("custom.topic.v1")) {
		t.Error("the schema was not registered under the topic's subject")
	}
}
