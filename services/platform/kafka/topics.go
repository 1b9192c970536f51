package kafka

// Topics are the topic names a deployment uses; those of docs/architecture.md's topic table
// are the defaults and each can be overridden by configuration.
type Topics struct {
	Ingest       string // raw submissions from producers that write Avro directly
	Consents     string
	Requests     string
	Suppressions string
	Receipts     string
}

// DefaultTopics returns the default topic names (docs/architecture.md, Topics).
func DefaultTopics() Topics {
	return Topics{
		Ingest:       "consent.ingest.v1",
		Consents:     "consent.events.v1",
		Requests:     "privacy.requests.v1",
		Suppressions: "suppression.email.v1",
		Receipts:     "vendor.receipts.v1",
	}
}

// Submissions on an ingest topic carry identifiers in clear, which no erasure can reach:
// the topic keeps them an hour, and its dead letters a day, and that is how long a
// submission's clear identifiers outlive an erasure (docs/kafka-ingest.md).
const (
	IngestRetentionMS           = "3600000"
	IngestDeadLetterRetentionMS = "86400000"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Configs           map[string]string
}

// Specs returns the specs of every topic, dead-letter topics included. The suppression
// topic is compacted: marketing tools bootstrap from it and need only the latest state per
// address. Dead-letter topics keep records long enough for a person to look.
func (t Topics) Specs(partitions, replication int) []TopicSpec {
	spec := func(name string, configs map[string]string) TopicSpec {
		return TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: replication, Configs: configs}
	}
	dlq := map[string]string{"retention.ms": "2592000000"} // 30 days
	sources := []TopicSpec{
		spec(t.Ingest, map[string]string{"retention.ms": IngestRetentionMS}),
		spec(t.Consents, nil),
		spec(t.Requests, nil),
		spec(t.Suppressions, map[string]string{"cleanup.policy": "compact"}),
		spec(t.Receipts, nil),
	}
	specs := append([]TopicSpec(nil), sources...)
	for _, s := range sources {
		if s.Name == t.Ingest {
			specs = append(specs, spec(DeadLetterTopic(s.Name), map[string]string{"retention.ms": IngestDeadLetterRetentionMS}))
			continue
		}
		specs = append(specs, spec(DeadLetterTopic(s.Name), dlq))
	}
	return specs
}

// Headers Consentry sets on records whose value cannot say it: a tombstone on the
// compacted suppression topic has no value, so its audit identity travels here.
const (
	HeaderEventID       = "consentry.event_id"
	HeaderTenant        = "consentry.tenant"
	HeaderSourceEventID = "consentry.source_event_id"
)

// HeaderValue returns the value of the named header, or "".
func HeaderValue(m Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
