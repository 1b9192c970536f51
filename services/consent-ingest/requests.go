package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
	"github.com/consentry/consentry/services/consent-ingest/internal/postgres"
)

// flow moves privacy requests through the front half of their life
// (docs/privacy-requests.md). The row in ingest.requests is the request's state; every
// move is written there first with published = false, then its events go to Kafka and the
// row is marked published. A crash in between leaves an unpublished row, which the
// republisher sends again: the events' ids are derived from the request and the move, so
// consumers see each event once.
type flow struct {
	log      *slog.Logger
	store    *postgres.Store
	serde    *serde.Serde
	producer *kafka.Producer
	sealer   *seal.Sealer
	topics   kafka.Topics
	cfg      requestsConfig
	sender   webhooksig.Sender
	now      func() time.Time
	wake     chan struct{}
}

// publish sends the events that put r's current state on Kafka: the submission, the
// current status, an extension, and the follow-ups of a request at work. Those already
// sent before are sent again with the same ids, which consumers drop.
func (f *flow) publish(ctx context.Context, r lifecycle.Request, detail string, at time.Time) error {
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
		more, err := r.FollowUps(at, f.legitimateInterest(r.Tenant))
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

func (f *flow) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *flow) legitimateInterest(tenant string) []string {
	if v := f.cfg.parsedLI.get(tenant); v != "" {
		return strings.Split(v, "|")
	}
	return nil
}

