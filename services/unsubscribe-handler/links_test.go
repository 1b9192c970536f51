package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
)

// mailbox is the confirmation sender: it checks each webhook's signature and keeps it.
type mailbox struct {
	mu   sync.Mutex
	mail []map[string]any
	URL  string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{}
	// The public half of the keys the service signs with, as a sender would fetch it.
	signing, err := webhooksig.ParseKeys(testkit.WebhookSigningKeys)
	if err != nil {
		t.Fatal(err)
	}
	trusted := signing.Public(time.Now()).Keys
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhooksig.Verify(trusted, r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("confirmation webhook: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("confirmation webhook body: %v", err)
		}
		m.mu.Lock()
		m.mail = append(m.mail, v)
		m.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// wait returns the n-th mail (from 1) once it has arrived.
func (m *mailbox) wait(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m.mu.Lock()
		if len(m.mail) >= n {
			defer m.mu.Unlock()
			return m.mail[n-1]
		}
		m.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("mail %d did not arrive", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startWithMailbox(t *testing.T, overrides map[string]string) (*testkit.Stack, *testkit.Service, *mailbox) {
	t.Helper()
	box := newMailbox(t)
	stack := testkit.NewStack(t)
	env := map[string]string{
		"CONSENTRY_LINK_KEYS":               "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x03", 32))),
		"CONSENTRY_PUBLIC_URL":              "https://prefs.example.test",
		"CONSENTRY_VERIFICATION_SENDER_URL": box.URL,
	}
	for k, v := range overrides {
		env[k] = v
	}
	return stack, testkit.StartService(t, run, stack.Env, env), box
}

// issue asks for a link and returns the whole answer.
func issue(t *testing.T, svc *testkit.Service, body string) (id, u string) {
	t.Helper()
	var link struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/unsubscribe-links", testkit.APIKey, body, &link); s != http.StatusOK {
		t.Fatalf("issuing a link: %d", s)
	}
	return link.ID, localURL(svc, link.URL)
}

// consentsUntil reads the consent topic until an event from source arrives whose
// purposes include sentinel, and returns every event before it.
func consentsUntil(t *testing.T, stack *testkit.Stack, sentinel string) []*schemas.ConsentChanged {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out []*schemas.ConsentChanged
		for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents) {
			c := d.Event.(*schemas.ConsentChanged)
			if _, ok := c.Purposes[sentinel]; ok {
				return out
			}
			out = append(out, c)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no consent event for %s arrived", sentinel)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The attack: decode a link and look for any spelling of the address's SHA-256.
func TestLinkRevealsNoHashOfTheAddress(t *testing.T) {
	_, svc := start(t)
	const email = "Reveal.Me@Example.com"
	for _, list := range []string{"", `,"list":"newsletter"`} {
		_, u := issue(t, svc, `{"tenant":"consumer","subject_id":"u_reveal","email":"`+email+`"`+list+`}`)
		tok := u[strings.LastIndex(u, "/")+1:]
		payload, _, _ := strings.Cut(tok, ".")
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			t.Fatal(err)
		}
		haystack := strings.ToLower(string(raw) + " " + tok)
		for _, addr := range []string{email, strings.ToLower(email), pseudonym.NormalizeEmail(email)} {
			sum := sha256.Sum256([]byte(addr))
			for _, needle := range []string{addr, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]),
				base64.RawURLEncoding.EncodeToString(sum[:]), base64.RawStdEncoding.EncodeToString(sum[:])} {
				if strings.Contains(haystack, strings.ToLower(needle)) {
					t.Errorf("the link %s holds %q (from %q)", raw, needle, addr)
				}
			}
		}
	}
}

// Part of RFC 8058 as mailbox providers read it: a link sent for a list unsubscribes
// from that list, a link without one from all marketing email.
func TestListLinkUnsubscribesFromThatListOnly(t *testing.T) {
	stack, svc := start(t)
	_, listed := issue(t, svc, `{"tenant":"consumer","subject_id":"u_list","email":"list@example.com","list":"newsletter"}`)
	if s, body := postForm(t, listed, "List-Unsubscribe=One-Click"); s != 200 || !strings.Contains(body, "this kind of promotional email") {
		t.Fatalf("one-click on a list link: %d %s", s, body)
	}
	if s, _ := postForm(t, listed, "List-Unsubscribe=One-Click"); s != 200 {
		t.Fatalf("second one-click: %d", s)
	}
	// A sentinel after it: a link without a list, for another address.
	_, all := issue(t, svc, `{"tenant":"consumer","subject_id":"u_all","email":"all@example.com"}`)
	if s, _ := postForm(t, all, "List-Unsubscribe=One-Click"); s != 200 {
		t.Fatalf("one-click: %d", s)
	}
	testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 20*time.Second)
	waitConsumed(t, stack)

	hash := pseudonym.EmailSHA256("list@example.com")
	if recs := suppressionRecords(t, stack, hash); len(recs) != 0 {
		t.Errorf("a list link suppressed all marketing email: %d records under the bare hash", len(recs))
	}
	recs := suppressionRecords(t, stack, hash+":newsletter")
	if len(recs) != 1 {
		t.Fatalf("%d records for the list, want 1", len(recs))
	}
	if s := recs[0].Event.(*schemas.SuppressionChanged); s.Scope != "topic" || s.Topic != "newsletter" || s.Source != "email_link" {
		t.Errorf("list suppression %+v", s)
	}
	consents := testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)
	if len(consents) != 1 || consents[0].Event.EventHeader().SubjectKey != stack.Pepper.SubjectKey("consumer", "u_all") {
		t.Errorf("%d consent events; want only the all-mail link's withdrawal", len(consents))
	}
	if recs := suppressionRecords(t, stack, pseudonym.EmailSHA256("all@example.com")); len(recs) != 1 ||
		recs[0].Event.(*schemas.SuppressionChanged).Scope != "all" {
		t.Errorf("the link without a list: %d records", len(recs))
	}
}

