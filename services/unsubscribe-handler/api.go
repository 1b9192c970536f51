package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/ratelimit"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/csrf"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

type api struct {
	log           *slog.Logger
	pepper        pseudonym.Pepper
	keys          *token.Keys
	suppressor    *suppressor
	publicURL     string
	mailto        string
	linkTTL       time.Duration
	policyVersion string
	now           func() time.Time

	catalogs *i18n.Catalogs
	csrf     *csrf.Guard
	topics   []string           // the email topics the preference center offers
	limiter  *ratelimit.Limiter // public pages, per client address
	// linkLimiter limits one-click POSTs with a valid signature per link, so that no
	// other client's traffic through the same address can cost anyone an opt-out.
	linkLimiter *ratelimit.Limiter
	trusted     []netip.Prefix // proxies whose X-Forwarded-For is believed

	sender     webhooksig.Sender // mails confirmation links; nil URL: grants cannot be confirmed
	senderURL  string
	confirmTTL time.Duration

	sendGrid sendGridInbound // the signed Event Webhook route
	hubSpot  hubSpotInbound  // HubSpot's signed webhook route
}

var (
	// tenantPattern is the shape of a tenant name everywhere in Consentry.
	tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	// listPattern is an email topic: it becomes part of a suppression record key
	// ("<hash>:<topic>"), so no colon and nothing a tool would have to escape.
	listPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// linkIDPattern is what token.NewLinkID makes.
	linkIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
)

type linkRequest struct {
	Tenant    string `json:"tenant"`
	SubjectID string `json:"subject_id"`
	Email     string `json:"email"`
	List      string `json:"list,omitempty"`
}

// postLink issues a signed unsubscribe link and the two headers a sender adds (RFC 2369
// List-Unsubscribe, RFC 8058 List-Unsubscribe-Post).
func (a *api) postLink(w http.ResponseWriter, r *http.Request) {
	var in linkRequest
	if err := server.DecodeJSON(w, r, 64<<10, &in); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	var bad []apierror.FieldError
	if !tenantPattern.MatchString(in.Tenant) {
		bad = append(bad, apierror.FieldError{Field: "tenant", Message: "is required: 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"})
	}
	if in.SubjectID == "" || len(in.SubjectID) > 256 {
		bad = append(bad, apierror.FieldError{Field: "subject_id", Message: "is required and at most 256 bytes"})
	}
	email := strings.TrimSpace(in.Email)
	if !pseudonym.PlausibleEmail(email) {
		bad = append(bad, apierror.FieldError{Field: "email", Message: "is not an email address"})
	}
	if in.List != "" && !listPattern.MatchString(in.List) {
		bad = append(bad, apierror.FieldError{Field: "list", Message: "is an email topic: 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter or digit"})
	}
	if len(bad) > 0 {
		apierror.Write(w, a.log, apierror.Fields(bad))
		return
	}
	if err := apikey.CheckTenant(r.Context(), in.Tenant); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	subjectKey := a.pepper.SubjectKey(in.Tenant, in.SubjectID)
	sealed, err := a.suppressor.sealer.Seal(r.Context(), in.Tenant, subjectKey, seal.Identifiers{SubjectID: in.SubjectID, Email: email})
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the key store is unavailable", err))
		return
	}
	linkID, err := token.NewLinkID()
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	// No hash of the address: the server derives it from the sealed identifiers when the
	// link is used (docs/adr/0006).
	issued := a.now()
	tok, err := a.keys.Sign(token.Claims{Tenant: in.Tenant, SubjectKey: subjectKey, LinkID: linkID, List: in.List,
		IssuedAt: issued.Unix(), Sealed: sealed})
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	url := a.publicURL + "/u/" + tok
	header := "<" + url + ">"
	if a.mailto != "" {
		header += ", <mailto:" + a.mailto + "?subject=unsubscribe>"
	}
	apierror.JSON(w, http.StatusOK, map[string]string{
		"id":                    linkID,
		"expires_at":            issued.Add(a.linkTTL).UTC().Format(time.RFC3339),
		"url":                   url,
		"list_unsubscribe":      header,
		"list_unsubscribe_post": "List-Unsubscribe=One-Click",
	})
}

// deleteLink revokes a link: every page it opens, and every confirmation sent from its
// preference center, answers as for an invalid link from then on.
func (a *api) deleteLink(w http.ResponseWriter, r *http.Request) {
	id, tenant := r.PathValue("id"), r.URL.Query().Get("tenant")
	var bad []apierror.FieldError
	if !linkIDPattern.MatchString(id) {
		bad = append(bad, apierror.FieldError{Field: "id", Message: "is not a link id (the id the link was issued with)"})
	}
	if !tenantPattern.MatchString(tenant) {
		bad = append(bad, apierror.FieldError{Field: "tenant", Message: "is required as a query parameter"})
	}
	if len(bad) > 0 {
		apierror.Write(w, a.log, apierror.Fields(bad))
		return
	}
	if err := apikey.CheckTenant(r.Context(), tenant); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	if err := a.suppressor.store.RevokeLink(r.Context(), tenant, id, a.now().UTC()); err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the link store is unavailable", err))
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"id": id, "tenant": tenant, "revoked": true})
}