// submit stores and publishes a new request; a retry with the same id returns the
// request as stored, published again.
func (f *flow) submit(ctx context.Context, n ingest.Normalized, id, subjectKey string, sealed *schemas.Sealed,
	recordedAt time.Time, next string) (lifecycle.Request, error) {
	due, err := lifecycle.Deadline(n.Jurisdiction, n.Type, recordedAt, f.cfg.parsedZone)
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

// move takes r from its status to next and publishes the move.
func (f *flow) move(ctx context.Context, r lifecycle.Request, next, detail string) (lifecycle.Request, error) {
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

// ---- HTTP: submission ----

func (a *api) postPrivacyRequest(w http.ResponseWriter, r *http.Request) {
	body, err := server.ReadBody(w, r, maxBody)
	if err != nil {
		a.writeError(w, err)
		return
	}
	var in ingest.RequestInput
	if err := server.DecodeStrict(body, "", &in); err != nil {
		a.writeError(w, err)
		return
	}
	n, bad := ingest.ValidateRequest(in, a.now(), a.policyVersion, a.flow.cfg.parsedLaw.get(in.Tenant))
	if len(bad) > 0 {
		a.writeError(w, apierror.Fields(bad))
		return
	}
	ctx := r.Context()
	if err := apikey.CheckTenant(ctx, n.Tenant); err != nil {
		a.writeError(w, err)
		return
	}
	key, _ := apikey.FromContext(ctx)
	// A Customer's own credential speaks for the controller, who verifies its users itself.
	if n.Verified && !key.Can(apikey.Verify) && !key.Can(apikey.Controller) {
		a.writeError(w, apierror.New(apierror.Forbidden, "this API key may not assert verified: it lacks the verify permission"))
		return
	}
	next := lifecycle.AfterSubmission(n.Tenant, lifecycle.Submitter{AssertsVerified: n.Verified, Controller: key.Can(apikey.Controller)})
	if next == schemas.StatusVerifying && a.flow.cfg.SenderURL == "" {
		a.writeError(w, apierror.Fields([]apierror.FieldError{{Field: "verified",
			Message: "must be true: this deployment sends no verification links (CONSENTRY_VERIFICATION_SENDER_URL is not set), so the submitter must have verified the person"}}))
		return
	}
	id, err := eventid.New()
	if err != nil {
		a.writeError(w, err)
		return
	}
	ids, recordedAt := []string{id}, a.now().UTC()
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		if ids, recordedAt, err = a.claim(ctx, "privacy-requests", k, body, ids, recordedAt); err != nil {
			a.writeError(w, err)
			return
		}
	}
	subjectKey := a.pepper.SubjectKey(n.Tenant, n.SubjectID)
	sealed, err := a.seal(ctx, n.Tenant, subjectKey, n.Identifiers())
	if err != nil {
		a.writeError(w, err)
		return
	}
	req, err := a.flow.submit(ctx, n, ids[0], subjectKey, sealed, recordedAt, next)
	if err != nil {
		a.writeError(w, err)
		return
	}
	a.accepted.WithLabelValues("privacy_request").Inc()
	apierror.JSON(w, http.StatusAccepted, requestAnswer(req))
}

func requestAnswer(r lifecycle.Request) map[string]any {
	out := map[string]any{"request_id": r.ID, "event_ids": []string{r.ID}, "status": r.Status, "type": r.Type,
		"jurisdiction": r.Jurisdiction, "received_at": r.ReceivedAt}
	if r.DeadlineAt != nil {
		out["deadline_at"] = r.DeadlineAt.UTC()
	}
	if r.Scope != "" {
		out["scope"] = r.Scope
	}
	return out
}

// ---- HTTP: the controller's and the operator's moves ----

// ownRequest loads the path's request for a caller who may act on it: for an enterprise
// tenant only the Customer's own credential, for the consumer tenant a key of that tenant.
// Anything else answers as if the request did not exist.
func (a *api) ownRequest(r *http.Request) (lifecycle.Request, error) {
	id := r.PathValue("id")
	notFound := apierror.New(apierror.NotFound, "no privacy request has that id")
	if !eventid.Valid(id) {
		return lifecycle.Request{}, apierror.Fields([]apierror.FieldError{{Field: "id", Message: "must be a request id (UUID)"}})
	}
	req, ok, err := a.flow.store.Request(r.Context(), id)
	if err != nil {
		return req, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	key, _ := apikey.FromContext(r.Context())
	if !ok || !req.Published || !key.Allows(req.Tenant) {
		return req, notFound
	}
	if req.Tenant != lifecycle.ConsumerTenant && !key.Can(apikey.Controller) {
		return req, apierror.New(apierror.Forbidden, "only the Customer's own API key (controller permission) may act on its users' requests")
	}
	return req, nil
}

type reasonInput struct {
	Reason string `json:"reason"`
}

// reason reads {"reason": "..."}: it is recorded in the audit log and sent to nobody, so
// it is bounded and printable but a free text, which the caller must keep free of
// personal data.
func (a *api) reason(w http.ResponseWriter, r *http.Request, required bool) (string, error) {
	body, err := server.ReadBody(w, r, 16<<10)
	if err != nil {
		return "", err
	}
	var in reasonInput
	if len(body) > 0 {
		if err := server.DecodeStrict(body, "", &in); err != nil {
			return "", err
		}
	}
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case required && in.Reason == "":
		return "", apierror.Fields([]apierror.FieldError{{Field: "reason", Message: "is required"}})
	case len(in.Reason) > 500 || !utf8.ValidString(in.Reason) || strings.ContainsAny(in.Reason, "\x00\r\n"):
		return "", apierror.Fields([]apierror.FieldError{{Field: "reason", Message: "must be one line of at most 500 bytes"}})
	}
	return in.Reason, nil
}

func (a *api) postApprove(w http.ResponseWriter, r *http.Request) {
	req, err := a.ownRequest(r)
	if err == nil && req.Status != schemas.StatusForwardedToController {
		err = apierror.New(apierror.StateConflict, "only a request forwarded to the controller can be approved; this one is "+req.Status)
	}
	if err == nil {
		req, err = a.flow.move(r.Context(), req, schemas.StatusInProgress, "approved by the controller")
	}
	a.answerMove(w, req, err)
}

func (a *api) postReject(w http.ResponseWriter, r *http.Request) {
	req, err := a.ownRequest(r)
	var reason string
	if err == nil {
		reason, err = a.reason(w, r, true)
	}
	if err == nil && req.Status != schemas.StatusVerifying && req.Status != schemas.StatusForwardedToController && req.Status != schemas.StatusReceived {
		err = apierror.New(apierror.StateConflict, "a request can be rejected only before work on it starts; this one is "+req.Status)
	}
	if err == nil {
		req, err = a.flow.move(r.Context(), req, schemas.StatusRejected, "rejected: "+reason)
	}
	a.answerMove(w, req, err)
}

func (a *api) postExtend(w http.ResponseWriter, r *http.Request) {
	req, err := a.ownRequest(r)
	var reason string
	if err == nil {
		reason, err = a.reason(w, r, true)
	}
	if err == nil {
		var extended lifecycle.Request
		var detail string
		if extended, detail, err = req.Extend(reason, a.flow.cfg.parsedZone); errors.Is(err, lifecycle.ErrNotExtendable) {
			err = apierror.New(apierror.StateConflict, err.Error())
		} else if err == nil {
			extended.Status = req.Status
			req, err = a.flow.extend(r.Context(), extended, detail)
		}
	}
	a.answerMove(w, req, err)
}

func (a *api) answerMove(w http.ResponseWriter, req lifecycle.Request, err error) {
	if err != nil {
		a.writeError(w, err)
		return
	}
	apierror.JSON(w, http.StatusOK, requestAnswer(req))
}

// extend records a new deadline without a change of status.
func (f *flow) extend(ctx context.Context, r lifecycle.Request, detail string) (lifecycle.Request, error) {
	moved, err := f.store.Move(ctx, r, r.Status, r.Status, detail, false)
	if err != nil {
		if errors.Is(err, postgres.ErrMoved) {
			return r, apierror.New(apierror.StateConflict, "the request moved on meanwhile; fetch its status and try again")
		}
		return r, apierror.Wrap(apierror.Unavailable, "the request store is unavailable", err)
	}
	return moved, f.publish(ctx, moved, detail, f.now().UTC())
}

// ---- HTTP: the person's verification link ----

// The link's GET shows a page with one button and changes nothing: mail scanners and
// link previews fetch GETs. Only the POST confirms.
func (a *api) getVerify(w http.ResponseWriter, r *http.Request) {
	if _, err := a.linkRequest(r); err != nil {
		a.verifyPage(w, http.StatusBadRequest, pageBadLink, "")
		return
	}
	a.verifyPage(w, http.StatusOK, pageConfirm, r.PathValue("token"))
}

func (a *api) postVerify(w http.ResponseWriter, r *http.Request) {
	req, err := a.linkRequest(r)
	if err != nil {
		a.verifyPage(w, http.StatusBadRequest, pageBadLink, "")
		return
	}
	if req.Status == schemas.StatusVerifying {
		_, err = a.flow.move(r.Context(), req, lifecycle.AfterVerification(req.Tenant), "verified by the person's link")
	}
	var ae *apierror.Error
	switch {
	case errors.As(err, &ae) && ae.Code == apierror.StateConflict, err == nil:
		// Confirming twice, or after the request moved on, is still a confirmation.
		a.verifyPage(w, http.StatusOK, pageThanks, "")
	default:
		a.log.Warn("confirming a verification link failed", "request_id", req.ID, "error", err)
		a.verifyPage(w, http.StatusServiceUnavailable, pageTryAgain, "")
	}
}

func (a *api) linkRequest(r *http.Request) (lifecycle.Request, error) {
	if a.flow.cfg.parsedLinks == nil {
		return lifecycle.Request{}, lifecycle.ErrBadLink
	}
	id, err := a.flow.cfg.parsedLinks.Verify(r.PathValue("token"), a.now())
	if err != nil {
		return lifecycle.Request{}, err
	}
	req, ok, err := a.flow.store.Request(r.Context(), id)
	if err != nil || !ok || !req.Published {
		return req, lifecycle.ErrBadLink
	}
	return req, nil
}

// ---- the background: notifications, expiry, republishing ----

// run sends owed notifications, rejects requests whose verification expired and
// republishes moves whose events did not reach Kafka, until ctx ends.
func (f *flow) run(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		f.republish(ctx)
		f.notify(ctx)
		f.expire(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
		}
	}
}

