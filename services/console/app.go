package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/services/console/internal/backend"
	"github.com/consentry/consentry/services/console/internal/roles"
	"github.com/consentry/consentry/services/console/internal/session"
)

//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// contentSecurityPolicy allows nothing but the console's own stylesheet and images and
// forms posting back to it: no script runs at all, so injected markup has nothing to run.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type app struct {
	cfg     config
	log     *slog.Logger
	api     *backend.Client
	idp     *provider
	sealer  *session.Sealer
	cookies session.Cookies
	pages   map[string]*template.Template
	now     func() time.Time
}

func newApp(cfg config, log *slog.Logger, api *backend.Client, now func() time.Time) (*app, error) {
	sealer, err := session.NewSealer(cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, api: api, idp: &provider{cfg: cfg}, sealer: sealer,
		cookies: session.Cookies{Secure: cfg.PublicURL.Scheme == "https"}, pages: map[string]*template.Template{}, now: now}
	funcs := template.FuncMap{
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2 Jan 2006 15:04 UTC")
			case *time.Time:
				if v == nil || v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2 Jan 2006 15:04 UTC")
			}
			return "—"
		},
		"age": func(s float64) string {
			if s <= 0 {
				return "none"
			}
			return (time.Duration(s) * time.Second).Round(time.Second).String()
		},
		"plain":  plain,
		"can":    func(s signedIn, p string) bool { return s.Grant.Can(roles.Permission(p)) },
		"joined": func(xs []string) string { return strings.Join(xs, ", ") },
	}
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "web/templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		a.pages[base] = t
	}
	return a, nil
}

// plain turns the services' status words into plain language.
func plain(s string) string {
	if p, ok := plainWords[s]; ok {
		return p
	}
	return strings.ReplaceAll(s, "_", " ")
}

var plainWords = map[string]string{
	"forwarded_to_controller": "waiting for the Customer's approval",
	"at_risk":                 "at risk",
	"dead_lettered":           "failed, parked",
	"delete_user":             "delete the person",
	"opt_out":                 "opt the person out",
	"suppress_email":          "stop email to the address",
	"on_track":                "on track",
	"half-open":               "testing again",
	"open":                    "open",
	"closed":                  "working",
	"none":                    "working",
}

// handler is every route, wrapped in the security headers and cross-origin protection.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /auth/login", a.login)
	mux.HandleFunc("GET /auth/callback", a.callback)
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusOK, "signin", signedIn{}, map[string]any{"SignedOut": true})
	})
	for _, rt := range a.routes() {
		mux.Handle(rt.pattern, a.guard(rt))
	}
	cop := http.NewCrossOriginProtection()
	return securityHeaders(cop.Handler(mux))
}

// route is one screen or action and the permission it needs.
type route struct {
	pattern string
	perm    roles.Permission
	h       func(http.ResponseWriter, *http.Request, signedIn)
}

// routes is the console's table: every route names its permission, and guard refuses a
// person without it (403) whether or not the screen showed them the button.
func (a *app) routes() []route {
	return []route{
		{"GET /{$}", roles.View, a.home},
		{"POST /auth/logout", "", func(w http.ResponseWriter, r *http.Request, _ signedIn) { a.logout(w, r) }},
		{"GET /requests", roles.View, a.requests},
		{"GET /requests/{id}", roles.View, a.request},
		{"POST /requests/{id}/{action}", roles.ManageRequests, a.decide},
		{"GET /tasks", roles.View, a.tasks},
		{"GET /tasks/{id}", roles.View, a.task},
		{"POST /tasks/{id}/reveal", roles.RevealIdentifiers, a.reveal},
		{"POST /tasks/{id}/complete", roles.CompleteTasks, a.complete},
		{"GET /dead-letters", roles.View, a.deadLetters},
		{"POST /dead-letters/{id}/replay", roles.ReplayDeadLetters, a.replayOne},
		{"POST /vendors/{name}/replay", roles.ReplayDeadLetters, a.replayVendor},
		{"GET /lanes", roles.View, a.lanes},
		{"GET /subject", roles.ViewSubjects, a.subjectForm},
		{"POST /subject", roles.ViewSubjects, a.subject},
		{"GET /audit", roles.View, a.audit},
		{"POST /audit/verify", roles.VerifyAudit, a.verify},
	}
}