// linkSubject is whom a verified link is for. hash is derived here, from the sealed
// identifiers: the link itself carries no hash of the address.
type linkSubject struct {
	tenant, subjectKey string
	sealed             *schemas.Sealed
	subjectID, email   string // only to mail a confirmation; never logged
	hash               string
}

// errGone ends a link whose subject was erased or that was revoked: it gets the invalid
// page, like a forged one.
var errGone = errors.New("the link was revoked or its subject erased")

// subjectOf checks that the link is not revoked and opens its sealed identifiers.
func (a *api) subjectOf(ctx context.Context, tenant, subjectKey, linkID string, sealed *schemas.Sealed) (linkSubject, error) {
	if linkID != "" {
		revoked, err := a.suppressor.store.LinkRevoked(ctx, tenant, linkID)
		if err != nil {
			return linkSubject{}, err
		}
		if revoked {
			return linkSubject{}, errGone
		}
	}
	ids, err := a.suppressor.sealer.Open(ctx, tenant, subjectKey, sealed)
	if errors.Is(err, seal.ErrShredded) || (err == nil && ids.Email == "") {
		// An erased subject's addresses are suppressed for good already.
		return linkSubject{}, errGone
	}
	if err != nil {
		return linkSubject{}, fmt.Errorf("opening a link's identifiers: %w", err)
	}
	return linkSubject{tenant: tenant, subjectKey: subjectKey, sealed: sealed, subjectID: ids.SubjectID, email: ids.Email,
		hash: pseudonym.EmailSHA256(ids.Email)}, nil
}

// link verifies the request's token and finds its subject; on failure it has answered.
func (a *api) link(w http.ResponseWriter, r *http.Request) (token.Claims, linkSubject, bool) {
	c, err := a.keys.Verify(r.PathValue("token"), a.now(), a.linkTTL)
	if err != nil {
		a.render(w, r, http.StatusBadRequest, invalid)
		return c, linkSubject{}, false
	}
	return a.linkSubjectOf(w, r, c)
}

func (a *api) linkSubjectOf(w http.ResponseWriter, r *http.Request, c token.Claims) (token.Claims, linkSubject, bool) {
	sub, err := a.subjectOf(r.Context(), c.Tenant, c.SubjectKey, c.LinkID, c.Sealed)
	switch {
	case errors.Is(err, errGone):
		a.render(w, r, http.StatusBadRequest, invalid)
		return c, sub, false
	case err != nil:
		a.log.Error("reading a link failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return c, sub, false
	}
	return c, sub, true
}

// getUnsubscribe shows a confirmation page with one button; it changes nothing, since
// mail scanners follow links with GET.
func (a *api) getUnsubscribe(w http.ResponseWriter, r *http.Request) {
	c, _, ok := a.link(w, r)
	if !ok {
		return
	}
	msg := "unsubscribe.message"
	if c.List != "" {
		msg = "unsubscribe.list_message"
	}
	a.render(w, r, http.StatusOK, view{Title: "unsubscribe.title", Message: msg, Action: r.URL.Path,
		Link: preferencesPath(r), LinkText: "unsubscribe.preferences_link"})
}

// preferencesPath is the preference center of the link r was reached by. The path is
// relative to the page, so it works behind whatever public URL serves it.
func preferencesPath(r *http.Request) string { return "../preferences/" + r.PathValue("token") }

// postUnsubscribe is the RFC 8058 one-click receiver (body List-Unsubscribe=One-Click),
// also used by the page's button. It needs no login and is idempotent: a second click
// finds the address already suppressed and publishes nothing. A link issued for a list
// unsubscribes from that list only; a link without one, from all marketing email.
//
// A request with a valid signature is limited per link, never per client address: mail
// providers send one-clicks for many recipients from few addresses, and an opt-out must
// not be refused because someone else shares the address (docs/adr/0006).
func (a *api) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	c, err := a.keys.Verify(tok, a.now(), a.linkTTL)
	if err != nil {
		// Unsigned, it is anonymous traffic like any other on the public pages.
		if a.allow(w, r, a.limiter, ratelimit.ClientKey(r, a.trusted)) {
			a.render(w, r, http.StatusBadRequest, invalid)
		}
		return
	}
	if !a.allow(w, r, a.linkLimiter, linkKey(c, tok)) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		a.render(w, r, http.StatusBadRequest, view{Title: "unsubscribe.not_a_request.title", Message: "unsubscribe.not_a_request.message"})
		return
	}
	c, sub, ok := a.linkSubjectOf(w, r, c)
	if !ok {
		return
	}
	if c.List != "" {
		err = a.unsubscribeList(r.Context(), sub, c.List)
	} else {
		err = a.unsubscribe(r.Context(), sub)
	}
	if err != nil {
		a.log.Error("one-click unsubscribe failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return
	}
	msg := "unsubscribe.done.message"
	if c.List != "" {
		msg = "unsubscribe.list_done.message"
	}
	a.render(w, r, http.StatusOK, view{Title: "unsubscribe.done.title", Message: msg,
		Link: preferencesPath(r), LinkText: "unsubscribe.preferences_link"})
}

