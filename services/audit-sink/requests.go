package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

// Page sizes of the request listing.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// getRequest answers where a privacy request stands: audit.RequestView, with the raw
// log entries under "events".
func (a *api) getRequest(w http.ResponseWriter, r *http.Request) {
	v, err := a.request(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	apierror.JSON(w, http.StatusOK, v)
}

// request builds the view of the path's request. A request of another tenant answers
// exactly like a missing one, so that a key cannot learn which ids exist elsewhere.
func (a *api) request(r *http.Request) (audit.RequestView, error) {
	id := r.PathValue("id")
	if !eventid.Valid(id) {
		return audit.RequestView{}, apierror.Fields([]apierror.FieldError{{Field: "id", Message: "must be a request id (UUID)"}})
	}
	tenant, subjectKey, entries, err := a.store.Request(r.Context(), id)
	if err != nil {
		return audit.RequestView{}, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err)
	}
	if tenant == "" || apikey.CheckTenant(r.Context(), tenant) != nil {
		return audit.RequestView{}, apierror.New(apierror.NotFound, "no privacy request has that id")
	}
	return audit.BuildRequest(id, tenant, subjectKey, entries, a.now()), nil
}

// listRequests answers GET /v1/privacy-requests?status=…[&tenant=…][&limit=…][&after=…]
// with the requests in a lifecycle status, or the open ones at_risk or overdue now. The
// order is the deadline's, soonest first (requests without one last): the top of the
// list is what a privacy team must do next. A full page carries next_after, the cursor
// of the next one.
func (a *api) listRequests(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	if q.Tenants, err = a.visibleTenants(r.Context(), r.URL.Query().Get("tenant")); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	q.Now = a.now()
	page, next, err := a.store.ListRequests(r.Context(), q)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err))
		return
	}
	body := map[string]any{"requests": page}
	if next != nil {
		body["next_after"] = next.String()
	}
	apierror.JSON(w, http.StatusOK, body)
}

func listQuery(r *http.Request) (postgres.ListQuery, error) {
	v := r.URL.Query()
	q := postgres.ListQuery{Filter: v.Get("status"), Limit: defaultListLimit}
	var bad []apierror.FieldError
	if !audit.ValidFilter(q.Filter) {
		bad = append(bad, apierror.FieldError{Field: "status",
			Message: "must be one of " + strings.Join(schemas.Statuses, ", ") + ", at_risk, overdue"})
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			bad = append(bad, apierror.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(maxListLimit)})
		}
		q.Limit = n
	}
	if s := v.Get("after"); s != "" {
		c, err := postgres.ParseCursor(s)
		if err != nil {
			bad = append(bad, apierror.FieldError{Field: "after", Message: "must be the next_after of a previous page"})
		}
		q.After = &c
	}
	if len(bad) > 0 {
		return q, apierror.Fields(bad)
	}
	return q, nil
}

// visibleTenants are the tenants a listing covers: the one asked for, if the key may see
// it; otherwise every tenant for an operator key (nil), or those of a scoped key.
func (a *api) visibleTenants(ctx context.Context, asked string) ([]string, error) {
	if asked != "" {
		if err := apikey.CheckTenant(ctx, asked); err != nil {
			return nil, err
		}
		return []string{asked}, nil
	}
	key, _ := apikey.FromContext(ctx)
	if key.AllTenants() {
		return nil, nil
	}
	// A key does not list its tenants; the log's do, and there are few.
	known, err := a.store.Tenants(ctx)
	if err != nil {
		return nil, apierror.Wrap(apierror.Unavailable, "the audit log is unavailable", err)
	}
	mine := []string{}
	for _, t := range known {
		if key.Allows(t) {
			mine = append(mine, t)
		}
	}
	return mine, nil
}
