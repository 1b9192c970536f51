package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

type api struct {
	log    *slog.Logger
	store  *postgres.Store
	pepper pseudonym.Pepper
	serde  *serde.Serde
	sealer *seal.Sealer // nil when the deployment gives audit-sink no master keys
	now    func() time.Time
	chain  *chainGauge // nil in tests of the API alone
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
