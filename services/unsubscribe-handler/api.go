package main

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/failpoint"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/csrf"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/ratelimit"
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
	topics   []string // the email topics the preference center offers
	limiter  *ratelimit.Limiter
	trusted  []netip.Prefix // proxies whose X-Forwarded-For is believed
}

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
	if in.Tenant == "" {
		bad = append(bad, apierror.FieldError{Field: "tenant", Message: "is required"})
	}
	if in.SubjectID == "" || len(in.SubjectID) > 256 {
		bad = append(bad, apierror.FieldError{Field: "subject_id", Message: "is required and at most 256 bytes"})
	}
	email := strings.TrimSpace(in.Email)
	if !pseudonym.PlausibleEmail(email) {
		bad = append(bad, apierror.FieldError{Field: "email", Message: "is not an email address"})
	}
	if len(in.List) > 64 {
		bad = append(bad, apierror.FieldError{Field: "list", Message: "is longer than 64 bytes"})
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
	tok, err := a.keys.Sign(token.Claims{Tenant: in.Tenant, SubjectKey: subjectKey, EmailHash: pseudonym.EmailSHA256(email),
		List: in.List, IssuedAt: a.now().Unix(), Sealed: sealed})
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
		"url":                   url,
		"list_unsubscribe":      header,
		"list_unsubscribe_post": "List-Unsubscribe=One-Click",
	})
}

func (a *api) verify(r *http.Request) (token.Claims, bool) {
	c, err := a.keys.Verify(r.PathValue("token"), a.now(), a.linkTTL)
	return c, err == nil
}

// getUnsubscribe shows a confirmation page with one button; it changes nothing, since
// mail scanners follow links with GET.
func (a *api) getUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.verify(r); !ok {
		a.render(w, r, http.StatusBadRequest, invalid)
		return
	}
	a.render(w, r, http.StatusOK, view{Title: "unsubscribe.title", Message: "unsubscribe.message", Action: r.URL.Path,
		Link: preferencesPath(r), LinkText: "unsubscribe.preferences_link"})
}

// preferencesPath is the preference center of the link r was reached by. The path is
// relative to the page, so it works behind whatever public URL serves it.
func preferencesPath(r *http.Request) string { return "../preferences/" + r.PathValue("token") }

// postUnsubscribe is the RFC 8058 one-click receiver (body List-Unsubscribe=One-Click),
// also used by the page's button. It needs no login and is idempotent: a second click
// finds the address already suppressed and publishes nothing.
func (a *api) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	c, ok := a.verify(r)
	if !ok {
		a.render(w, r, http.StatusBadRequest, invalid)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		a.render(w, r, http.StatusBadRequest, view{Title: "unsubscribe.not_a_request.title", Message: "unsubscribe.not_a_request.message"})
		return
	}
	if err := a.unsubscribe(r, c); err != nil {
		a.log.Error("one-click unsubscribe failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return
	}
	a.render(w, r, http.StatusOK, view{Title: "unsubscribe.done.title", Message: "unsubscribe.done.message",
		Link: preferencesPath(r), LinkText: "unsubscribe.preferences_link"})
}

func (a *api) unsubscribe(r *http.Request, c token.Claims) error {
	ctx := r.Context()
	s := a.suppressor
	return s.store.InTx(ctx, func(tx *postgres.Tx) error {
		current, known, err := tx.Get(ctx, c.Tenant, c.EmailHash)
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
		consent := &schemas.ConsentChanged{Header: schemas.Header{EventID: id, Tenant: c.Tenant, SubjectKey: c.SubjectKey,
			OccurredAt: now, RecordedAt: now, Source: schemas.SourceEmailLink, PolicyVersion: a.policyVersion, Identifiers: c.Sealed},
			Purposes: map[string]string{schemas.PurposeMarketingEmail: schemas.Denied}}
		consentMsg, err := s.serde.EncodeMessage(s.topics.Consents, c.SubjectKey, consent)
		if err != nil {
			return err
		}
		suppression, err := s.apply(ctx, tx, change{cause: consent.Header, hash: c.EmailHash, suppress: true, reason: reasonOptOut})
		if err != nil {
			return err
		}
		if err := s.producer.Publish(ctx, consentMsg, *suppression); err != nil {
			return err
		}
		failpoint.Hit(failpoint.OneClickAfterPublish)
		return nil
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
