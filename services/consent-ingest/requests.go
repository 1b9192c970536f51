package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/jsonstrict"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
)

// The HTTP side of privacy requests (docs/privacy-requests.md): submission, the
// controller's and the operator's moves, and the person's verification link. The moves
// themselves are internal/requests'.

func (a *api) postPrivacyRequest(w http.ResponseWriter, r *http.Request) {
	body, err := server.ReadBody(w, r, maxBody)
	if err != nil {
		a.writeError(w, err)
		return
	}
	var in ingest.RequestInput
	if err := jsonstrict.Decode(body, "", &in); err != nil {
		a.writeError(w, err)
		return
	}
	n, bad := ingest.ValidateRequest(in, a.now(), a.policyVersion, a.requestCfg.parsedLaw.get(in.Tenant))
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
	if next == schemas.StatusVerifying && a.requestCfg.SenderURL == "" {
		a.writeError(w, apierror.Fields([]apierror.FieldError{{Field: "verified",
			Message: "must be true: this deployment sends no verification links (CONSENTRY_VERIFICATION_SENDER_URL is not set), so the submitter must have verified the person"}}))
		return
	}
	subjectKey := a.pepper.SubjectKey(n.Tenant, n.SubjectID)
	if next == schemas.StatusVerifying {
		addr, err := a.linkAddress(ctx, n, subjectKey)
		if err != nil {
			a.writeError(w, err)
			return
		}
		// The request carries the address the link goes to, the one on file.
		n.Email = addr
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
	sealed, err := a.seal(ctx, n.Tenant, subjectKey, n.Identifiers())
	if err != nil {
		a.writeError(w, err)
		return
	}
	req, err := a.flow.Submit(ctx, n, ids[0], subjectKey, sealed, recordedAt, next)
	if err != nil {
		a.writeError(w, err)
		return
	}
	a.accepted.WithLabelValues("privacy_request").Inc()
	apierror.JSON(w, http.StatusAccepted, requestAnswer(req))
}

// linkAddress is where an unverified request's confirmation link goes: the address on
// file for the subject, never one the request brings (lifecycle.LinkAddress).
func (a *api) linkAddress(ctx context.Context, n ingest.Normalized, subjectKey string) (string, error) {
	onFile, err := a.flow.AddressOnFile(ctx, n.Tenant, subjectKey)
	if err != nil {
		return "", err
	}
	addr, err := lifecycle.LinkAddress(n.Email, onFile)
	switch {
	case errors.Is(err, lifecycle.ErrNothingOnFile):
		return "", apierror.Fields([]apierror.FieldError{{Field: "identifiers.email",
			Message: "no address is on file for this subject to send the confirmation link to: the link goes only to an address reported with the subject's consents; report a consent carrying the address first, or submit verified: true with a key that has the verify permission"}})
	case errors.Is(err, lifecycle.ErrNotOnFile):
		return "", apierror.Fields([]apierror.FieldError{{Field: "identifiers.email",
			Message: "is not the address on file for this subject: the confirmation link goes only to the address reported with the subject's consents (leave identifiers.email out to use it)"}})
	}
	return addr, err
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
	req, ok, err := a.flow.Request(r.Context(), id)
	if err != nil {
		return req, err
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
		if err := jsonstrict.Decode(body, "", &in); err != nil {
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
		req, err = a.flow.Move(r.Context(), req, schemas.StatusInProgress, "approved by the controller"+actedBy(r))
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
		req, err = a.flow.Move(r.Context(), req, schemas.StatusRejected, "rejected: "+reason+actedBy(r))
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
		if extended, detail, err = req.Extend(reason, a.requestCfg.parsedZone); errors.Is(err, lifecycle.ErrNotExtendable) {
			err = apierror.New(apierror.StateConflict, err.Error())
		} else if err == nil {
			extended.Status = req.Status
			req, err = a.flow.Extend(r.Context(), extended, detail+actedBy(r))
		}
	}
	a.answerMove(w, req, err)
}

// actedBy names, for the transition's audit record, the person a trusted front end (the
// console) acted for; empty for a plain API call, whose key the record already carries.
func actedBy(r *http.Request) string {
	if _, ok := apikey.ActorOf(r.Context()); ok {
		return " (by " + apikey.Who(r.Context()) + ")"
	}
	return ""
}

func (a *api) answerMove(w http.ResponseWriter, req lifecycle.Request, err error) {
	if err != nil {
		a.writeError(w, err)
		return
	}
	apierror.JSON(w, http.StatusOK, requestAnswer(req))
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
		_, err = a.flow.Move(r.Context(), req, lifecycle.AfterVerification(req.Tenant), "verified by the person's link")
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
	if a.requestCfg.parsedLinks == nil {
		return lifecycle.Request{}, lifecycle.ErrBadLink
	}
	id, err := a.requestCfg.parsedLinks.Verify(r.PathValue("token"), a.now())
	if err != nil {
		return lifecycle.Request{}, err
	}
	req, ok, err := a.flow.Request(r.Context(), id)
	if err != nil || !ok || !req.Published {
		return req, lifecycle.ErrBadLink
	}
	return req, nil
}
