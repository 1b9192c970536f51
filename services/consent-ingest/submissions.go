package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
)

// submissionGroup is the consumer group of the ingest topics, apart from the service's
// other groups so that its lag and offsets are its own.
const submissionGroup = "consent-ingest-submissions"

// submissions turns records product services write to the ingest topics into the events
// a POST /v1/consents would have published: the same validation, sealing and topic.
type submissions struct {
	api     *api
	serde   *serde.Serde
	tenants map[string][]string // topic → the tenants its records may speak for
}

type submission struct {
	n       ingest.Normalized
	eventID string
}

// decode reads and validates one record. Whatever is wrong with the record itself makes
// it poison, which the consumer dead-letters with this error as the reason: it names the
// field at fault and never a value, since the values are personal data.
func (s *submissions) decode(ctx context.Context, msg kafka.Message) (submission, error) {
	sub, err := s.serde.DecodeSubmission(ctx, msg.Value)
	if err != nil {
		return submission{}, err
	}
	n, bad := ingest.ValidateSubmission(sub, s.tenants[msg.Topic], s.api.now(), s.api.cmpTables)
	if len(bad) > 0 {
		return submission{}, fieldsError(bad)
	}
	return submission{n: n, eventID: eventid.FromSubmission(n.Tenant, sub.SubmissionID)}, nil
}

func fieldsError(bad []apierror.FieldError) error {
	parts := make([]string, len(bad))
	for i, f := range bad {
		parts[i] = "field " + f.Field + ": " + f.Message
	}
	return errors.New("invalid submission: " + strings.Join(parts, "; "))
}

// handle publishes a batch's consents. A record delivered again, or sent again by its
// producer, gets the event id it got the first time, so downstream it has one effect.
func (s *submissions) handle(ctx context.Context, batch []kafka.Record[submission]) error {
	subs := make([]ingest.Normalized, len(batch))
	ids := make([]string, len(batch))
	for i, r := range batch {
		subs[i], ids[i] = r.Value.n, r.Value.eventID
	}
	err := s.api.publish(ctx, subs, ids, s.api.now().UTC(), s.api.topics.Consents,
		func(n ingest.Normalized, h schemas.Header) schemas.Event { return n.ConsentEvent(h) })
	if err != nil {
		return err
	}
	s.api.accepted.WithLabelValues("consent").Add(float64(len(batch)))
	return nil
}

// checkIngestRetention refuses ingest topics that keep records longer than max: their
// identifiers are in clear, and the retention is how long they outlive an erasure.
func checkIngestRetention(ctx context.Context, admin *kafka.Admin, topics map[string][]string, max time.Duration, log *slog.Logger) error {
	var errs []error
	for topic := range topics {
		for _, t := range []string{topic, kafka.DeadLetterTopic(topic)} {
			limit := max
			if t != topic {
				limit = 24 * max
			}
			r, err := admin.Retention(ctx, t)
			switch {
			case err != nil:
				errs = append(errs, err)
			case r < 0 || r > limit:
				errs = append(errs, fmt.Errorf("ingest topic %s keeps records for %s (retention.ms), longer than %s: "+
					"its submissions carry identifiers in clear, which would outlive an erasure; set retention.ms (docs/kafka-ingest.md)",
					t, retentionText(r), limit))
			default:
				log.Info("ingest topic retention checked", "topic", t, "retention", r.String())
			}
		}
	}
	return errors.Join(errs...)
}

func retentionText(r time.Duration) string {
	if r < 0 {
		return "ever"
	}
	return r.String()
}