func (f *flow) republish(ctx context.Context) {
	// A row is unpublished only between its write and Kafka's acknowledgement, unless
	// that publish failed: give an in-flight publish time to finish first.
	rows, err := f.store.Unpublished(ctx, f.now().Add(-10*time.Second), 100)
	if err != nil {
		f.warn(ctx, "listing unpublished requests failed", err)
		return
	}
	for _, r := range rows {
		if err := f.publish(ctx, r, r.Detail, r.UpdatedAt); err != nil {
			f.warn(ctx, "republishing a request failed", err)
			return
		}
	}
}

func (f *flow) notify(ctx context.Context) {
	rows, err := f.store.Queued(ctx, 50)
	if err != nil {
		f.warn(ctx, "listing queued notifications failed", err)
		return
	}
	for _, r := range rows {
		var err error
		switch r.Status {
		case schemas.StatusVerifying:
			err = f.sendLink(ctx, r)
		case schemas.StatusForwardedToController:
			err = f.forward(ctx, r)
		}
		if err == nil {
			err = f.store.Notified(ctx, r.ID, r.Status)
		}
		if err != nil {
			// The receiver is down or refuses: the next round tries again.
			f.log.Warn("sending a request notification failed", "request_id", r.ID, "status", r.Status, "error", err)
		}
	}
}

