package main

import (
	"context"
	"fmt"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	auditdb "github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

type sink struct {
	serde  *serde.Serde
	store  *auditdb.Store
	topics kafka.Topics
}

// decode turns a record into its audit row. A tombstone on the suppression topic is the
// lifting of a suppression: audited too, under the id its headers carry.
func (s *sink) decode(ctx context.Context, m kafka.Message) (auditdb.Row, error) {
	r, err := s.record(ctx, m)
	if err != nil {
		return auditdb.Row{}, err
	}
	return auditdb.Prepare(r)
}

func (s *sink) record(ctx context.Context, m kafka.Message) (audit.Record, error) {
	if m.Value == nil {
		if m.Topic != s.topics.Suppressions {
			return audit.Record{}, fmt.Errorf("topic %s carries a record without a value", m.Topic)
		}
		id := kafka.HeaderValue(m, kafka.HeaderEventID)
		if !eventid.Valid(id) {
			id = eventid.FromPosition(m.Topic, m.Partition, m.Offset)
		}
		r := audit.Record{EventID: id, EventType: audit.TypeSuppressionLifted, Tenant: kafka.HeaderValue(m, kafka.HeaderTenant),
			Details: map[string]any{"email_sha256": string(m.Key)}}
		if src := kafka.HeaderValue(m, kafka.HeaderSourceEventID); eventid.Valid(src) {
			r.SourceEventID = src
			r.Details["source_event_id"] = src
		}
		return withPosition(r, m), nil
	}
	e, schemaID, err := s.serde.Decode(ctx, m.Value)
	if err != nil {
		return audit.Record{}, err
	}
	if want := serde.RecordsByTopic(s.topics)[m.Topic]; e.SchemaName() != want {
		return audit.Record{}, fmt.Errorf("topic %s carries %s, not %s", m.Topic, e.SchemaName(), want)
	}
	if !eventid.Valid(e.EventHeader().EventID) {
		return audit.Record{}, fmt.Errorf("event_id is not a UUID")
	}
	r := audit.FromEvent(e)
	r.SchemaID, r.Payload = schemaID, m.Value
	return withPosition(r, m), nil
}

func withPosition(r audit.Record, m kafka.Message) audit.Record {
	r.Topic, r.Partition, r.Offset = m.Topic, m.Partition, m.Offset
	return r
}

// handle writes the batch in one transaction; the offsets are committed after it.
func (s *sink) handle(ctx context.Context, batch []kafka.Record[auditdb.Row]) error {
	recs := make([]auditdb.Row, len(batch))
	for i, r := range batch {
		recs[i] = r.Value
	}
	_, err := s.store.Insert(ctx, recs)
	if postgres.IsDataError(err) {
		return kafka.Permanent(err) // one record the database rejects: isolate it, do not block
	}
	return err
}
