// Package requests moves privacy requests through the front half of their life
// (docs/privacy-requests.md): it stores each move, publishes its events, and in the
// background sends owed notifications, rejects requests whose verification expired and
// republishes moves whose events did not reach Kafka. The rules of a move are
// internal/lifecycle's; the HTTP handlers that ask for moves are the service's.
package requests

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
	"github.com/consentry/consentry/services/consent-ingest/internal/notify"
	"github.com/consentry/consentry/services/consent-ingest/internal/postgres"
)

// Config is how requests are verified, forwarded and timed.
type Config struct {
	// Links signs verification links; nil when no sender is configured.
	Links *lifecycle.LinkKeys
	// VerifyBaseURL is the public URL of the service that links and forwards point at.
	VerifyBaseURL string
	VerifyTTL     time.Duration
	// SenderURL is the verification sender's webhook; empty sends no links.
	SenderURL string
	// Zone's calendar counts deadline days.
	Zone *time.Location
	// ControllerURL is a tenant's Customer webhook, or "" for none.
	ControllerURL func(tenant string) string
	// LegitimateInterest is a tenant's purposes based on legitimate interest.
	LegitimateInterest func(tenant string) []string
}

// Flow is the workflow. The row in ingest.requests is the request's state; every move is
// written there first with published = false, then its events go to Kafka and the row is
// marked published. A crash in between leaves an unpublished row, which the republisher
// sends again: the events' ids are derived from the request and the move, so consumers
// see each event once.
type Flow struct {
	log      *slog.Logger
	store    *postgres.Store
	serde    *serde.Serde
	producer *kafka.Producer
	sealer   *seal.Sealer
	topics   kafka.Topics
	cfg      Config
	notifier notify.Client
	now      func() time.Time
	wake     chan struct{}
}

// Deps are the Flow's collaborators.
type Deps struct {
	Log      *slog.Logger
	Store    *postgres.Store
	Serde    *serde.Serde
	Producer *kafka.Producer
	Sealer   *seal.Sealer
	Topics   kafka.Topics
	Notifier notify.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// New returns a Flow; Run starts its background work.
func New(d Deps, cfg Config) *Flow {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Flow{log: d.Log, store: d.Store, serde: d.Serde, producer: d.Producer, sealer: d.Sealer, topics: d.Topics,
		cfg: cfg, notifier: d.Notifier, now: d.Now, wake: make(chan struct{}, 1)}
}

// Config returns the configuration the Flow runs with.
func (f *Flow) Config() Config { return f.cfg }

// Request returns the stored request with id, and false when there is none.
func (f *Flow) Request(ctx context.Context, id string) (lifecycle.Request, bool, error) {
	r, ok, err := f.store.Request(ctx, id)
	if err != nil {
		return r, false, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	return r, ok, nil
}

// publish sends the events that put r's current state on Kafka: the submission, the
// current status, an extension, and the follow-ups of a request at work. Those already
// sent before are sent again with the same ids, which consumers drop.
func (f *Flow) publish(ctx context.Context, r lifecycle.Request, detail string, at time.Time) error {
	var events []schemas.Event
	if !r.Announced {
		received, err := r.Event(schemas.StatusReceived, "", r.ReceivedAt)
		if err != nil {
			return err
		}
		events = append(events, received)
	}
	if r.Status != schemas.StatusReceived {
		current, err := r.Event(r.Status, detail, at)
		if err != nil {
			return err
		}
		events = append(events, current)
	}
	var err error
	// An extension repeats the status: its follow-ups went out with the move itself.
	if r.Status == schemas.StatusInProgress && !lifecycle.IsExtension(detail) {
		more, err := r.FollowUps(at, f.cfg.LegitimateInterest(r.Tenant))
		if err != nil {
			return err
		}
		events = append(events, more...)
	}
	msgs := make([]kafka.Message, len(events))
	for i, e := range events {
		topic := f.topics.Requests
		if _, ok := e.(*schemas.ConsentChanged); ok {
			topic = f.topics.Consents
		}
		if msgs[i], err = f.serde.EncodeMessage(topic, r.SubjectKey, e); err != nil {
			return err
		}
	}
	if err := f.producer.Publish(ctx, msgs...); err != nil {
		return apierror.Wrap(apierror.Unavailable, "the event log did not acknowledge the request; retry", err)
	}
	if err := f.store.MarkPublished(ctx, r.ID, r.UpdatedAt); err != nil {
		// The events are out; the republisher will send them once more, harmlessly.
		f.log.Warn("marking a request published failed", "request_id", r.ID, "error", err)
	}
	f.poke()
	return nil
}

func (f *Flow) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Submit stores and publishes a new request that moves to next; a retry with the same
// id returns the request as stored, published again.
func (f *Flow) Submit(ctx context.Context, n ingest.Normalized, id, subjectKey string, sealed *schemas.Sealed,
	recordedAt time.Time, next string) (lifecycle.Request, error) {
	due, err := lifecycle.Deadline(n.Jurisdiction, n.Type, recordedAt, f.cfg.Zone)
	if err != nil {
		return lifecycle.Request{}, err
	}
	r := lifecycle.Request{ID: id, Tenant: n.Tenant, SubjectKey: subjectKey, Type: n.Type, Reason: n.Reason, Scope: n.Scope,
		Jurisdiction: n.Jurisdiction, PolicyVersion: n.PolicyVersion, Status: next, Sealed: sealed, OccurredAt: n.OccurredAt,
		ReceivedAt: recordedAt, DeadlineAt: due, NotificationQueued: next == schemas.StatusVerifying || next == schemas.StatusForwardedToController}
	if next == schemas.StatusVerifying {
		r.VerifyExpiresAt = recordedAt.Add(f.cfg.VerifyTTL)
	}
	stored, err := f.store.CreateRequest(ctx, r)
	if err != nil {
		return r, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	return stored, f.publish(ctx, stored, "", recordedAt)
}

// Move takes r from its status to next and publishes the move. A request that another
// caller moved first is a StateConflict.
func (f *Flow) Move(ctx context.Context, r lifecycle.Request, next, detail string) (lifecycle.Request, error) {
	from := r.Status
	moved, err := f.store.Move(ctx, r, from, next, detail, next == schemas.StatusForwardedToController)
	if err != nil {
		if errors.Is(err, postgres.ErrMoved) {
			return r, apierror.New(apierror.StateConflict, "the request is no longer "+from+"; fetch its status and try again")
		}
		return r, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	return moved, f.publish(ctx, moved, detail, f.now().UTC())
}

// Extend records r's new deadline without a change of status.
func (f *Flow) Extend(ctx context.Context, r lifecycle.Request, detail string) (lifecycle.Request, error) {
	moved, err := f.store.Move(ctx, r, r.Status, r.Status, detail, false)
	if err != nil {
		if errors.Is(err, postgres.ErrMoved) {
			return r, apierror.New(apierror.StateConflict, "the request moved on meanwhile; fetch its status and try again")
		}
		return r, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	return moved, f.publish(ctx, moved, detail, f.now().UTC())
}
