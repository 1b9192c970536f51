package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/oidcdev"
	"github.com/consentry/consentry/services/console/internal/backend"
)

// call is one request the fake services received.
type call struct {
	Method, Path, Actor, Key string
	Body                     string
}

// fakeServices answers the four services' API routes the console uses, recording calls.
type fakeServices struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeServices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.Path, r.Header.Get("Consentry-Actor"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), string(body)})
	f.mu.Unlock()
	reply := func(v any) { w.Header().Set("Content-Type", "application/json"); _ = json.NewEncoder(w).Encode(v) }
	due := time.Now().Add(48 * time.Hour)
	req := map[string]any{"request_id": "7b7ae1a4-3c0e-4c57-9a43-1d8e3b6a2f10", "tenant": "acme", "type": "erasure", "status": "forwarded_to_controller",
		"received_at": time.Now().Add(-26 * 24 * time.Hour), "deadline_at": due, "deadline_status": "at_risk", "jurisdiction": "gdpr",
		"transitions": []map[string]any{{"status": "received", "at": time.Now().Add(-26 * 24 * time.Hour), "detail": "submitted by product"}},
		"vendors":     []map[string]any{}}
	switch {
	case r.URL.Path == "/v1/privacy-requests" && r.URL.Query().Get("status") == "":
		// As audit-sink does: a listing names its filter.
		w.WriteHeader(http.StatusBadRequest)
		reply(map[string]any{"error": map[string]any{"code": "invalid_fields", "message": "status: must be one of …"}})
	case r.URL.Path == "/v1/privacy-requests":
		reply(map[string]any{"requests": []any{req}})
	case strings.HasPrefix(r.URL.Path, "/v1/privacy-requests/") && r.Method == "GET":
		reply(req)
	case strings.HasPrefix(r.URL.Path, "/v1/privacy-requests/") && r.Method == "POST":
		reply(req)
	case r.URL.Path == "/v1/manual-tasks":
		reply(map[string]any{"manual_tasks": []any{map[string]any{"id": 5, "vendor": "zoominfo", "action": "delete_user", "tenant": "acme", "status": "open",
			"instructions": "Open the ZoomInfo admin and delete the contact.", "due_at": due, "owner": "privacy-desk"}}})
	case r.URL.Path == "/v1/manual-tasks/5":
		reply(map[string]any{"id": 5, "vendor": "zoominfo", "action": "delete_user", "tenant": "acme", "status": "open",
			"instructions": "Open the ZoomInfo admin and delete the contact.", "due_at": due})
	case r.URL.Path == "/v1/manual-tasks/5/identifiers":
		reply(map[string]any{"task_id": 5, "subject_id": "user-881", "email": "person@example.org"})
	case r.URL.Path == "/v1/manual-tasks/5/complete":
		reply(map[string]any{})
	case r.URL.Path == "/v1/dead-letters":
		reply(map[string]any{"dead_letters": []any{map[string]any{"id": 9, "vendor": "hubspot", "action": "opt_out", "tenant": "acme", "attempts": 8, "last_error": "HTTP 400: invalid property", "dead_since": time.Now()}}})
	case r.URL.Path == "/v1/dead-letters/9/replay", r.URL.Path == "/v1/vendors/hubspot/replay-dead-letters":
		reply(map[string]any{})
	case r.URL.Path == "/v1/vendors":
		reply(map[string]any{"vendors": []any{map[string]any{"name": "hubspot", "type": "hubspot", "breaker": "open", "queue_depth": 3, "last_error": "HTTP 503"}}})
	case strings.HasPrefix(r.URL.Path, "/v1/suppressions/"):
		reply(map[string]any{"suppressed": true, "tenants": []any{map[string]any{"tenant": "acme", "suppressed": true, "reason": "unsubscribe", "scope": "all"}}})
	case strings.HasPrefix(r.URL.Path, "/v1/subjects/"):
		reply(map[string]any{"purposes": map[string]any{}, "events": []any{}})
	case r.URL.Path == "/v1/audit/last-verification", r.URL.Path == "/v1/audit/verify":
		reply(map[string]any{"ok": true, "rows": 12, "verified_at": time.Now(), "chains": []any{map[string]any{"chain": "consent.changes.v1/0", "rows": 12}}})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeServices) find(method, path string) (call, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Method == method && c.Path == path {
			return c, true
		}
	}
	return call{}, false
}

