package main

import (
	"context"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
)

// headerEmailTopic names the email topic on a topic tombstone, which has no value to say it.
const headerEmailTopic = "consentry.email_topic"

// topicKey is the suppression topic's record key for a per-topic suppression. It differs
// from the address's own key (the bare hash) so that compaction, which keeps one record
// per key, keeps the scope "all" record and each topic's record side by side.
func topicKey(hash, topic string) string { return hash + ":" + topic }

// topicChange is one person's choice about one email topic.
type topicChange struct {
	cause    schemas.Header
	hash     string
	topic    string
	suppress bool
}

// applyTopic records ch in tx and returns the message to publish, if any: a scope "topic"
// suppression, or a tombstone when the topic is wanted again (unless the address was
// erased or another tenant still suppresses it for that topic).
func (s *suppressor) applyTopic(ctx context.Context, tx *postgres.Tx, ch topicChange) (*kafka.Message, error) {
	now := s.now().UTC()
	if err := tx.PutTopic(ctx, postgres.TopicSuppression{Tenant: ch.cause.Tenant, EmailSHA256: ch.hash, Topic: ch.topic,
		SubjectKey: ch.cause.SubjectKey, Suppressed: ch.suppress, Source: ch.cause.Source, SourceEventID: ch.cause.EventID,
		ChangedAt: now}); err != nil {
		return nil, err
	}
	key := topicKey(ch.hash, ch.topic)
	if ch.suppress {
		id, err := eventid.Derive(ch.cause.EventID, "suppression/"+key)
		if err != nil {
			return nil, err
		}
		h := schemas.Header{EventID: id, Tenant: ch.cause.Tenant, SubjectKey: ch.cause.SubjectKey, OccurredAt: ch.cause.OccurredAt,
			RecordedAt: now, Source: ch.cause.Source, PolicyVersion: ch.cause.PolicyVersion}
		msg, err := s.serde.EncodeMessage(s.topics.Suppressions, key, &schemas.SuppressionChanged{
			Header: h, EmailSHA256: ch.hash, Scope: "topic", Topic: ch.topic, Reason: reasonOptOut, SourceEventID: ch.cause.EventID})
		return &msg, err
	}
	current, known, err := tx.Get(ctx, ch.cause.Tenant, ch.hash)
	if err != nil || (known && current.Erased) {
		return nil, err
	}
	elsewhere, err := tx.TopicSuppressedElsewhere(ctx, ch.cause.Tenant, ch.hash, ch.topic)
	if err != nil || elsewhere {
		return nil, err
	}
	id, err := eventid.Derive(ch.cause.EventID, "suppression-lift/"+key)
	if err != nil {
		return nil, err
	}
	return &kafka.Message{Topic: s.topics.Suppressions, Key: []byte(key), Value: nil, Headers: []kafka.Header{
		{Key: kafka.HeaderEventID, Value: []byte(id)},
		{Key: kafka.HeaderTenant, Value: []byte(ch.cause.Tenant)},
		{Key: kafka.HeaderSourceEventID, Value: []byte(ch.cause.EventID)},
		{Key: headerEmailTopic, Value: []byte(ch.topic)},
	}}, nil
}
