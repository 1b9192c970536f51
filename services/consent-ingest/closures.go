package main

import (
	"context"
	"errors"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/postgres"
)

// closures learns from the requests topic which requests vendor-fanout closed, so that
// consent-ingest refuses to move them on (an extension of a completed request, say).
type closures struct {
	serde *serde.Serde
	store *postgres.Store
}

type closure struct{ requestID, status string }

// decode keeps completions only. A record that does not decode is left alone here:
// audit-sink and vendor-fanout, which read the topic too, dead-letter it; a registry
// that cannot be asked is retried.
func (c *closures) decode(ctx context.Context, m kafka.Message) (closure, error) {
	if m.Value == nil {
		return closure{}, nil
	}
	e, _, err := c.serde.Decode(ctx, m.Value)
	if errors.Is(err, kafka.ErrRetryDecode) {
		return closure{}, err
	}
	pr, ok := e.(*schemas.PrivacyRequest)
	if err != nil || !ok || (pr.Status != schemas.StatusCompleted && pr.Status != schemas.StatusPartiallyCompleted) {
		return closure{}, nil
	}
	return closure{pr.RequestID, pr.Status}, nil
}

func (c *closures) handle(ctx context.Context, batch []kafka.Record[closure]) error {
	for _, r := range batch {
		if r.Value.requestID == "" {
			continue
		}
		if err := c.store.Close(ctx, r.Value.requestID, r.Value.status); err != nil {
			return err
		}
	}
	return nil
}