func (a *app) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				a.render(w, r, http.StatusOK, "signin", signedIn{}, nil)
				return
			}
			a.fail(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !checkCSRF(r, s) {
				a.fail(w, r, http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")
				return
			}
		}
		if rt.perm != "" && !s.Grant.Can(rt.perm) {
			a.log.Info("console action refused", "actor", s.Actor, "route", rt.pattern)
			a.failAs(w, r, s, http.StatusForbidden, "Your role does not allow this. Ask your administrator if you need it.")
			return
		}
		rt.h(w, r, s)
	})
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Screens show people's requests and, once revealed, identifiers: keep them
			// out of every cache.
			hd.Set("Cache-Control", "no-store")
		}
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	S     signedIn
	Title string
	Path  string
	Flash string
	Data  any
}

var titles = map[string]string{
	"home": "Start", "requests": "Privacy requests", "request": "Privacy request", "tasks": "Manual tasks",
	"task": "Manual task", "deadletters": "Dead letters", "lanes": "Vendor lanes", "subject": "Look up a person",
	"audit": "Audit log", "signin": "Sign in", "error": "Something went wrong",
}

// flashes are the fixed messages a redirect after an action may name (?done=), so that
// no free text travels in a URL.
var flashes = map[string]string{
	"approved":     "The request is approved. Vendors will be told now.",
	"rejected":     "The request is rejected.",
	"extended":     "The deadline is extended.",
	"completed":    "The task is marked done. Thank you.",
	"replayed":     "The delivery is queued again.",
	"replayed-all": "All of the vendor's failed deliveries are queued again.",
}

func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, s signedIn, data any) {
	t, ok := a.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	p := page{S: s, Title: titles[name], Path: r.URL.Path, Flash: flashes[r.URL.Query().Get("done")], Data: data}
	if err := t.Execute(w, p); err != nil {
		a.log.Error("rendering a page", "page", name, "error", err)
	}
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s, _ := a.session(r)
	a.failAs(w, r, s, status, msg)
}

func (a *app) failAs(w http.ResponseWriter, r *http.Request, s signedIn, status int, msg string) {
	a.render(w, r, status, "error", s, map[string]any{"Message": msg, "Status": status})
}

// backendFail shows a service's refusal or absence in plain words.
func (a *app) backendFail(w http.ResponseWriter, r *http.Request, s signedIn, err error) {
	var status int
	msg := "A Consentry service did not answer. Try again in a minute."
	if be, ok := err.(*backend.Error); ok {
		status = be.Status
		msg = "The service refused: " + be.Message
		if be.Status == http.StatusNotFound {
			msg = "Nothing was found. It may have been removed, or the link is wrong."
		}
	} else {
		a.log.Warn("console: service call failed", "error", err)
	}
	if status == 0 || status >= 500 {
		status = http.StatusBadGateway
	}
	a.failAs(w, r, s, status, msg)
}

// ---- screens ----

type homeData struct {
	Attention  []backend.RequestSummary
	OpenTasks  int
	Overdue    int
	Dead       int
	LanesAlert int
	Problems   []string
}

func (a *app) home(w http.ResponseWriter, r *http.Request, s signedIn) {
	var d homeData
	ctx := r.Context()
	d.Attention = a.attention(ctx, &d.Problems)
	if tasks, err := a.api.OpenTasks(ctx); err == nil {
		d.OpenTasks = len(tasks)
		for _, t := range tasks {
			if t.Overdue {
				d.Overdue++
			}
		}
	} else {
		d.Problems = append(d.Problems, "manual tasks")
	}
	if dl, err := a.api.DeadLetters(ctx); err == nil {
		d.Dead = len(dl)
	} else {
		d.Problems = append(d.Problems, "dead letters")
	}
	if lanes, err := a.api.Lanes(ctx); err == nil {
		for _, l := range lanes {
			if l.Breaker == "open" || l.LastError != "" {
				d.LanesAlert++
			}
		}
	} else {
		d.Problems = append(d.Problems, "vendor lanes")
	}
	a.render(w, r, http.StatusOK, "home", s, d)
}

// attention returns the overdue requests, then the ones at risk.
func (a *app) attention(ctx context.Context, problems *[]string) []backend.RequestSummary {
	var out []backend.RequestSummary
	seen := map[string]bool{}
	for _, f := range []string{"overdue", "at_risk"} {
		rs, err := a.api.Requests(ctx, f, 100)
		if err != nil {
			*problems = append(*problems, "requests")
			return out
		}
		for _, q := range rs {
			if !seen[q.RequestID] {
				seen[q.RequestID] = true
				out = append(out, q)
			}
		}
	}
	return out
}

// requestFilters are the request screen's choices: all, each status (the open ones
// first), and the two deadline filters.
var requestFilters = []string{"", "forwarded_to_controller", "received", "verifying", "in_progress", "partially_completed", "completed", "rejected", "at_risk", "overdue"}

