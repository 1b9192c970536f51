package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	platformpg "github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
)

// Suppression reasons.
const (
	reasonOptOut  = "opt_out"
	reasonErasure = "erasure"
	reasonOptIn   = "opt_in" // stored when a person opts back in; never published
)

// suppressor keeps the suppression state and publishes its changes on the compacted
// suppression topic. Every message it publishes has an id derived from the event that
// caused it. The one-click handler and the consumer both see a one-click unsubscribe;
// the handler publishes its suppression and the consumer, finding the row already caused
// by that event, publishes nothing. Only when the handler's transaction did not commit
// after publishing (a crash) does the consumer publish the same id again.
type suppressor struct {
	store    *postgres.Store
	serde    *serde.Serde
	producer *kafka.Producer
	sealer   *seal.Sealer
	topics   kafka.Topics
	log      *slog.Logger
	now      func() time.Time
}

// change is one decision about one address.
type change struct {
	cause    schemas.Header // the event that caused it
	hash     string
	suppress bool
	erase    bool
	reason   string
}

// apply records ch in tx and returns the message to publish, if any.
func (s *suppressor) apply(ctx context.Context, tx *postgres.Tx, ch change) (*kafka.Message, error) {
	row := postgres.Suppression{
		Tenant: ch.cause.Tenant, EmailSHA256: ch.hash, SubjectKey: ch.cause.SubjectKey, Suppressed: ch.suppress,
		Reason: ch.reason, Scope: "all", Source: ch.cause.Source, SourceEventID: ch.cause.EventID, Erased: ch.erase,
		ChangedAt: s.now().UTC(),
	}
	if ch.suppress {
		current, known, err := tx.Get(ctx, ch.cause.Tenant, ch.hash)
		if err != nil {
			return nil, err
		}
		if known && current.Suppressed && current.SourceEventID == ch.cause.EventID {
			// Already recorded, and published, for this very cause: the one-click handler
			// suppresses in the transaction that publishes its consent event, and this
			// consumer reads that event back. A second record would differ in
			// recorded_at, so a tool would see one click twice.
			return nil, nil
		}
		if err := tx.Put(ctx, row); err != nil {
			return nil, err
		}
		id, err := eventid.Derive(ch.cause.EventID, "suppression/"+ch.hash)
		if err != nil {
			return nil, err
		}
		h := schemas.Header{EventID: id, Tenant: ch.cause.Tenant, SubjectKey: ch.cause.SubjectKey, OccurredAt: ch.cause.OccurredAt,
			RecordedAt: s.now().UTC(), Source: ch.cause.Source, PolicyVersion: ch.cause.PolicyVersion}
		msg, err := s.serde.EncodeMessage(s.topics.Suppressions, ch.hash, &schemas.SuppressionChanged{
			Header: h, EmailSHA256: ch.hash, Scope: "all", Reason: ch.reason, SourceEventID: ch.cause.EventID})
		return &msg, err
	}

	current, known, err := tx.Get(ctx, ch.cause.Tenant, ch.hash)
	if err != nil {
		return nil, err
	}
	if known && current.Erased {
		return nil, nil // an erased address is never lifted
	}
	if err := tx.Put(ctx, row); err != nil {
		return nil, err
	}
	if !known || !current.Suppressed {
		return nil, nil // nothing to lift
	}
	elsewhere, err := tx.SuppressedElsewhere(ctx, ch.cause.Tenant, ch.hash)
	if err != nil || elsewhere {
		return nil, err // the topic is keyed by address alone: another tenant's suppression stands
	}
	id, err := eventid.Derive(ch.cause.EventID, "suppression-lift/"+ch.hash)
	if err != nil {
		return nil, err
	}
	return &kafka.Message{Topic: s.topics.Suppressions, Key: []byte(ch.hash), Value: nil, Headers: []kafka.Header{
		{Key: kafka.HeaderEventID, Value: []byte(id)},
		{Key: kafka.HeaderTenant, Value: []byte(ch.cause.Tenant)},
		{Key: kafka.HeaderSourceEventID, Value: []byte(ch.cause.EventID)},
	}}, nil
}

