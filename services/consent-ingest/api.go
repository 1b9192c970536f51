package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/jsonstrict"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
	"github.com/consentry/consentry/services/consent-ingest/internal/postgres"
	"github.com/consentry/consentry/services/consent-ingest/internal/requests"
)

// sealParallelism bounds the events of one request sealed at once.
const sealParallelism = 8

// maxBody bounds a request: a full batch of 1,000 consents with identifiers fits well.
const maxBody = 4 << 20

type api struct {
	log           *slog.Logger
	pepper        pseudonym.Pepper
	sealer        *seal.Sealer
	serde         *serde.Serde
	producer      *kafka.Producer
	idempotency   *postgres.Store
	topics        kafka.Topics
	policyVersion string
	maxBatch      int
	now           func() time.Time
	accepted      *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	flow          *requests.Flow
	requestCfg    requestsConfig
	discarded     prometheus.Counter
	verify        *verifyGuard
	cmpTables     cmp.Tables
}

func newDiscarded(reg prometheus.Registerer) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "consentry_ingest_identifiers_discarded_total",
		Help: "Events of erased subjects accepted without their identifiers (no new key for a shredded subject)."})
	reg.MustRegister(c)
	return c
}

func newMetrics(reg prometheus.Registerer) (accepted, rejected *prometheus.CounterVec) {
	accepted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "consentry_ingest_events_accepted_total", Help: "Events acknowledged by Kafka and answered 202."}, []string{"kind"})
	rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "consentry_ingest_requests_rejected_total", Help: "Requests answered with an error, by error code."}, []string{"code"})
	reg.MustRegister(accepted, rejected)
	return accepted, rejected
}

func (a *api) writeError(w http.ResponseWriter, err error) {
	var e *apierror.Error
	code := string(apierror.Internal)
	if errors.As(err, &e) {
		code = string(e.Code)
	}
	a.rejected.WithLabelValues(code).Inc()
	apierror.Write(w, a.log, err)
}

// postConsents takes one consent or {"consents": [...]}.
func (a *api) postConsents(w http.ResponseWriter, r *http.Request) {
	body, err := server.ReadBody(w, r, maxBody)
	if err != nil {
		a.writeError(w, err)
		return
	}
	inputs, err := a.parseConsents(body)
	if err != nil {
		a.writeError(w, err)
		return
	}
	now := a.now()
	var (
		valid []ingest.Normalized
		bad   []apierror.FieldError
	)
	for i, in := range inputs {
		prefix := ""
		if len(inputs) > 1 || isBatch(body) {
			prefix = fmt.Sprintf("consents[%d]", i)
		}
		n, errs := ingest.ValidateConsent(in, prefix, now, a.cmpTables)
		valid, bad = append(valid, n), append(bad, errs...)
	}
	if len(bad) > 0 {
		a.writeError(w, apierror.Fields(bad))
		return
	}
	signals := ingest.SignalsFrom(r.Header)
	derived := signalConsents(valid, signals, now)
	// The signals are part of what a retry under the same Idempotency-Key must repeat.
	kind := "consents"
	if len(derived) > 0 {
		kind = fmt.Sprintf("consents;gpc=%t;dnt=%t", signals.GPC, signals.DNT)
	}
	ids, err := a.accept(r, kind, body, append(valid, derived...), a.topics.Consents,
		func(n ingest.Normalized, h schemas.Header) schemas.Event { return n.ConsentEvent(h) })
	if err != nil {
		a.writeError(w, err)
		return
	}
	a.accepted.WithLabelValues("consent").Add(float64(len(valid)))
	out := map[string]any{"event_ids": ids[:len(valid)]}
	if len(derived) > 0 {
		a.accepted.WithLabelValues("signal").Add(float64(len(derived)))
		out["signal_event_ids"] = ids[len(valid):]
	}
	apierror.JSON(w, http.StatusAccepted, out)
}

// signalConsents are the consents the browser's privacy signals imply: one per subject
// of the request, after its consents (Kafka keeps a subject's events in order).
func signalConsents(valid []ingest.Normalized, s ingest.Signals, now time.Time) []ingest.Normalized {
	var out []ingest.Normalized
	bySubject := map[string]int{}
	for _, n := range valid {
		c, ok := ingest.SignalConsent(n, s, now)
		if !ok {
			continue
		}
		key := n.Tenant + "\x00" + n.SubjectID
		if i, seen := bySubject[key]; seen {
			if c.OccurredAt.After(out[i].OccurredAt) {
				out[i] = c
			}
			continue
		}
		bySubject[key] = len(out)
		out = append(out, c)
	}
	return out
}

func isBatch(body []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return false
	}
	_, ok := probe["consents"]
	return ok
}