// The attack: a link is revoked (leaked, forwarded); using it afterwards does nothing.
func TestRevokedLinkDoesNothing(t *testing.T) {
	stack, svc := start(t)
	id, u := issue(t, svc, `{"tenant":"consumer","subject_id":"u_rev","email":"revoked@example.com"}`)
	del := svc.URL + "/v1/unsubscribe-links/" + id + "?tenant=consumer"
	if s := testkit.Call(t, "DELETE", del, testkit.GlobexKey, nil, nil); s != http.StatusForbidden {
		t.Errorf("another tenant's key revoked a link: %d", s)
	}
	if s := testkit.Call(t, "DELETE", del, testkit.APIKey, nil, nil); s != http.StatusOK {
		t.Fatalf("revoking: %d", s)
	}
	if s := testkit.Call(t, "DELETE", svc.URL+"/v1/unsubscribe-links/"+id, testkit.APIKey, nil, nil); s != http.StatusBadRequest {
		t.Errorf("revoking without a tenant: %d", s)
	}
	for name, check := range map[string]func() (int, string){
		"unsubscribe page": func() (int, string) { return get(t, u) },
		"one-click":        func() (int, string) { return postForm(t, u, "List-Unsubscribe=One-Click") },
		"preference page":  func() (int, string) { return get(t, prefsURL(u)) },
	} {
		if s, body := check(); s != http.StatusBadRequest || !strings.Contains(body, "This link is not valid") {
			t.Errorf("%s of a revoked link: %d", name, s)
		}
	}
	// A sentinel: another link's one-click, processed after the revoked one's would be.
	_, other := issue(t, svc, `{"tenant":"consumer","subject_id":"u_rev2","email":"sentinel@example.com"}`)
	if s, _ := postForm(t, other, "List-Unsubscribe=One-Click"); s != 200 {
		t.Fatalf("sentinel one-click: %d", s)
	}
	testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 20*time.Second)
	waitConsumed(t, stack)
	if recs := suppressionRecords(t, stack, pseudonym.EmailSHA256("revoked@example.com")); len(recs) != 0 {
		t.Errorf("a revoked link suppressed: %d records", len(recs))
	}
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 1 {
		t.Errorf("%d consent events, want only the sentinel's", n)
	}
}

