// Package ingest is the producer side of Consentry's Kafka ingest: a product service
// writes its users' consent changes to an ingest topic with it, instead of calling
// POST /v1/consents. Records are Avro in the Confluent wire format, under the
// ConsentSubmission schema as the registry knows it for the topic
// (subject <topic>-value), so that any registry-aware tool reads them too.
package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/consentry/consentry/schemas"
)

// Producer writes ConsentSubmissions to one ingest topic.
type Producer struct {
	client *kgo.Client
	topic  string
	schema *schemas.Schema
	header []byte // magic byte and schema id
}

// Config names the topic and the clients to write through.
type Config struct {
	// Topic is the ingest topic the producer's tenants are configured on, such as
	// consent.ingest.v1 or a Customer's own customer.<id>.ingest.v1.
	Topic string
	// Kafka is a franz-go client with the brokers and credentials; the producer does not
	// close it. Give it kgo.RequiredAcks(kgo.AllISRAcks()), the default, so that a
	// submission acknowledged is one Kafka keeps.
	Kafka *kgo.Client
	// Registry is the schema registry consent-ingest reads the schema from.
	Registry *sr.Client
	// Register registers the schema under <topic>-value when the registry lacks it;
	// without it the schema must have been registered by the deployment.
	Register bool
}

// New looks the submission schema up in the registry (registering it if allowed) and
// returns a producer that writes under its id.
func New(ctx context.Context, cfg Config) (*Producer, error) {
	if cfg.Topic == "" || cfg.Kafka == nil || cfg.Registry == nil {
		return nil, errors.New("ingest: Config needs Topic, Kafka and Registry")
	}
	schema, err := schemas.Get(schemas.ConsentSubmissionName)
	if err != nil {
		return nil, err
	}
	subject := cfg.Topic + "-value"
	want := sr.Schema{Schema: schema.Text, Type: sr.TypeAvro}
	ss, err := cfg.Registry.LookupSchema(ctx, subject, want)
	var re *sr.ResponseError
	if err != nil && cfg.Register && errors.As(err, &re) && sr.IsNotFoundError(re.ErrorCode) {
		ss, err = cfg.Registry.CreateSchema(ctx, subject, want)
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: schema %s under subject %s: %w", schema.Name, subject, err)
	}
	var h sr.ConfluentHeader
	header, err := h.AppendEncode(nil, ss.ID, nil)
	if err != nil {
		return nil, fmt.Errorf("ingest: frame: %w", err)
	}
	return &Producer{client: cfg.Kafka, topic: cfg.Topic, schema: schema, header: header}, nil
}

// Send writes one submission and returns once Kafka has acknowledged it. Records are
// keyed by tenant and subject, so one person's changes stay in order. Sending the same
// SubmissionID again, after an error say, is safe: consent-ingest makes one event of it.
func (p *Producer) Send(ctx context.Context, sub *schemas.ConsentSubmission) error {
	rec, err := p.Record(sub)
	if err != nil {
		return err
	}
	return p.client.ProduceSync(ctx, rec).FirstErr()
}

// Record encodes sub as the record Send would write, for callers that batch or produce
// asynchronously themselves.
func (p *Producer) Record(sub *schemas.ConsentSubmission) (*kgo.Record, error) {
	body, err := schemas.EncodeSubmission(p.schema, sub)
	if err != nil {
		return nil, err
	}
	value := append(append(make([]byte, 0, len(p.header)+len(body)), p.header...), body...)
	return &kgo.Record{Topic: p.topic, Key: []byte(sub.Tenant + "/" + sub.SubjectID), Value: value}, nil
}