// parseConsents reads either shape strictly, naming the position of a bad element.
func (a *api) parseConsents(body []byte) ([]ingest.ConsentInput, error) {
	if !isBatch(body) {
		var one ingest.ConsentInput
		if err := jsonstrict.Decode(body, "", &one); err != nil {
			return nil, err
		}
		return []ingest.ConsentInput{one}, nil
	}
	var batch struct {
		Consents []json.RawMessage `json:"consents"`
	}
	if err := jsonstrict.Decode(body, "", &batch); err != nil {
		return nil, err
	}
	switch {
	case len(batch.Consents) == 0:
		return nil, apierror.Fields([]apierror.FieldError{{Field: "consents", Message: "must hold at least one consent"}})
	case len(batch.Consents) > a.maxBatch:
		return nil, apierror.Fields([]apierror.FieldError{{Field: "consents", Message: fmt.Sprintf("holds more than %d consents; split the batch", a.maxBatch)}})
	}
	out := make([]ingest.ConsentInput, len(batch.Consents))
	for i, raw := range batch.Consents {
		if err := jsonstrict.Decode(raw, fmt.Sprintf("consents[%d]", i), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// accept turns validated submissions into sealed events and returns their ids once Kafka
// has acknowledged all of them. With an Idempotency-Key, a retry of the same request gets
// the same ids (and the same recorded_at), so downstream dedupe makes it harmless.
func (a *api) accept(r *http.Request, kind string, body []byte, subs []ingest.Normalized, topic string,
	build func(ingest.Normalized, schemas.Header) schemas.Event) ([]string, error) {
	ctx := r.Context()
	for _, n := range subs {
		if err := apikey.CheckTenant(ctx, n.Tenant); err != nil {
			return nil, err
		}
	}
	ids := make([]string, len(subs))
	for i := range ids {
		id, err := eventid.New()
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	recordedAt := a.now().UTC()
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		var err error
		if ids, recordedAt, err = a.claim(ctx, kind, key, body, ids, recordedAt); err != nil {
			return nil, err
		}
	}
	if err := a.publish(ctx, subs, ids, recordedAt, topic, build); err != nil {
		return nil, err
	}
	return ids, nil
}

// publish seals subs under ids and writes them to topic, returning once Kafka has
// acknowledged all of them. The HTTP API and the ingest topics' consumer share it, so a
// submission has the same effect whichever way it came.
func (a *api) publish(ctx context.Context, subs []ingest.Normalized, ids []string, recordedAt time.Time, topic string,
	build func(ingest.Normalized, schemas.Header) schemas.Event) error {
	// A subject seen for the first time gets its data key in a durable write. The
	// events of a batch are sealed side by side, so that those writes share commits
	// rather than queue one behind another.
	msgs := make([]kafka.Message, len(subs))
	sealedOf := make([]*schemas.Sealed, len(subs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sealParallelism)
	for i, n := range subs {
		g.Go(func() error {
			subjectKey := a.pepper.SubjectKey(n.Tenant, n.SubjectID)
			sealed, err := a.seal(gctx, n.Tenant, subjectKey, n.Identifiers())
			if err != nil {
				return err
			}
			sealedOf[i] = sealed
			msgs[i], err = a.serde.EncodeMessage(topic, subjectKey, build(n, n.Header(ids[i], subjectKey, recordedAt, sealed)))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := a.keepContacts(ctx, subs, sealedOf, recordedAt); err != nil {
		return err
	}
	if err := a.producer.Publish(ctx, msgs...); err != nil {
		return apierror.Wrap(apierror.Unavailable, "the event log did not acknowledge the events; retry with the same Idempotency-Key", err)
	}
	failpoint.Hit(failpoint.IngestAfterPublish)
	return nil
}

// keepContacts puts the address of each consent that carries one on file for its
// subject: a privacy request's confirmation link goes only there (lifecycle.LinkAddress).
// It is written before the events go out, so a 202 means the address is on file. Only
// a key that may vouch for a person replaces an address already on file.
func (a *api) keepContacts(ctx context.Context, subs []ingest.Normalized, sealed []*schemas.Sealed, recordedAt time.Time) error {
	var contacts []postgres.Contact
	for i, n := range subs {
		// A shredded subject's consent is accepted without identifiers: nothing to keep.
		if n.Email != "" && sealed[i] != nil {
			contacts = append(contacts, postgres.Contact{Tenant: n.Tenant, SubjectKey: a.pepper.SubjectKey(n.Tenant, n.SubjectID),
				Sealed: sealed[i], RecordedAt: recordedAt})
		}
	}
	k, _ := apikey.FromContext(ctx)
	if err := a.idempotency.KeepContacts(ctx, contacts, k.Can(apikey.Verify) || k.Can(apikey.Controller)); err != nil {
		return apierror.Wrap(apierror.Unavailable, "the contact store is unavailable; retry with the same Idempotency-Key", err)
	}
	return nil
}

func (a *api) claim(ctx context.Context, kind, key string, body []byte, ids []string, recordedAt time.Time) ([]string, time.Time, error) {
	if len(key) > 255 {
		return nil, time.Time{}, apierror.Fields([]apierror.FieldError{{Field: "Idempotency-Key", Message: "is longer than 255 characters"}})
	}
	k, _ := apikey.FromContext(ctx)
	sum := sha256.Sum256(append([]byte(kind+"\x00"), body...))
	stored, at, err := a.idempotency.Claim(ctx, k.Name, key, sum[:], ids, recordedAt)
	switch {
	case errors.Is(err, postgres.ErrKeyReused):
		return nil, time.Time{}, apierror.New(apierror.Conflict, "this Idempotency-Key was already used with a different request")
	case err != nil:
		return nil, time.Time{}, apierror.Wrap(apierror.Unavailable, "the idempotency store is unavailable", err)
	case len(stored) != len(ids):
		return nil, time.Time{}, apierror.New(apierror.Conflict, "this Idempotency-Key was already used with a different request")
	}
	return stored, at, nil
}

// seal seals a subject's identifiers. A subject whose key was destroyed — an erasure
// completed — gets no new key: Consentry keeps no new personal data about a person it
// erased, so their later events are accepted and recorded pseudonymously, without the
// identifiers (vendors then have nothing to act on).
func (a *api) seal(ctx context.Context, tenant, subjectKey string, ids seal.Identifiers) (*schemas.Sealed, error) {
	sealed, err := a.sealer.Seal(ctx, tenant, subjectKey, ids)
	switch {
	case errors.Is(err, seal.ErrShredded):
		a.discarded.Inc()
		return nil, nil
	case err != nil:
		return nil, apierror.Wrap(apierror.Unavailable, "the key store is unavailable", err)
	}
	return sealed, nil
}