func (a *app) requests(w http.ResponseWriter, r *http.Request, s signedIn) {
	filter := r.URL.Query().Get("status")
	if !slices.Contains(requestFilters, filter) {
		a.failAs(w, r, s, http.StatusBadRequest, "That status filter is not one the console knows.")
		return
	}
	var list []backend.RequestSummary
	var problems []string
	if filter == "" {
		// At risk and overdue first, then the rest by deadline.
		// At risk and overdue first, then by status, the open ones before the closed
		// (audit-sink lists one filter at a time).
		list = a.attention(r.Context(), &problems)
		seen := map[string]bool{}
		for _, q := range list {
			seen[q.RequestID] = true
		}
		for _, status := range requestFilters[1:8] {
			rest, err := a.api.Requests(r.Context(), status, 100)
			if err != nil {
				a.backendFail(w, r, s, err)
				return
			}
			for _, q := range rest {
				if !seen[q.RequestID] {
					seen[q.RequestID] = true
					list = append(list, q)
				}
			}
		}
	} else {
		var err error
		if list, err = a.api.Requests(r.Context(), filter, 200); err != nil {
			a.backendFail(w, r, s, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, "requests", s, map[string]any{"Requests": list, "Filter": filter, "Filters": requestFilters, "Problems": problems})
}

func (a *app) request(w http.ResponseWriter, r *http.Request, s signedIn) {
	q, err := a.api.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.render(w, r, http.StatusOK, "request", s, q)
}

func (a *app) decide(w http.ResponseWriter, r *http.Request, s signedIn) {
	action := r.PathValue("action")
	done := map[string]string{"approve": "approved", "reject": "rejected", "extend": "extended"}[action]
	if done == "" {
		http.NotFound(w, r)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if action != "approve" && reason == "" {
		a.failAs(w, r, s, http.StatusBadRequest, "Give a reason: it goes into the audit log. Do not name the person.")
		return
	}
	id := r.PathValue("id")
	// The tenant decides which key acts; read it from the service, not the form.
	q, err := a.api.Request(r.Context(), id)
	if err == nil {
		err = a.api.Decide(r.Context(), s.Actor, q.Tenant, id, action, reason)
	}
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", action, "request_id", id)
	http.Redirect(w, r, "/requests/"+id+"?done="+done, http.StatusSeeOther)
}

func (a *app) tasks(w http.ResponseWriter, r *http.Request, s signedIn) {
	tasks, err := a.api.OpenTasks(r.Context())
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	slices.SortStableFunc(tasks, func(x, y backend.Task) int {
		return cmp.Or(x.DueAt.Compare(y.DueAt), strings.Compare(x.Vendor, y.Vendor))
	})
	a.render(w, r, http.StatusOK, "tasks", s, tasks)
}

func taskID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

type taskPage struct {
	Task        backend.Task
	Identifiers *backend.Identifiers
}

func (a *app) task(w http.ResponseWriter, r *http.Request, s signedIn) {
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	t, err := a.api.Task(r.Context(), id)
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.render(w, r, http.StatusOK, "task", s, taskPage{Task: t})
}

// reveal shows a task's identifiers on this one answer: vendor-fanout records the
// disclosure (who, when, which task) before it returns them, and the console keeps them
// nowhere, so a reload shows them hidden again.
func (a *app) reveal(w http.ResponseWriter, r *http.Request, s signedIn) {
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	t, err := a.api.Task(r.Context(), id)
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	ids, err := a.api.Reveal(r.Context(), s.Actor, id)
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "reveal identifiers", "task_id", id)
	a.render(w, r, http.StatusOK, "task", s, taskPage{Task: t, Identifiers: &ids})
}

func (a *app) complete(w http.ResponseWriter, r *http.Request, s signedIn) {
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > 2000 {
		a.failAs(w, r, s, http.StatusBadRequest, "The note is too long: at most 2000 characters.")
		return
	}
	if looksLikeEmail(note) {
		a.failAs(w, r, s, http.StatusBadRequest, "The note seems to contain an email address. Do not name the person: describe what you did, such as “deleted in the vendor's admin screen”.")
		return
	}
	if err := a.api.Complete(r.Context(), s.Actor, id, note); err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "complete task", "task_id", id)
	http.Redirect(w, r, "/tasks?done=completed", http.StatusSeeOther)
}

func looksLikeEmail(s string) bool {
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, ".,;:()<>\"'")
		if strings.Contains(f, "@") {
			if _, err := mail.ParseAddress(f); err == nil {
				return true
			}
		}
	}
	return false
}

type vendorLetters struct {
	Vendor    string
	LastError string
	Letters   []backend.DeadLetter
}