type harness struct {
	t        *testing.T
	console  *httptest.Server
	services *fakeServices
	logs     *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	services := &fakeServices{}
	svc := httptest.NewServer(services)
	t.Cleanup(svc.Close)
	console := httptest.NewUnstartedServer(nil)
	consoleURL := "http://" + console.Listener.Addr().String()
	idpSrv := httptest.NewUnstartedServer(nil)
	idpURL := "http://" + idpSrv.Listener.Addr().String()
	idp, err := oidcdev.New(oidcdev.Config{Issuer: idpURL, ClientID: "console", ClientSecret: "console-secret",
		RedirectURIs: []string{consoleURL + "/auth/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp.Handler()
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)
	env := map[string]string{
		"CONSOLE_OIDC_ISSUER": idpURL, "CONSOLE_OIDC_CLIENT_ID": "console", "CONSOLE_OIDC_CLIENT_SECRET": "console-secret",
		"CONSOLE_PUBLIC_URL": consoleURL, "CONSOLE_ROLE_GROUPS": oidcdev.RoleGroups,
		"CONSOLE_SESSION_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		"CONSOLE_INGEST_URL":  svc.URL, "CONSOLE_UNSUBSCRIBE_URL": svc.URL, "CONSOLE_FANOUT_URL": svc.URL, "CONSOLE_AUDIT_URL": svc.URL,
		"CONSOLE_API_KEY": "console-key", "CONSOLE_CONTROLLER_KEYS": "acme=acme-controller-key",
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	a, err := newApp(cfg, slog.New(slog.NewJSONHandler(logs, nil)), backend.New(backend.Config{IngestURL: cfg.IngestURL,
		UnsubscribeURL: cfg.UnsubscribeURL, FanoutURL: cfg.FanoutURL, AuditURL: cfg.AuditURL, APIKey: cfg.APIKey, ControllerKeys: cfg.ControllerKeys}), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	console.Config.Handler = a.handler()
	console.Start()
	t.Cleanup(console.Close)
	return &harness{t: t, console: console, services: services, logs: logs}
}

// browser is a cookie-keeping client that signs in as user through the dev provider.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) signIn(user string) (*browser, *http.Response) {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{h: h, c: &http.Client{Jar: jar}}
	resp, err := b.c.Get(h.console.URL + "/auth/login")
	if err != nil {
		h.t.Fatal(err)
	}
	page := readBody(resp)
	if resp.StatusCode != 200 || !strings.Contains(page, "Development sign-in") {
		h.t.Fatalf("the provider's page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{}
	for _, m := range regexp.MustCompile(`type="hidden" name="([a-z_]+)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	form.Set("user", user)
	resp, err = b.c.PostForm(resp.Request.URL.String(), form)
	if err != nil {
		h.t.Fatal(err)
	}
	return b, resp
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

func (b *browser) get(path string) (int, string) {
	resp, err := b.c.Get(b.h.console.URL + path)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return resp.StatusCode, readBody(resp)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form as the page at from would, with its CSRF token.
func (b *browser) post(from, path string, form url.Values) (int, string) {
	_, page := b.get(from)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.h.t.Fatalf("%s has no form token", from)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	resp, err := b.c.PostForm(b.h.console.URL+path, form)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return resp.StatusCode, readBody(resp)
}

const reqID = "7b7ae1a4-3c0e-4c57-9a43-1d8e3b6a2f10"

func TestSignInAndEveryScreen(t *testing.T) {
	h := newHarness(t)
	b, resp := h.signIn("dana")
	page := readBody(resp)
	if resp.StatusCode != 200 || !strings.Contains(page, "Signed in as <strong>dana</strong>") {
		t.Fatalf("after sign-in: %d %s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `href="/requests/`+reqID+`"`) || !strings.Contains(page, "at risk") {
		t.Errorf("the start page does not list the at-risk request:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != contentSecurityPolicy {
		t.Errorf("CSP = %q", csp)
	}
	for _, path := range []string{"/requests", "/requests/" + reqID, "/tasks", "/tasks/5", "/dead-letters", "/lanes", "/subject", "/audit"} {
		if code, body := b.get(path); code != 200 || strings.Contains(body, "<script") {
			t.Errorf("GET %s: %d", path, code)
		}
	}
}

func TestSignInRefusals(t *testing.T) {
	h := newHarness(t)
	_, resp := h.signIn("nina")
	if body := readBody(resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no console role") {
		t.Errorf("a person without a console role: %d", resp.StatusCode)
	}
	// A callback whose state is not this browser's (a login CSRF) is refused.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(h.console.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	readBody(resp)
	resp, err = c.Get(h.console.URL + "/auth/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	if readBody(resp); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state: %d", resp.StatusCode)
	}
	// No session: a screen shows the sign-in page, an action is refused.
	resp, _ = http.Get(h.console.URL + "/tasks")
	if body := readBody(resp); !strings.Contains(body, "Sign in with your company account") {
		t.Error("a screen without a session did not offer sign-in")
	}
	resp, _ = http.PostForm(h.console.URL+"/tasks/5/complete", url.Values{"note": {"x"}})
	if readBody(resp); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an action without a session: %d", resp.StatusCode)
	}
	if _, ok := h.services.find("POST", "/v1/manual-tasks/5/complete"); ok {
		t.Error("a post without a session reached the service")
	}
}

// TestRoleWithoutPermissionSeesNoButtonAndGets403 performs the attack: a viewer posts the
// approve, replay and reveal forms the console never showed them.
func TestRoleWithoutPermissionSeesNoButtonAndGets403(t *testing.T) {
	h := newHarness(t)
	vera, _ := h.signIn("vera")
	_, page := vera.get("/requests/" + reqID)
	if strings.Contains(page, ">Approve<") || strings.Contains(page, "/approve") {
		t.Error("a viewer is shown the approve button")
	}
	_, page = vera.get("/tasks/5")
	if strings.Contains(page, "/reveal") || strings.Contains(page, "/complete") {
		t.Error("a viewer is shown reveal or complete")
	}
	_, page = vera.get("/dead-letters")
	if strings.Contains(page, "/replay") {
		t.Error("a viewer is shown replay")
	}
	for _, path := range []string{"/requests/" + reqID + "/approve", "/tasks/5/reveal", "/tasks/5/complete", "/dead-letters/9/replay", "/vendors/hubspot/replay", "/audit/verify", "/subject"} {
		if code, _ := vera.post("/", path, url.Values{"reason": {"r"}, "email": {"a@b.c"}}); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, code)
		}
	}
	omar, _ := h.signIn("omar")
	if code, _ := omar.post("/", "/tasks/5/reveal", nil); code != http.StatusForbidden {
		t.Errorf("operator reveal: %d, want 403 (an operator opens no identifiers)", code)
	}
	h.services.mu.Lock()
	defer h.services.mu.Unlock()
	for _, c := range h.services.calls {
		if c.Method == "POST" || strings.HasSuffix(c.Path, "/identifiers") {
			t.Errorf("a refused action reached the service: %s %s", c.Method, c.Path)
		}
	}
}

func TestFormsNeedTheirTokenAndSameOrigin(t *testing.T) {
	h := newHarness(t)
	dana, _ := h.signIn("dana")
	resp, err := dana.c.PostForm(h.console.URL+"/requests/"+reqID+"/approve", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if readBody(resp); resp.StatusCode != http.StatusForbidden {
		t.Errorf("approve without a token: %d", resp.StatusCode)
	}
	_, page := dana.get("/")
	token := csrfField.FindStringSubmatch(page)[1]
	r, _ := http.NewRequest("POST", h.console.URL+"/requests/"+reqID+"/approve", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = dana.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	if readBody(resp); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site post with a stolen token: %d", resp.StatusCode)
	}
	if _, ok := h.services.find("POST", "/v1/privacy-requests/"+reqID+"/approve"); ok {
		t.Error("a forged approve reached consent-ingest")
	}
}

func TestActionsCarryTheSignedInPerson(t *testing.T) {
	h := newHarness(t)
	dana, _ := h.signIn("dana")
	if code, body := dana.post("/requests/"+reqID, "/requests/"+reqID+"/approve", nil); code != 200 || !strings.Contains(body, "The request is approved") {
		t.Errorf("approve: %d", code)
	}
	c, ok := h.services.find("POST", "/v1/privacy-requests/"+reqID+"/approve")
	if !ok || c.Actor != "dana" || c.Key != "acme-controller-key" {
		t.Errorf("approve reached consent-ingest as %+v, want actor dana with acme's controller key", c)
	}
	if code, _ := dana.post("/requests/"+reqID, "/requests/"+reqID+"/extend", url.Values{"reason": {""}}); code != http.StatusBadRequest {
		t.Errorf("extend without a reason: %d", code)
	}
	code, body := dana.post("/tasks/5", "/tasks/5/reveal", nil)
	if code != 200 || !strings.Contains(body, "person@example.org") || !strings.Contains(body, "recorded in the audit log") {
		t.Errorf("reveal: %d", code)
	}
	if c, _ := h.services.find("GET", "/v1/manual-tasks/5/identifiers"); c.Actor != "dana" {
		t.Errorf("the disclosure was asked for as %q", c.Actor)
	}
	if _, again := dana.get("/tasks/5"); strings.Contains(again, "person@example.org") {
		t.Error("the identifiers show again without a new reveal")
	}
	if code, _ := dana.post("/tasks/5", "/tasks/5/complete", url.Values{"note": {"deleted person@example.org"}}); code != http.StatusBadRequest {
		t.Errorf("a note naming the person: %d, want 400", code)
	}
	if code, _ := dana.post("/tasks/5", "/tasks/5/complete", url.Values{"note": {"deleted in the admin screen"}}); code != 200 {
		t.Errorf("complete: %d", code)
	}
	if c, _ := h.services.find("POST", "/v1/manual-tasks/5/complete"); c.Actor != "dana" || !strings.Contains(c.Body, `"completed_by":"dana"`) {
		t.Errorf("complete reached vendor-fanout as %+v", c)
	}
	omar, _ := h.signIn("omar")
	if code, _ := omar.post("/dead-letters", "/dead-letters/9/replay", nil); code != 200 {
		t.Errorf("replay: %d", code)
	}
	if c, _ := h.services.find("POST", "/v1/dead-letters/9/replay"); c.Actor != "omar" || c.Key != "console-key" {
		t.Errorf("replay reached vendor-fanout as %+v", c)
	}
	if code, body := omar.post("/audit", "/audit/verify", nil); code != 200 || !strings.Contains(body, "every chain is intact") {
		t.Errorf("verify: %d", code)
	}
}

// TestEmailLookupSendsOnlyItsHash: the address arrives in the form body, leaves as its
// SHA-256, and is in no URL and no log line.
func TestEmailLookupSendsOnlyItsHash(t *testing.T) {
	h := newHarness(t)
	dana, _ := h.signIn("dana")
	code, body := dana.post("/subject", "/subject", url.Values{"email": {"  Person@Example.org "}})
	if code != 200 || !strings.Contains(body, "suppressed") {
		t.Fatalf("lookup: %d", code)
	}
	h.services.mu.Lock()
	var sent string
	for _, c := range h.services.calls {
		if strings.HasPrefix(c.Path, "/v1/suppressions/") {
			sent = strings.TrimPrefix(c.Path, "/v1/suppressions/")
		}
		if strings.Contains(strings.ToLower(c.Path+c.Body), "person@example.org") {
			t.Errorf("the address reached a service: %s", c.Path)
		}
	}
	h.services.mu.Unlock()
	if len(sent) != 64 {
		t.Errorf("sent %q, want a SHA-256", sent)
	}
	if strings.Contains(strings.ToLower(h.logs.String()), "person@example.org") {
		t.Error("the address is in the console's log")
	}
}