// linkKey names a link for its rate limit: its id, or for a link issued before links had
// ids, its signature.
func linkKey(c token.Claims, tok string) string {
	if c.LinkID != "" {
		return "id:" + c.Tenant + "/" + c.LinkID
	}
	_, sig, _ := strings.Cut(tok, ".")
	return "sig:" + sig
}

// unsubscribe suppresses all marketing email to the link's address and publishes the
// withdrawal of marketing_email it amounts to.
func (a *api) unsubscribe(ctx context.Context, sub linkSubject) error {
	s := a.suppressor
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		current, known, err := tx.Get(ctx, sub.tenant, sub.hash)
		if err != nil {
			return err
		}
		if known && current.Suppressed {
			return nil
		}
		id, err := eventid.New()
		if err != nil {
			return err
		}
		now := a.now().UTC()
		consent := &schemas.ConsentChanged{Header: schemas.Header{EventID: id, Tenant: sub.tenant, SubjectKey: sub.subjectKey,
			OccurredAt: now, RecordedAt: now, Source: schemas.SourceEmailLink, PolicyVersion: a.policyVersion, Identifiers: sub.sealed},
			Purposes: map[string]string{schemas.PurposeMarketingEmail: schemas.Denied}}
		consentMsg, err := s.serde.EncodeMessage(s.topics.Consents, sub.subjectKey, consent)
		if err != nil {
			return err
		}
		msgs := []kafka.Message{consentMsg}
		suppression, err := s.apply(ctx, tx, change{cause: consent.Header, hash: sub.hash, suppress: true, reason: reasonOptOut})
		if err != nil {
			return err
		}
		if suppression != nil {
			msgs = append(msgs, *suppression)
		}
		if err := s.producer.Publish(ctx, msgs...); err != nil {
			return err
		}
		// Published, not yet committed: a crash here leaves the consumer to publish the
		// suppression again, under the same id, when it reads the consent event.
		failpoint.Hit(failpoint.OneClickAfterPublish)
		return nil
	})
}

// unsubscribeList suppresses one email topic for the link's address (scope "topic").
// A topic is not a purpose, so no consent event is published, as for the preference
// center's topic boxes.
func (a *api) unsubscribeList(ctx context.Context, sub linkSubject, list string) error {
	s := a.suppressor
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		topics, err := tx.Topics(ctx, sub.tenant, sub.hash)
		if err != nil || topics[list] {
			return err
		}
		id, err := eventid.New()
		if err != nil {
			return err
		}
		now := a.now().UTC()
		cause := schemas.Header{EventID: id, Tenant: sub.tenant, SubjectKey: sub.subjectKey, OccurredAt: now, RecordedAt: now,
			Source: schemas.SourceEmailLink, PolicyVersion: a.policyVersion, Identifiers: sub.sealed}
		m, err := s.applyTopic(ctx, tx, topicChange{cause: cause, hash: sub.hash, topic: list, suppress: true})
		if err != nil || m == nil {
			return err
		}
		return s.producer.Publish(ctx, *m)
	})
}

// getSuppression answers whether an address hash is suppressed, for the tenants the
// caller's key may see; tools bootstrap with it before they tail the topic.
func (a *api) getSuppression(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("email_sha256")
	if !pseudonym.IsHexSHA256(hash) {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "email_sha256", Message: "must be 64 lower-case hex digits"}}))
		return
	}
	all, err := a.suppressor.store.Lookup(r.Context(), hash)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the suppression store is unavailable", err))
		return
	}
	key, _ := apikey.FromContext(r.Context())
	visible := []postgres.Suppression{}
	suppressed := false
	for _, s := range all {
		if key.Allows(s.Tenant) {
			visible = append(visible, s)
			suppressed = suppressed || s.Suppressed
		}
	}
	if len(visible) == 0 {
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no suppression is recorded for that address hash"))
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"email_sha256": hash, "suppressed": suppressed, "tenants": visible})
}
