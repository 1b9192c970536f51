package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

// purposes are the choices the preference center offers, in the order it shows them.
// essential cannot be refused and sale_share is not a choice the policy offers here (the
// company sells no personal information), so neither is shown.
var purposes = []string{schemas.PurposeAnalytics, schemas.PurposeAdvertising, schemas.PurposePersonalization,
	schemas.PurposeMarketingEmail, schemas.PurposeSalesOutreach}

// prefState is what the preference center shows for one link.
type prefState struct {
	decisions map[string]string // purpose → granted/denied; absent when none is recorded
	// topicSuppressed holds the topics the address opted out of.
	topicSuppressed map[string]bool
}

func (a *api) loadPrefs(ctx context.Context, tx *postgres.Tx, sub linkSubject) (prefState, error) {
	choices, err := tx.Choices(ctx, sub.tenant, sub.subjectKey)
	if err != nil {
		return prefState{}, err
	}
	st := prefState{decisions: map[string]string{}}
	for p, ch := range choices {
		st.decisions[p] = ch.Decision
	}
	// The address's own suppression outranks the subject's last marketing choice: it may
	// come from a one-click the consumer has not caught up with, a bounce or an erasure.
	sup, known, err := tx.Get(ctx, sub.tenant, sub.hash)
	if err != nil {
		return prefState{}, err
	}
	if known && sup.Suppressed {
		st.decisions[schemas.PurposeMarketingEmail] = schemas.Denied
	}
	st.topicSuppressed, err = tx.Topics(ctx, sub.tenant, sub.hash)
	return st, err
}

// topicsFor returns the topics a link's page offers: the configured ones, plus the list
// the link was sent for.
func (a *api) topicsFor(c token.Claims) []string {
	out := slices.Clone(a.topics)
	if c.List != "" && !slices.Contains(out, c.List) {
		out = append(out, c.List)
	}
	return out
}

func (a *api) prefsForm(m *i18n.Catalog, c token.Claims, tok string, st prefState) *prefsForm {
	f := &prefsForm{CSRF: a.csrf.Issue(tok, a.now())}
	for _, p := range purposes {
		f.Purposes = append(f.Purposes, purposeField{ID: "purpose-" + p, Name: "purpose." + p,
			TitleID: "purpose." + p + ".title", DescriptionID: "purpose." + p + ".description", Decision: st.decisions[p]})
	}
	for _, t := range a.topicsFor(c) {
		label := t
		if m.Has("topic." + t) {
			label = m.T("topic." + t)
		}
		f.Topics = append(f.Topics, topicField{ID: "topic-" + t, Name: "topic." + t, Label: label, Subscribed: !st.topicSuppressed[t]})
	}
	return f
}

// getPreferences shows the current choices. Like every public page it is authorised by
// its signed token alone.
func (a *api) getPreferences(w http.ResponseWriter, r *http.Request) {
	c, sub, ok := a.link(w, r)
	if !ok {
		return
	}
	var st prefState
	err := a.suppressor.store.InTx(r.Context(), func(tx *postgres.Tx) error {
		var err error
		st, err = a.loadPrefs(r.Context(), tx, sub)
		return err
	})
	if err != nil {
		a.log.Error("loading preferences failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return
	}
	m := a.catalogs.For(r.Header.Get("Accept-Language"))
	a.render(w, r, http.StatusOK, view{Title: "preferences.title", Action: r.URL.Path, Form: a.prefsForm(m, c, r.PathValue("token"), st)})
}

// postPreferences saves the choices. Withdrawals take effect at once: one ConsentChanged
// (source preference_center) holding the purposes denied, and a scope "topic"
// suppression per topic unticked. Grants — a purpose allowed, a topic ticked again —
// only ask: anyone holding a forwarded link could send them, so they are mailed to the
// address for confirmation (double opt-in) and take effect from the confirmation link.
// A second submit of the same form finds nothing changed and emits nothing.
func (a *api) postPreferences(w http.ResponseWriter, r *http.Request) {
	c, err := a.keys.Verify(r.PathValue("token"), a.now(), a.linkTTL)
	if err != nil {
		a.render(w, r, http.StatusBadRequest, invalid)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.render(w, r, http.StatusBadRequest, view{Title: "unsubscribe.not_a_request.title", Message: "preferences.invalid.message"})
		return
	}
	tok := r.PathValue("token")
	if !a.sameOrigin(r) || a.csrf.Check(r.PostForm.Get("csrf"), tok, a.now()) != nil {
		a.render(w, r, http.StatusForbidden, view{Title: "csrf.title", Message: "csrf.message", Link: r.URL.Path, LinkText: "preferences.saved.back"})
		return
	}
	want := map[string]string{}
	for _, p := range purposes {
		switch v := r.PostForm.Get("purpose." + p); v {
		case schemas.Granted, schemas.Denied:
			want[p] = v
		case "": // no choice made: leave it as it is
		default:
			a.render(w, r, http.StatusBadRequest, view{Title: "unsubscribe.not_a_request.title", Message: "preferences.invalid.message"})
			return
		}
	}
	var wantTopics map[string]bool // topic → subscribed; nil when the form showed none
	if r.PostForm.Get("topics_shown") != "" {
		wantTopics = map[string]bool{}
		for _, t := range a.topicsFor(c) {
			wantTopics[t] = r.PostForm.Get("topic."+t) == "on"
		}
	}
	c, sub, ok := a.linkSubjectOf(w, r, c)
	if !ok {
		return
	}
	out, err := a.savePrefs(r.Context(), sub, want, wantTopics, false)
	if err == nil && out.asks() && a.senderURL != "" {
		err = a.sendConfirmation(r.Context(), c, sub, out)
	}
	if err != nil {
		a.log.Error("saving preferences failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return
	}
	msg := "preferences.saved.message"
	switch {
	case out.asks() && a.senderURL == "":
		msg = "preferences.confirm_unavailable.message"
	case out.asks():
		msg = "preferences.confirm_sent.message"
	case !out.changed:
		msg = "preferences.unchanged.message"
	}
	a.render(w, r, http.StatusOK, view{Title: "preferences.saved.title", Message: msg, Link: r.URL.Path, LinkText: "preferences.saved.back"})
}

// sameOrigin refuses a form posted from another site, as far as the browser says where
// it came from; the CSRF token is the check that holds when it does not say.
func (a *api) sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null", sent from sandboxed frames and opaque origins
	}
	if pub, err := url.Parse(a.publicURL); err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, pub.Scheme+"://"+pub.Host) {
		return true
	}
	return strings.EqualFold(u.Host, r.Host)
}