func (a *app) deadLetters(w http.ResponseWriter, r *http.Request, s signedIn) {
	dl, err := a.api.DeadLetters(r.Context())
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	by := map[string]*vendorLetters{}
	var out []*vendorLetters
	for _, d := range dl {
		v, ok := by[d.Vendor]
		if !ok {
			v = &vendorLetters{Vendor: d.Vendor}
			by[d.Vendor] = v
			out = append(out, v)
		}
		v.Letters = append(v.Letters, d)
	}
	for _, v := range out {
		slices.SortFunc(v.Letters, func(x, y backend.DeadLetter) int { return y.DeadSince.Compare(x.DeadSince) })
		v.LastError = v.Letters[0].LastError
	}
	slices.SortFunc(out, func(x, y *vendorLetters) int { return strings.Compare(x.Vendor, y.Vendor) })
	a.render(w, r, http.StatusOK, "deadletters", s, out)
}

func (a *app) replayOne(w http.ResponseWriter, r *http.Request, s signedIn) {
	id, ok := taskID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if err := a.api.ReplayOne(r.Context(), s.Actor, id); err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "replay dead letter", "delivery_id", id)
	http.Redirect(w, r, "/dead-letters?done=replayed", http.StatusSeeOther)
}

func (a *app) replayVendor(w http.ResponseWriter, r *http.Request, s signedIn) {
	name := r.PathValue("name")
	if err := a.api.ReplayVendor(r.Context(), s.Actor, name); err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "replay vendor dead letters", "vendor", name)
	http.Redirect(w, r, "/dead-letters?done=replayed-all", http.StatusSeeOther)
}

func (a *app) lanes(w http.ResponseWriter, r *http.Request, s signedIn) {
	lanes, err := a.api.Lanes(r.Context())
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.render(w, r, http.StatusOK, "lanes", s, lanes)
}

type subjectPage struct {
	Looked      bool
	Tenant      string
	ByEmail     bool
	Consent     map[string]backend.Proof
	History     []backend.HistoryEntry
	Suppression *backend.Suppression
	Missing     bool
}

func (a *app) subjectForm(w http.ResponseWriter, r *http.Request, s signedIn) {
	a.render(w, r, http.StatusOK, "subject", s, subjectPage{})
}

// subject looks a person up by the tenant's subject id or by email address. Both arrive in
// the form body only; the address is hashed here and only its hash is sent on, and
// neither is logged or put in a URL.
func (a *app) subject(w http.ResponseWriter, r *http.Request, s signedIn) {
	tenant := strings.TrimSpace(r.PostFormValue("tenant"))
	subjectID := strings.TrimSpace(r.PostFormValue("subject_id"))
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	p := subjectPage{Looked: true, Tenant: tenant}
	switch {
	case email != "":
		p.ByEmail = true
		sum := sha256.Sum256([]byte(email))
		sup, err := a.api.SuppressionByHash(r.Context(), hex.EncodeToString(sum[:]))
		switch {
		case backend.IsNotFound(err):
			p.Missing = true
		case err != nil:
			a.backendFail(w, r, s, err)
			return
		default:
			p.Suppression = &sup
		}
	case tenant != "" && subjectID != "":
		consent, err := a.api.SubjectConsent(r.Context(), tenant, subjectID)
		if err != nil && !backend.IsNotFound(err) {
			a.backendFail(w, r, s, err)
			return
		}
		history, err := a.api.SubjectHistory(r.Context(), tenant, subjectID)
		if err != nil && !backend.IsNotFound(err) {
			a.backendFail(w, r, s, err)
			return
		}
		p.Consent, p.History = consent, history
		p.Missing = len(consent) == 0 && len(history) == 0
	default:
		a.failAs(w, r, s, http.StatusBadRequest, "Enter the tenant and the person's user id, or their email address.")
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "look up a person", "by_email", p.ByEmail)
	a.render(w, r, http.StatusOK, "subject", s, p)
}

func (a *app) audit(w http.ResponseWriter, r *http.Request, s signedIn) {
	v, ran, err := a.api.LastVerification(r.Context())
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.render(w, r, http.StatusOK, "audit", s, map[string]any{"V": v, "Ran": ran})
}

func (a *app) verify(w http.ResponseWriter, r *http.Request, s signedIn) {
	v, err := a.api.VerifyNow(r.Context(), s.Actor)
	if err != nil {
		a.backendFail(w, r, s, err)
		return
	}
	a.log.Info("console action", "actor", s.Actor, "action", "verify audit chains", "ok", v.OK)
	a.render(w, r, http.StatusOK, "audit", s, map[string]any{"V": v, "Ran": true, "Now": true})
}
