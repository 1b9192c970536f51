package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

// exportRequest answers GET /v1/privacy-requests/{id}/export[?format=csv]: everything
// Consentry holds about the request's subject (audit.Export) as JSON, or the consent
// history as CSV, one purpose decision a row. It is served only for an access or
// portability request in progress or later — never before the person was verified,
// since the export hands over their personal data.
func (a *api) exportRequest(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		apierror.Write(w, a.log, apierror.Fields([]apierror.FieldError{{Field: "format", Message: "must be json or csv"}}))
		return
	}
	v, err := a.request(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	if reason := audit.ExportRefusal(v); reason != "" {
		apierror.Write(w, a.log, apierror.New(apierror.StateConflict, reason))
		return
	}
	history, more, err := a.store.History(r.Context(), v.Tenant, v.SubjectKey, nil, a.exportMax+1)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	if more != nil && len(history) > a.exportMax {
		apierror.Write(w, a.log, apierror.New(apierror.TooLarge, fmt.Sprintf(
			"the subject's log holds more than %d entries, too many for one export; page through GET /v1/subjects/{tenant}/{subject_id}/history instead", a.exportMax)))
		return
	}
	// The body holds personal data: no cache keeps a copy.
	w.Header().Set("Cache-Control", "no-store")
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+v.RequestID+`.csv"`)
		if err := csv.NewWriter(w).WriteAll(audit.ConsentCSV(history)); err != nil {
			a.log.Warn("writing export failed", "error", err)
		}
		return
	}
	x, err := a.export(r.Context(), v, history)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+v.RequestID+`.json"`)
	apierror.JSON(w, http.StatusOK, x)
}

func (a *api) export(ctx context.Context, v audit.RequestView, history []audit.Entry) (audit.Export, error) {
	choices, err := a.store.Choices(ctx, v.Tenant, v.SubjectKey)
	if err != nil {
		return audit.Export{}, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err)
	}
	x := audit.BuildExport(v.RequestID, v.Tenant, v.SubjectKey, history, choices, a.now())
	if x.Identifiers, x.IdentifiersStatus, err = a.identifiers(ctx, v.Tenant, v.SubjectKey); err != nil {
		return audit.Export{}, apierror.Wrap(apierror.Unavailable, "the subject's identifiers could not be opened", err)
	}
	return x, nil
}

// identifiers opens every sealed identifier the subject's events carried. Errors name no
// identifier: seal's and serde's never do.
func (a *api) identifiers(ctx context.Context, tenant, subjectKey string) (*audit.Identifiers, string, error) {
	if a.sealer == nil {
		return nil, audit.IdentifiersUnavailable, nil
	}
	payloads, err := a.store.SealedIdentifiers(ctx, tenant, subjectKey)
	if err != nil {
		return nil, "", err
	}
	ids := &audit.Identifiers{}
	for _, p := range payloads {
		e, _, err := a.serde.Decode(ctx, p)
		if err != nil {
			return nil, "", err
		}
		opened, err := a.sealer.Open(ctx, tenant, subjectKey, e.EventHeader().Identifiers)
		switch {
		case errors.Is(err, seal.ErrShredded):
			return nil, audit.IdentifiersDestroyed, nil
		case errors.Is(err, seal.ErrNoKey):
			return nil, audit.IdentifiersUnavailable, nil
		case err != nil:
			return nil, "", err
		}
		ids.Add(opened.SubjectID, opened.Email, opened.AnonymousID, opened.VendorIDs)
	}
	if len(payloads) == 0 {
		return nil, audit.IdentifiersNone, nil
	}
	return ids, audit.IdentifiersOpened, nil
}
