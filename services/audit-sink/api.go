package main

import (
	"log/slog"
	"net/http"
	"strconv"
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
	// exportMax is the most log entries an export holds; a subject with more is told
	// to page through its history instead, so that one export cannot hold the service's
	// memory or the database.
	exportMax int
}

// Page sizes of a subject's history.
const (
	defaultHistoryLimit = 500
	maxHistoryLimit     = 5000
)

// subject resolves the path's tenant and subject id to the pseudonymous key, after
// checking the caller may see that tenant. The subject id never reaches a log line.
func (a *api) subject(r *http.Request) (tenant, subjectKey string, err error) {
	tenant, subjectID := r.PathValue("tenant"), r.PathValue("subject_id")
	if err := apikey.CheckTenant(r.Context(), tenant); err != nil {
		return "", "", err
	}
	return tenant, a.pepper.SubjectKey(tenant, subjectID), nil
}

// getHistory answers GET /v1/subjects/{tenant}/{subject_id}/history[?limit=…][&after=…]:
// a page of the subject's log (limit 1-5000, default 500), with next, the after of the
// following page, when the page is full.
func (a *api) getHistory(w http.ResponseWriter, r *http.Request) {
	tenant, key, err := a.subject(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	limit, after, err := historyQuery(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	entries, next, err := a.store.History(r.Context(), tenant, key, after, limit)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	body := map[string]any{"tenant": tenant, "subject_key": key, "events": entries}
	if next != nil {
		body["next"] = next.String()
	}
	apierror.JSON(w, http.StatusOK, body)
}

func historyQuery(r *http.Request) (int, *postgres.HistoryCursor, error) {
	v := r.URL.Query()
	limit := defaultHistoryLimit
	var bad []apierror.FieldError
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxHistoryLimit {
			bad = append(bad, apierror.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(maxHistoryLimit)})
		}
		limit = n
	}
	var after *postgres.HistoryCursor
	if s := v.Get("after"); s != "" {
		c, err := postgres.ParseHistoryCursor(s)
		if err != nil {
			bad = append(bad, apierror.FieldError{Field: "after", Message: "must be the next of a previous page"})
		}
		after = &c
	}
	if len(bad) > 0 {
		return 0, nil, apierror.Fields(bad)
	}
	return limit, after, nil
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