func (f *flow) expire(ctx context.Context) {
	rows, err := f.store.ExpiredVerifications(ctx, f.now(), 100)
	if err != nil {
		f.warn(ctx, "listing expired verifications failed", err)
		return
	}
	for _, r := range rows {
		detail := fmt.Sprintf("rejected: verification_expired: the person did not confirm within %s", f.cfg.VerifyTTL)
		if _, err := f.move(ctx, r, schemas.StatusRejected, detail); err != nil && !isConflict(err) {
			f.warn(ctx, "rejecting an expired request failed", err)
			return
		}
	}
}

func isConflict(err error) bool {
	var ae *apierror.Error
	return errors.As(err, &ae) && ae.Code == apierror.StateConflict
}

func (f *flow) warn(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		f.log.Warn(msg, "error", err)
	}
}

// sendLink gives the verification sender what it needs to email the person: the sender
// is the one party besides vendors that must see the address (DESIGN guarantee 5).
func (f *flow) sendLink(ctx context.Context, r lifecycle.Request) error {
	token, err := f.cfg.parsedLinks.Sign(r.ID, r.VerifyExpiresAt)
	if err != nil {
		return err
	}
	ids, err := f.sealer.Open(ctx, r.Tenant, r.SubjectKey, r.Sealed)
	if err != nil {
		return err
	}
	return f.post(ctx, f.cfg.SenderURL, map[string]any{
		"kind": "privacy_request_verification", "request_id": r.ID, "tenant": r.Tenant, "request_type": r.Type,
		"subject_id": ids.SubjectID, "email": ids.Email, "expires_at": r.VerifyExpiresAt.UTC(),
		"verify_url": strings.TrimRight(f.cfg.VerifyBaseURL, "/") + "/verify/" + token,
	})
}

// forward tells the Customer, the controller, that one of its users asked: it decides
// and answers through POST /v1/privacy-requests/{id}/approve or /reject with its own key.
func (f *flow) forward(ctx context.Context, r lifecycle.Request) error {
	url := f.cfg.parsedController.get(r.Tenant)
	if url == "" {
		// No webhook: the Customer finds it with GET /v1/privacy-requests?status=forwarded_to_controller.
		return nil
	}
	ids, err := f.sealer.Open(ctx, r.Tenant, r.SubjectKey, r.Sealed)
	if err != nil {
		return err
	}
	base := strings.TrimRight(f.cfg.VerifyBaseURL, "/") + "/v1/privacy-requests/" + r.ID
	body := map[string]any{
		"kind": "privacy_request_forwarded", "request_id": r.ID, "tenant": r.Tenant, "type": r.Type, "reason": r.Reason,
		"scope": r.Scope, "jurisdiction": r.Jurisdiction, "received_at": r.ReceivedAt.UTC(), "subject_id": ids.SubjectID,
		"email": ids.Email, "approve_url": base + "/approve", "reject_url": base + "/reject",
	}
	if r.DeadlineAt != nil {
		body["deadline_at"] = r.DeadlineAt.UTC()
	}
	return f.post(ctx, url, body)
}

func (f *flow) post(ctx context.Context, url string, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return f.sender.Post(ctx, url, b)
}