// saved is what a save did, and which grants it left for a confirmation.
type saved struct {
	changed        bool
	grantPurposes  []string // purposes to allow once confirmed
	resubscription []string // topics to receive again once confirmed
}

func (o saved) asks() bool { return len(o.grantPurposes)+len(o.resubscription) > 0 }

// savePrefs applies a submitted form in one transaction and reports what changed. The
// subject is locked first, so of two submits racing, the second sees the first's result.
// Unless confirmed, a grant is not applied but returned for a confirmation mail.
func (a *api) savePrefs(ctx context.Context, sub linkSubject, want map[string]string, wantTopics map[string]bool, confirmed bool) (saved, error) {
	s := a.suppressor
	var out saved
	err := s.store.InTx(ctx, func(tx *postgres.Tx) error {
		out = saved{}
		if err := tx.LockSubject(ctx, sub.tenant, sub.subjectKey); err != nil {
			return err
		}
		st, err := a.loadPrefs(ctx, tx, sub)
		if err != nil {
			return err
		}
		diff := map[string]string{}
		for p, v := range want {
			switch {
			case st.decisions[p] == v:
			case v == schemas.Granted && !confirmed:
				out.grantPurposes = append(out.grantPurposes, p)
			default:
				diff[p] = v
			}
		}
		var topics []string
		for t, subscribed := range wantTopics {
			switch {
			case st.topicSuppressed[t] != subscribed:
			case subscribed && !confirmed:
				out.resubscription = append(out.resubscription, t)
			default:
				topics = append(topics, t)
			}
		}
		slices.Sort(topics)
		slices.Sort(out.grantPurposes)
		slices.Sort(out.resubscription)
		if len(diff) == 0 && len(topics) == 0 {
			return nil
		}
		out.changed = true
		id, err := eventid.New()
		if err != nil {
			return err
		}
		now := a.now().UTC()
		cause := schemas.Header{EventID: id, Tenant: sub.tenant, SubjectKey: sub.subjectKey, OccurredAt: now, RecordedAt: now,
			Source: schemas.SourcePreferenceCenter, PolicyVersion: a.policyVersion, Identifiers: sub.sealed}
		var msgs []kafka.Message
		if len(diff) > 0 {
			m, err := s.serde.EncodeMessage(s.topics.Consents, sub.subjectKey, &schemas.ConsentChanged{Header: cause, Purposes: diff})
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
			if err := tx.RecordChoices(ctx, sub.tenant, sub.subjectKey, diff, now, id); err != nil {
				return err
			}
			if d, ok := diff[schemas.PurposeMarketingEmail]; ok {
				ch := change{cause: cause, hash: sub.hash, suppress: d == schemas.Denied, reason: reasonOptOut}
				if !ch.suppress {
					ch.reason = reasonOptIn
				}
				m, err := s.apply(ctx, tx, ch)
				if err != nil {
					return err
				}
				if m != nil {
					msgs = append(msgs, *m)
				}
			}
		}
		// Topic changes alone publish no consent event (a topic is not a purpose); their
		// suppressions name this save's id as their cause all the same.
		for _, t := range topics {
			m, err := s.applyTopic(ctx, tx, topicChange{cause: cause, hash: sub.hash, topic: t, suppress: !wantTopics[t]})
			if err != nil {
				return err
			}
			if m != nil {
				msgs = append(msgs, *m)
			}
		}
		return s.producer.Publish(ctx, msgs...)
	})
	return out, err
}
