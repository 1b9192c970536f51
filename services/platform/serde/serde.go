// Package serde encodes events in the Confluent wire format — magic byte 0, a 4-byte
// big-endian schema id, then the Avro binary body — so that Kafka Connect, ksqlDB and
// other stock consumers can read Consentry's topics. Framing comes from franz-go's sr
// package; the Avro body from goavro through package schemas.
//
// Schema ids are never hard-coded: a producer looks its schema up in the registry (and
// registers it when allowed), and a consumer fetches any writer schema it has not seen by
// the id in the record. Ids therefore follow whatever registry a deployment points at.
package serde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
)

// ErrFraming marks bytes that are not a Confluent-framed record.
var ErrFraming = errors.New("serde: not Confluent wire format")

// ErrUnknownSchema marks a record whose schema id the registry does not know.
var ErrUnknownSchema = errors.New("serde: schema id unknown to the registry")

// SubjectFor is the registry subject of a topic's value under the TopicNameStrategy,
// Confluent's default, so tools that infer a topic's schema find it.
func SubjectFor(topic string) string { return topic + "-value" }

// Serde encodes and decodes events. It is safe for concurrent use.
type Serde struct {
	client *sr.Client
	header sr.ConfluentHeader

	mu        sync.RWMutex
	writerIDs map[string]int          // topic → id of the schema we write there
	byID      map[int]*schemas.Schema // every schema seen, by registry id
}

// Config names the registry and what this process writes.
type Config struct {
	Client *sr.Client
	// Writes maps each topic this process produces to to the record it writes there.
	Writes map[string]string
	// AutoRegister registers a missing schema instead of failing. On in development; in
	// production a deployment pipeline usually registers schemas and services only look up.
	AutoRegister bool
}

// NewClient returns a registry client for url, with a bearer token or basic credentials
// when given.
func NewClient(url, bearer, basicUser, basicPass string, httpClient *http.Client) (*sr.Client, error) {
	opts := []sr.ClientOpt{sr.URLs(url)}
	if httpClient != nil {
		opts = append(opts, sr.HTTPClient(httpClient))
	}
	switch {
	case bearer != "":
		opts = append(opts, sr.BearerToken(bearer))
	case basicUser != "":
		opts = append(opts, sr.BasicAuth(basicUser, basicPass))
	}
	return sr.NewClient(opts...)
}

// New resolves the schema id of every record this process writes.
func New(ctx context.Context, cfg Config) (*Serde, error) {
	s := &Serde{client: cfg.Client, writerIDs: map[string]int{}, byID: map[int]*schemas.Schema{}}
	for topic, record := range cfg.Writes {
		schema, err := schemas.Get(record)
		if err != nil {
			return nil, err
		}
		subject := SubjectFor(topic)
		ss, err := cfg.Client.LookupSchema(ctx, subject, sr.Schema{Schema: schema.Text, Type: sr.TypeAvro})
		if err != nil && cfg.AutoRegister && isNotFound(err) {
			ss, err = cfg.Client.CreateSchema(ctx, subject, sr.Schema{Schema: schema.Text, Type: sr.TypeAvro})
		}
		if err != nil {
			return nil, fmt.Errorf("serde: schema of %s under subject %s: %w", record, subject, err)
		}
		s.writerIDs[topic] = ss.ID
		s.byID[ss.ID] = schema
	}
	return s, nil
}

func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && sr.IsNotFoundError(re.ErrorCode)
}

// Encode frames e for topic.
func (s *Serde) Encode(topic string, e schemas.Event) ([]byte, error) {
	s.mu.RLock()
	id, ok := s.writerIDs[topic]
	schema := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("serde: this process does not write to %s", topic)
	}
	// What consumers would reject must not be written in the first place.
	if err := schemas.Validate(e); err != nil {
		return nil, err
	}
	body, err := schemas.EncodeWith(schema, e)
	if err != nil {
		return nil, err
	}
	framed, err := s.header.AppendEncode(make([]byte, 0, 5+len(body)), id, nil)
	if err != nil {
		return nil, fmt.Errorf("serde: frame: %w", err)
	}
	return append(framed, body...), nil
}

// EncodeMessage returns a record for topic keyed by key (the subject_key, or the email
// hash on the suppression topic).
func (s *Serde) EncodeMessage(topic, key string, e schemas.Event) (kafka.Message, error) {
	v, err := s.Encode(topic, e)
	if err != nil {
		return kafka.Message{}, err
	}
	return kafka.Message{Topic: topic, Key: []byte(key), Value: v}, nil
}

// Decode reads and validates a framed event. Errors wrapping ErrFraming or
// ErrUnknownSchema, a decode error or a validation error mean the record itself is bad
// (poison); an error wrapping
// kafka.ErrRetryDecode means the registry could not be asked and the record should be
// retried.
func (s *Serde) Decode(ctx context.Context, b []byte) (schemas.Event, int, error) {
	id, body, err := s.header.DecodeID(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrFraming, err)
	}
	schema, err := s.schemaByID(ctx, id)
	if err != nil {
		return nil, id, err
	}
	e, err := schemas.Decode(schema, body)
	if err != nil {
		return nil, id, err
	}
	if err := schemas.Validate(e); err != nil {
		return nil, id, err
	}
	return e, id, nil
}

// DecodeSubmission reads a framed ConsentSubmission from an ingest topic, under the
// schema its producer wrote it with. Errors are classified as Decode's are.
func (s *Serde) DecodeSubmission(ctx context.Context, b []byte) (*schemas.ConsentSubmission, error) {
	id, body, err := s.header.DecodeID(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFraming, err)
	}
	schema, err := s.schemaByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return schemas.DecodeSubmission(schema, body)
}

func (s *Serde) schemaByID(ctx context.Context, id int) (*schemas.Schema, error) {
	s.mu.RLock()
	schema, ok := s.byID[id]
	s.mu.RUnlock()
	if ok {
		return schema, nil
	}
	text, err := s.client.SchemaByID(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: id %d", ErrUnknownSchema, id)
		}
		return nil, fmt.Errorf("%w: registry lookup of schema %d: %v", kafka.ErrRetryDecode, id, err)
	}
	schema, err = schemas.Parse(text.Schema)
	if err != nil {
		return nil, fmt.Errorf("serde: schema %d: %w", id, err)
	}
	if _, err := schemas.New(schema.Name); err != nil && schema.Name != schemas.ConsentSubmissionName {
		return nil, fmt.Errorf("serde: schema %d is %s, which is not a Consentry event", id, schema.Name)
	}
	s.mu.Lock()
	s.byID[id] = schema
	s.mu.Unlock()
	return schema, nil
}

// RecordsByTopic maps each canonical topic to the record it carries (docs/architecture.md, Topics).
func RecordsByTopic(t kafka.Topics) map[string]string {
	return map[string]string{
		t.Consents:     schemas.ConsentChangedName,
		t.Requests:     schemas.PrivacyRequestName,
		t.Suppressions: schemas.SuppressionChangedName,
		t.Receipts:     schemas.VendorReceiptName,
	}
}
