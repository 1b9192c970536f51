package kafka

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Dead-letter headers. The original key, value and headers are kept as they were, so a
// replay is a plain re-publish of the value to the source topic.
const (
	HeaderDLQError     = "consentry.dlq.error"
	HeaderDLQTopic     = "consentry.dlq.source_topic"
	HeaderDLQPartition = "consentry.dlq.source_partition"
	HeaderDLQOffset    = "consentry.dlq.source_offset"
	HeaderDLQGroup     = "consentry.dlq.consumer_group"
	HeaderDLQAt        = "consentry.dlq.at"
)

// DeadLetterTopic names the dead-letter topic of a source topic: consent.ingest.v1 →
// consent.ingest.dlq.v1 (docs/architecture.md, Topics).
func DeadLetterTopic(source string) string {
	if base, ok := strings.CutSuffix(source, ".v1"); ok {
		return base + ".dlq.v1"
	}
	return source + ".dlq"
}

// DeadLetterer publishes records that cannot be processed to their topic's dead-letter
// topic, with the reason in headers.
type DeadLetterer struct {
	producer *Producer
	metrics  *Metrics
	now      func() time.Time
}

// NewDeadLetterer returns a DeadLetterer writing through p.
func NewDeadLetterer(p *Producer, m *Metrics) *DeadLetterer {
	return &DeadLetterer{producer: p, metrics: m, now: time.Now}
}

// Publish parks msg with reason. The reason must not carry personal data: decoders and
// validators here report field names and types, never values.
func (d *DeadLetterer) Publish(ctx context.Context, group string, msg Message, reason error) error {
	headers := append([]Header(nil), msg.Headers...)
	headers = append(headers,
		Header{Key: HeaderDLQError, Value: []byte(truncate(reason.Error(), 1024))},
		Header{Key: HeaderDLQTopic, Value: []byte(msg.Topic)},
		Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(msg.Partition))},
		Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(msg.Offset, 10))},
		Header{Key: HeaderDLQGroup, Value: []byte(group)},
		Header{Key: HeaderDLQAt, Value: []byte(d.now().UTC().Format(time.RFC3339Nano))},
	)
	err := d.producer.Publish(ctx, Message{
		Topic:   DeadLetterTopic(msg.Topic),
		Key:     msg.Key,
		Value:   msg.Value,
		Headers: headers,
	})
	if err == nil {
		d.metrics.deadLettered(group, msg.Topic)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
