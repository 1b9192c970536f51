package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

// sendConfirmation mails the address a link to confirm the grants a preference-center
// save asked for, through the configured sender webhook (the one party besides vendors
// that sees the address). The confirmation token names the link, so revoking the link
// voids the confirmation too.
func (a *api) sendConfirmation(ctx context.Context, c token.Claims, sub linkSubject, out saved) error {
	now := a.now()
	tok, err := a.keys.SignGrant(token.Grant{Tenant: sub.tenant, SubjectKey: sub.subjectKey, LinkID: c.LinkID, List: c.List,
		Purposes: out.grantPurposes, Topics: out.resubscription, IssuedAt: now.Unix(), Sealed: sub.sealed})
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"kind": "preference_confirmation", "tenant": sub.tenant, "subject_id": sub.subjectID, "email": sub.email,
		"purposes": nonNil(out.grantPurposes), "topics": nonNil(out.resubscription),
		"expires_at": now.Add(a.confirmTTL).UTC(), "confirm_url": a.publicURL + "/confirm/" + tok,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.sender.Post(ctx, a.senderURL, body)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// grant verifies a confirmation token and finds its subject; on failure it has answered.
func (a *api) grant(w http.ResponseWriter, r *http.Request) (token.Grant, linkSubject, bool) {
	g, err := a.keys.VerifyGrant(r.PathValue("token"), a.now(), a.confirmTTL)
	if err != nil {
		a.render(w, r, http.StatusBadRequest, invalid)
		return g, linkSubject{}, false
	}
	_, sub, ok := a.linkSubjectOf(w, r, token.Claims{Tenant: g.Tenant, SubjectKey: g.SubjectKey, LinkID: g.LinkID, Sealed: g.Sealed})
	return g, sub, ok
}

// getConfirm shows the confirmation page with one button; like the unsubscribe page it
// changes nothing, since mail scanners follow links with GET.
func (a *api) getConfirm(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := a.grant(w, r); !ok {
		return
	}
	a.render(w, r, http.StatusOK, view{Title: "confirm.title", Message: "confirm.message", Action: r.URL.Path,
		Button: "confirm.button", FieldName: "confirm", FieldValue: "yes"})
}

// postConfirm applies the grants a confirmation link names: the only way a preference
// link can opt a person in.
func (a *api) postConfirm(w http.ResponseWriter, r *http.Request) {
	g, sub, ok := a.grant(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" || !a.sameOrigin(r) {
		a.render(w, r, http.StatusBadRequest, view{Title: "unsubscribe.not_a_request.title", Message: "preferences.invalid.message"})
		return
	}
	want := map[string]string{}
	for _, p := range g.Purposes {
		want[p] = schemas.Granted
	}
	wantTopics := map[string]bool{}
	for _, t := range g.Topics {
		wantTopics[t] = true
	}
	if _, err := a.savePrefs(r.Context(), sub, want, wantTopics, true); err != nil {
		a.log.Error("confirming preferences failed", "error", err)
		a.render(w, r, http.StatusServiceUnavailable, view{Title: "retry.title", Message: "retry.message"})
		return
	}
	a.render(w, r, http.StatusOK, view{Title: "confirm.done.title", Message: "preferences.saved.message"})
}