// hashes returns the address hashes an event concerns: the email it carries, sealed,
// plus every address already known for the subject (a preference-center change may carry
// no email at all).
func (s *suppressor) hashes(ctx context.Context, tx *postgres.Tx, h schemas.Header) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	if h.Identifiers != nil {
		ids, err := s.sealer.Open(ctx, h.Tenant, h.SubjectKey, h.Identifiers)
		switch {
		case errors.Is(err, seal.ErrShredded):
			// The subject was erased; its known addresses below still count.
		case err != nil:
			return nil, fmt.Errorf("opening identifiers: %w", err)
		case ids.Email != "":
			hash := pseudonym.EmailSHA256(ids.Email)
			seen[hash], out = true, append(out, hash)
		}
	}
	known, err := tx.HashesOf(ctx, h.Tenant, h.SubjectKey)
	if err != nil {
		return nil, err
	}
	for _, hash := range known {
		if !seen[hash] {
			seen[hash], out = true, append(out, hash)
		}
	}
	return out, nil
}

// changesFor returns the suppression changes an event causes: a marketing_email choice
// suppresses or lifts, an erasure suppresses for good.
func (s *suppressor) changesFor(ctx context.Context, tx *postgres.Tx, e schemas.Event) ([]change, error) {
	var template change
	switch e := e.(type) {
	case *schemas.ConsentChanged:
		decision, ok := e.Purposes[schemas.PurposeMarketingEmail]
		if !ok {
			return nil, nil
		}
		template = change{suppress: decision == schemas.Denied, reason: reasonOptOut}
		if !template.suppress {
			template.reason = reasonOptIn
		}
	case *schemas.PrivacyRequest:
		// Only a verified erasure, once work on it starts (docs/privacy-requests.md): an
		// unverified request must not silence anyone's mail. An extension repeats the
		// status and changes nothing.
		if e.Type != schemas.RequestErasure || e.Status != schemas.StatusInProgress || strings.HasPrefix(e.Detail, schemas.ExtensionDetail) {
			return nil, nil
		}
		template = change{suppress: true, erase: true, reason: reasonErasure}
	default:
		return nil, nil
	}
	template.cause = *e.EventHeader()
	if pr, ok := e.(*schemas.PrivacyRequest); ok {
		// Named by the request, whichever of its events caused it.
		template.cause.EventID = pr.RequestID
	}
	hashes, err := s.hashes(ctx, tx, template.cause)
	if err != nil {
		return nil, err
	}
	out := make([]change, len(hashes))
	for i, h := range hashes {
		out[i] = template
		out[i].hash = h
	}
	return out, nil
}

// handle applies a consumed batch: state and messages in one transaction, published
// before it commits. If publishing fails nothing is committed and the batch is retried;
// if the commit fails after publishing, the retry publishes the same ids again.
func (s *suppressor) handle(ctx context.Context, batch []kafka.Record[schemas.Event]) error {
	err := s.applyBatch(ctx, batch)
	if platformpg.IsDataError(err) {
		return kafka.Permanent(err)
	}
	return err
}

func (s *suppressor) applyBatch(ctx context.Context, batch []kafka.Record[schemas.Event]) error {
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		var msgs []kafka.Message
		for _, r := range batch {
			if c, ok := r.Value.(*schemas.ConsentChanged); ok {
				// The preference center shows these; the token names the subject only by key.
				if err := tx.RecordChoices(ctx, c.Tenant, c.SubjectKey, c.Purposes, c.OccurredAt, c.EventID); err != nil {
					return err
				}
			}
			changes, err := s.changesFor(ctx, tx, r.Value)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				msg, err := s.apply(ctx, tx, ch)
				if err != nil {
					return err
				}
				if msg != nil {
					msgs = append(msgs, *msg)
				}
			}
		}
		return s.producer.Publish(ctx, msgs...)
	})
}

// decode reads a consent event or privacy request; anything else on these topics is poison.
func (s *suppressor) decode(ctx context.Context, m kafka.Message) (schemas.Event, error) {
	e, _, err := s.serde.Decode(ctx, m.Value)
	if err != nil {
		return nil, err
	}
	if want := serde.RecordsByTopic(s.topics)[m.Topic]; e.SchemaName() != want {
		return nil, fmt.Errorf("topic %s carries %s, not %s", m.Topic, e.SchemaName(), want)
	}
	return e, nil
}
