package main

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/pseudonym"
)

const (
	defaultPageSize = 500
	maxPageSize     = 1000
)

// listSuppressions pages through a tenant's suppressions in force, in record-key order,
// for a tool that bootstraps its list before it tails the topic: ?tenant=…&after=<the
// last key of the previous page>&limit=…. The answer's next is the after of the next
// page, absent on the last.
func (a *api) listSuppressions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tenant, after := q.Get("tenant"), q.Get("after")
	var bad []apierror.FieldError
	if tenant == "" {
		bad = append(bad, apierror.FieldError{Field: "tenant", Message: "is required"})
	}
	if after != "" && !validKey(after) {
		bad = append(bad, apierror.FieldError{Field: "after", Message: "must be a record key from a previous page"})
	}
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			bad = append(bad, apierror.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(maxPageSize)})
		}
		limit = n
	}
	if len(bad) > 0 {
		apierror.Write(w, a.log, apierror.Fields(bad))
		return
	}
	if err := apikey.CheckTenant(r.Context(), tenant); err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	entries, err := a.suppressor.store.Page(r.Context(), tenant, after, limit)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the suppression store is unavailable", err))
		return
	}
	out := map[string]any{"tenant": tenant, "suppressions": entries}
	if len(entries) == limit {
		out["next"] = entries[len(entries)-1].Key
	}
	apierror.JSON(w, http.StatusOK, out)
}

// validKey reports whether s is a suppression record key: a hash, or hash:topic.
func validKey(s string) bool {
	hash, topic, scoped := strings.Cut(s, ":")
	return pseudonym.IsHexSHA256(hash) && (!scoped || (topic != "" && len(topic) <= 64))
}