// The attack: someone holding a forwarded preference link allows purposes and
// resubscribes. Nothing is granted until the mailed confirmation is followed; the
// withdrawal on the same form takes effect at once.
func TestForwardedLinkCannotGrantWithoutConfirmation(t *testing.T) {
	stack, svc, box := startWithMailbox(t, nil)
	id, u := issue(t, svc, `{"tenant":"consumer","subject_id":"u_fwd","email":"fwd@example.com"}`)
	if s, _ := postForm(t, u, "List-Unsubscribe=One-Click"); s != 200 {
		t.Fatalf("one-click: %d", s)
	}
	_, page := get(t, prefsURL(u))
	form := url.Values{"csrf": {csrfOf(t, page)}, "purpose.marketing_email": {"granted"}, "purpose.analytics": {"granted"},
		"purpose.sales_outreach": {"denied"}}
	status, body := postPrefs(t, prefsURL(u), form)
	if status != 200 || !strings.Contains(body, "we have sent you an email") {
		t.Fatalf("saving: %d\n%s", status, body)
	}
	mail := box.wait(t, 1)
	if mail["kind"] != "preference_confirmation" || mail["email"] != "fwd@example.com" || mail["subject_id"] != "u_fwd" ||
		fmt.Sprint(mail["purposes"]) != "[analytics marketing_email]" {
		t.Errorf("confirmation mail %v", mail)
	}
	// A sentinel save after it: anything the first save granted is on the topic before it.
	_, page = get(t, prefsURL(u))
	if s, _ := postPrefs(t, prefsURL(u), url.Values{"csrf": {csrfOf(t, page)}, "purpose.advertising": {"denied"}}); s != 200 {
		t.Fatalf("sentinel save: %d", s)
	}
	for _, c := range consentsUntil(t, stack, "advertising") {
		for p, d := range c.Purposes {
			if d == "granted" {
				t.Errorf("%s was granted from a link without confirmation (event %s)", p, c.EventID)
			}
		}
	}
	hash := pseudonym.EmailSHA256("fwd@example.com")
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || !state.Suppressed {
		t.Errorf("the suppression was lifted without confirmation: %d %+v", s, state)
	}

	// The confirmation: GET changes nothing (mail scanners), POST grants.
	confirm := localURL(svc, mail["confirm_url"].(string))
	if s, body := get(t, confirm); s != 200 || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Fatalf("confirmation page: %d\n%s", s, body)
	}
	if s, _ := postForm(t, strings.Replace(confirm, "/confirm/", "/confirm/x", 1), "confirm=yes"); s != http.StatusBadRequest {
		t.Errorf("an altered confirmation: %d", s)
	}
	if s, _ := postForm(t, strings.Replace(confirm, "/confirm/", "/u/", 1), "List-Unsubscribe=One-Click"); s != http.StatusBadRequest {
		t.Errorf("a confirmation token taken for a link: %d", s)
	}
	if s, body := postForm(t, confirm, "confirm=yes"); s != 200 || !strings.Contains(body, "confirmed") {
		t.Fatalf("confirming: %d\n%s", s, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var granted *schemas.ConsentChanged
		for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents) {
			if c := d.Event.(*schemas.ConsentChanged); c.Purposes["analytics"] == "granted" {
				granted = c
			}
		}
		if granted != nil {
			if granted.Purposes["marketing_email"] != "granted" || granted.Source != "preference_center" {
				t.Errorf("confirmed grant %+v", granted)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the confirmed grant was not published")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || state.Suppressed {
		t.Errorf("after confirming, the suppression stands: %d %+v", s, state)
	}

	// Revoking the link voids a confirmation mailed from it.
	_, page = get(t, prefsURL(u))
	if s, _ := postPrefs(t, prefsURL(u), url.Values{"csrf": {csrfOf(t, page)}, "purpose.sales_outreach": {"granted"}}); s != 200 {
		t.Fatalf("asking again: %d", s)
	}
	second := localURL(svc, box.wait(t, 2)["confirm_url"].(string))
	if s := testkit.Call(t, "DELETE", svc.URL+"/v1/unsubscribe-links/"+id+"?tenant=consumer", testkit.APIKey, nil, nil); s != 200 {
		t.Fatalf("revoking: %d", s)
	}
	if s, _ := postForm(t, second, "confirm=yes"); s != http.StatusBadRequest {
		t.Errorf("a confirmation from a revoked link: %d", s)
	}
}

// The attack on availability: a mail provider sends many recipients' one-clicks from one
// address. Each carries a valid signature, so each is limited per link: 500 from one
// address all succeed while that address is limited on the pages.
func TestOneClickIsLimitedPerLinkNotPerClient(t *testing.T) {
	_, svc, _ := startWithMailbox(t, map[string]string{"CONSENTRY_PUBLIC_BURST": "3", "CONSENTRY_PUBLIC_RATE": "1"})
	if !strings.Contains(svc.Logs.String(), "NO TRUSTED PROXIES") {
		t.Error("no warning at start about CONSENTRY_TRUSTED_PROXIES being empty")
	}
	const n = 500
	urls := make([]string, n)
	for i := range urls {
		_, urls[i] = issue(t, svc, fmt.Sprintf(`{"tenant":"consumer","subject_id":"u_%d","email":"bulk%d@example.com"}`, i, i))
	}
	limited := func() bool {
		s, _ := get(t, urls[0])
		return s == http.StatusTooManyRequests
	}
	for i := 0; !limited(); i++ {
		if i > 10 {
			t.Fatal("the pages are never limited")
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := map[int]int{}
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				resp, err := http.Post(urls[i], "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
				status := -1
				if err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				if status != 200 {
					mu.Lock()
					failed[status]++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(failed) > 0 {
		t.Errorf("one-clicks refused, by status: %v", failed)
	}
	if !limited() {
		t.Error("the pages are no longer limited for the address")
	}
}

func TestLinkRequestsNameTheBadField(t *testing.T) {
	_, svc := start(t)
	for body, field := range map[string]string{
		`{"tenant":"Bad Tenant","subject_id":"u","email":"a@example.com"}`:                                        "tenant",
		`{"tenant":"","subject_id":"u","email":"a@example.com"}`:                                                  "tenant",
		`{"tenant":"consumer","subject_id":"u","email":"a@example.com","list":"a:b"}`:                             "list",
		`{"tenant":"consumer","subject_id":"u","email":"a@example.com","list":"a b"}`:                             "list",
		`{"tenant":"consumer","subject_id":"u","email":"a@example.com","list":"<x>"}`:                             "list",
		`{"tenant":"consumer","subject_id":"u","email":"a@example.com","list":"` + strings.Repeat("l", 65) + `"}`: "list",
	} {
		var out map[string]any
		s := testkit.Call(t, "POST", svc.URL+"/v1/unsubscribe-links", testkit.APIKey, body, &out)
		if b, _ := json.Marshal(out); s != http.StatusBadRequest || !strings.Contains(string(b), `"`+field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, s, b, field)
		}
	}
}
