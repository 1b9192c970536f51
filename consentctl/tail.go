package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

// topicAliases spare typing the canonical names.
var topicAliases = func() map[string]string {
	t := kafka.DefaultTopics()
	return map[string]string{"ingest": t.Ingest, "consents": t.Consents, "requests": t.Requests, "suppressions": t.Suppressions, "receipts": t.Receipts}
}()

// tailLine is one record as printed. Value is the event in its Avro field names; a record
// that does not decode (a dead letter's original bytes, say) shows its bytes and why.
type tailLine struct {
	Topic       string            `json:"topic"`
	Partition   int               `json:"partition"`
	Offset      int64             `json:"offset"`
	Key         string            `json:"key"`
	Tombstone   bool              `json:"tombstone,omitempty"`
	Time        *time.Time        `json:"time,omitempty"`
	SchemaID    int               `json:"schema_id,omitempty"`
	Type        string            `json:"type,omitempty"`
	Value       any               `json:"value,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	RawValue    []byte            `json:"raw_value,omitempty"`
	DecodeError string            `json:"decode_error,omitempty"`
}

func tail(fs *flag.FlagSet) func(*env, []string) error {
	fromBeginning := fs.Bool("from-beginning", false, "start at each partition's first record instead of its end")
	maxRecords := fs.Int("max", 0, "stop after this many records (default: until interrupted)")
	return func(e *env, args []string) error {
		topic, err := oneArg(args, "topic (or consents, requests, suppressions, receipts, ingest)")
		if err != nil {
			return err
		}
		if t, ok := topicAliases[topic]; ok {
			topic = t
		}
		brokers := e.opts.brokerList()
		if len(brokers) == 0 {
			return usageError("--brokers is empty")
		}
		client, err := serde.NewClient(e.opts.registryURL, e.opts.registryToken, e.opts.registryUser, e.opts.registryPass, nil)
		if err != nil {
			return err
		}
		sd, err := serde.New(e.ctx, serde.Config{Client: client})
		if err != nil {
			return err
		}
		sec := kafkaSecurity(e.getenv)
		if err := sec.Load(); err != nil {
			return err
		}
		starts, err := startOffsets(e.ctx, brokers, sec, topic, *fromBeginning, e.opts.timeout)
		if err != nil {
			return err
		}
		where := "the end"
		if *fromBeginning {
			where = "the beginning"
		}
		fmt.Fprintf(e.stderr, "tailing %s from %s of %d partitions\n", topic, where, len(starts))
		return e.follow(brokers, sec, topic, starts, sd, *maxRecords)
	}
}

// startOffsets resolves where each partition's reading starts before the first fetch,
// so that a record produced right after the command started is not skipped, as it would
// be if "the end" were looked up only when the reader first fetched.
func startOffsets(ctx context.Context, brokers []string, sec kafka.Security, topic string, fromBeginning bool, timeout time.Duration) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: timeout}
	if t := sec.Transport(); t != nil {
		c.Transport = t
	}
	meta, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	var reqs []kafkago.OffsetRequest
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			if fromBeginning {
				reqs = append(reqs, kafkago.FirstOffsetOf(p.ID))
			} else {
				reqs = append(reqs, kafkago.LastOffsetOf(p.ID))
			}
		}
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	resp, err := c.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafka list offsets: %w", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafka list offsets %s/%d: %w", topic, p.Partition, p.Error)
		}
		if fromBeginning {
			out[p.Partition] = p.FirstOffset
		} else {
			out[p.Partition] = p.LastOffset
		}
	}
	return out, nil
}

// follow reads every partition without a consumer group — a tail commits nothing and
// leaves no group behind — and prints each record as one JSON line.
func (e *env) follow(brokers []string, sec kafka.Security, topic string, starts map[int]int64, sd *serde.Serde, maxRecords int) error {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		printed int
		wg      sync.WaitGroup
		errs    = make(chan error, len(starts))
	)
	for partition, offset := range starts {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers: brokers, Topic: topic, Partition: partition, Dialer: sec.Dialer(),
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err := r.SetOffset(offset); err != nil {
			r.Close()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("reading %s/%d: %w", topic, partition, err)
						cancel()
					}
					return
				}
				line, err := json.Marshal(describe(ctx, sd, m))
				if err != nil {
					errs <- err
					cancel()
					return
				}
				mu.Lock()
				if maxRecords == 0 || printed < maxRecords {
					e.stdout.Write(append(line, '\n'))
					printed++
				}
				done := maxRecords > 0 && printed >= maxRecords
				mu.Unlock()
				if done {
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	// An interrupt is the normal end of a tail: only a reader's failure is an error.
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// describe decodes one record. Keys are subject keys or address hashes (pseudonymous),
// and sealed identifiers stay sealed: a tail shows no personal identifier in the clear.
func describe(ctx context.Context, sd *serde.Serde, m kafkago.Message) tailLine {
	l := tailLine{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key)}
	if !utf8.Valid(m.Key) {
		l.Key = base64.StdEncoding.EncodeToString(m.Key)
	}
	if !m.Time.IsZero() {
		t := m.Time.UTC()
		l.Time = &t
	}
	for _, h := range m.Headers {
		if l.Headers == nil {
			l.Headers = map[string]string{}
		}
		l.Headers[h.Key] = string(h.Value)
	}
	if m.Value == nil {
		l.Tombstone = true
		return l
	}
	event, id, err := sd.Decode(ctx, m.Value)
	if err == nil {
		l.Value, err = native(event)
	}
	if err != nil {
		l.RawValue, l.DecodeError = m.Value, err.Error()
		return l
	}
	l.SchemaID, l.Type = id, shortName(event.SchemaName())
	return l
}

// native returns the event in its Avro field names, as Avro tools show it, with union
// branches unwrapped: {"detail": "x"} rather than goavro's {"detail": {"string": "x"}}.
func native(e schemas.Event) (any, error) {
	s, err := schemas.Get(e.SchemaName())
	if err != nil {
		return nil, err
	}
	b, err := schemas.EncodeWith(s, e)
	if err != nil {
		return nil, err
	}
	v, _, err := s.Codec().NativeFromBinary(b)
	if err != nil {
		return nil, err
	}
	return unwrapUnions(v), nil
}

// unwrapUnions replaces goavro's one-key union wrappers by their value. Consentry's
// schemas have no Avro maps, only records, arrays and unions, so in their native form a
// map with a single key is always a union branch (no record has a single field).
func unwrapUnions(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for _, inner := range v {
				return unwrapUnions(inner)
			}
		}
		out := make(map[string]any, len(v))
		for k, inner := range v {
			out[k] = unwrapUnions(inner)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, inner := range v {
			out[i] = unwrapUnions(inner)
		}
		return out
	default:
		return v
	}
}

func shortName(full string) string {
	for i := len(full) - 1; i >= 0; i-- {
		if full[i] == '.' {
			return full[i+1:]
		}
	}
	return full
}

// kafkaSecurity reads the same TLS and SASL settings the services read, so tail reaches
// a managed Kafka with an operator's credentials.
func kafkaSecurity(getenv func(string) string) kafka.Security {
	return kafka.Security{
		SASLMechanism: getenv("CONSENTRY_KAFKA_SASL_MECHANISM"), SASLUsername: getenv("CONSENTRY_KAFKA_SASL_USERNAME"),
		SASLPassword: getenv("CONSENTRY_KAFKA_SASL_PASSWORD"), TLS: getenv("CONSENTRY_KAFKA_TLS") == "true",
		CAFile: getenv("CONSENTRY_KAFKA_TLS_CA_FILE"), CertFile: getenv("CONSENTRY_KAFKA_TLS_CERT_FILE"),
		KeyFile: getenv("CONSENTRY_KAFKA_TLS_KEY_FILE"),
	}
}
