package main

import (
	"log/slog"
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

type api struct {
	log    *slog.Logger
	store  *postgres.Store
	pepper pseudonym.Pepper
}

// subject resolves the path's tenant and subject id to the pseudonymous key, after
// checking the caller may see that tenant. The subject id never reaches a log line.
func (a *api) subject(r *http.Request) (tenant, subjectKey string, err error) {
	tenant, subjectID := r.PathValue("tenant"), r.PathValue("subject_id")
	if err := apikey.CheckTenant(r.Context(), tenant); err != nil {
		return "", "", err
	}
	return tenant, a.pepper.SubjectKey(tenant, subjectID), nil
}

func (a *api) getHistory(w http.ResponseWriter, r *http.Request) {
	tenant, key, err := a.subject(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	entries, err := a.store.History(r.Context(), tenant, key)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"tenant": tenant, "subject_key": key, "events": entries})
}

func (a *api) getConsent(w http.ResponseWriter, r *http.Request) {
	tenant, key, err := a.subject(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	choices, err := a.store.Choices(r.Context(), tenant, key)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"tenant": tenant, "subject_key": key, "purposes": audit.CurrentState(choices)})
}

func (a *api) getRequest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !eventid.Valid(id) {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "id", Message: "must be a request id (UUID)"}}))
		return
	}
	tenant, entries, err := a.store.Request(r.Context(), id)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	// A request of another tenant answers exactly like a missing one.
	if tenant == "" || apikey.CheckTenant(r.Context(), tenant) != nil {
		apierror.Write(w, a.log, apierror.New(apierror.NotFound, "no privacy request has that id"))
		return
	}
	status := ""
	for _, e := range entries {
		if s, ok := e.Details["status"].(string); ok && e.Type == audit.TypePrivacyRequest {
			status = s
		}
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"request_id": id, "tenant": tenant, "status": status, "events": entries})
}
