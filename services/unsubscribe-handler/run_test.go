package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

func TestMain(m *testing.M) { testkit.MainWithOpenAPI(m, "unsubscribe-handler", openAPI) }

func start(t *testing.T) (*testkit.Stack, *testkit.Service) {
	t.Helper()
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_LINK_KEYS":  "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		"CONSENTRY_PUBLIC_URL": "https://prefs.example.test",
	})
	return stack, svc
}

func localURL(svc *testkit.Service, public string) string {
	return svc.URL + strings.TrimPrefix(public, "https://prefs.example.test")
}

func postForm(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOneClickUnsubscribe(t *testing.T) {
	stack, svc := start(t)
	var link struct {
		URL                 string `json:"url"`
		ListUnsubscribe     string `json:"list_unsubscribe"`
		ListUnsubscribePost string `json:"list_unsubscribe_post"`
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/unsubscribe-links", testkit.APIKey,
		`{"tenant":"consumer","subject_id":"u_8d41","email":"Ada@Example.com"}`, &link); s != http.StatusOK {
		t.Fatalf("issuing a link: %d", s)
	}
	if !strings.HasPrefix(link.URL, "https://prefs.example.test/u/") || link.ListUnsubscribe != "<"+link.URL+">" ||
		link.ListUnsubscribePost != "List-Unsubscribe=One-Click" {
		t.Errorf("link answer %+v", link)
	}
	if strings.Contains(strings.ToLower(link.URL), "ada") || strings.Contains(link.URL, "u_8d41") {
		t.Error("the link carries an identifier in clear")
	}
	u := localURL(svc, link.URL)

	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post"`) || !strings.Contains(string(page), `href="../preferences/`) {
		t.Fatalf("confirmation page: %d\n%s", resp.StatusCode, page)
	}

	if s, body := postForm(t, u, "List-Unsubscribe=One-Click"); s != 200 || !strings.Contains(body, "You are unsubscribed") {
		t.Fatalf("one-click: %d %s", s, body)
	}
	if s, _ := postForm(t, u, "List-Unsubscribe=One-Click"); s != 200 {
		t.Fatalf("second one-click: %d", s)
	}

	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 60*time.Second)
	c := consents[0].Event.(*schemas.ConsentChanged)
	if c.Source != "email_link" || c.Purposes["marketing_email"] != "denied" || c.SubjectKey != stack.Pepper.SubjectKey("consumer", "u_8d41") {
		t.Errorf("consent event %+v", c)
	}
	if ids := open(t, stack, c.Header); ids.Email != "Ada@Example.com" {
		t.Errorf("the event's sealed identifiers open to %+v", ids)
	}
	hash := pseudonym.EmailSHA256("ada@example.com")
	sup := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions, 1, 60*time.Second)
	s := sup[0].Event.(*schemas.SuppressionChanged)
	if string(sup[0].Msg.Key) != hash || s.EmailSHA256 != hash || s.Reason != "opt_out" || s.SourceEventID != c.EventID || s.Source != "email_link" {
		t.Errorf("suppression %q %+v", sup[0].Msg.Key, s)
	}

	// Once the consumer has read the one-click event back, the second click must have
	// published nothing new: one consent event, and suppressions that all carry the same id.
	waitConsumed(t, stack)
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 1 {
		t.Errorf("%d consent events after two clicks, want 1", n)
	}
	for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions) {
		if id := d.Event.EventHeader().EventID; id != s.EventID {
			t.Errorf("a second suppression event %s (want only %s)", id, s.EventID)
		}
	}

	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if st := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); st != 200 || !state.Suppressed {
		t.Errorf("suppression lookup: %d %+v", st, state)
	}
	if st := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.TenantKey, nil, nil); st != http.StatusNotFound {
		t.Errorf("acme's key sees consumer's suppression: %d", st)
	}
	if strings.Contains(strings.ToLower(svc.Logs.String()), "ada@example.com") {
		t.Error("a log line holds the email")
	}
}

func TestBadLinksAllLookTheSame(t *testing.T) {
	_, svc := start(t)
	var link struct {
		URL string `json:"url"`
	}
	testkit.Call(t, "POST", svc.URL+"/v1/unsubscribe-links", testkit.APIKey, `{"tenant":"consumer","subject_id":"u_1","email":"a@example.com"}`, &link)
	good := localURL(svc, link.URL)
	tok := good[strings.LastIndex(good, "/")+1:]
	payload, sig, _ := strings.Cut(tok, ".")
	flipped := []byte(payload)
	flipped[10] ^= 1
	for name, u := range map[string]string{
		"forged signature": svc.URL + "/u/" + payload + ".AAAA" + sig[4:],
		"altered claims":   svc.URL + "/u/" + string(flipped) + "." + sig,
		"garbage":          svc.URL + "/u/not-a-token",
	} {
		for _, method := range []string{"GET", "POST"} {
			var status int
			var body string
			if method == "GET" {
				resp, err := http.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status, body = resp.StatusCode, string(b)
			} else {
				status, body = postForm(t, u, "List-Unsubscribe=One-Click")
			}
			if status != http.StatusBadRequest || !strings.Contains(body, "This link is not valid") {
				t.Errorf("%s %s: %d", method, name, status)
			}
		}
	}
	if s, _ := postForm(t, good, "something=else"); s != http.StatusBadRequest {
		t.Errorf("a POST without List-Unsubscribe=One-Click: %d, want 400", s)
	}
}

// TestConsumerSuppressesLiftsAndNeverLiftsAfterErasure drives the consumer path with
// events as consent-ingest would publish them.
func TestConsumerSuppressesLiftsAndNeverLiftsAfterErasure(t *testing.T) {
	stack, _ := start(t)
	ctx := context.Background()
	client, _ := serde.NewClient(stack.RegistryURL, "", "", "", nil)
	sd, err := serde.New(ctx, serde.Config{Client: client, Writes: serde.RecordsByTopic(stack.Kafka.Topics)})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := kafka.NewProducer(kafka.ProducerConfig{Brokers: stack.Kafka.Brokers})
	defer p.Close()
	sealer := stack.Sealer(t)
	top := stack.Kafka.Topics

	publish := func(tenant, subject, email string, build func(schemas.Header) (string, schemas.Event)) {
		t.Helper()
		key := stack.Pepper.SubjectKey(tenant, subject)
		sealed, err := sealer.Seal(ctx, tenant, key, seal.Identifiers{SubjectID: subject, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := eventid.New()
		now := time.Now().UTC()
		topic, e := build(schemas.Header{EventID: id, Tenant: tenant, SubjectKey: key, OccurredAt: now, RecordedAt: now,
			Source: "cmp", PolicyVersion: "2025-04-09", Identifiers: sealed})
		m, err := sd.EncodeMessage(topic, key, e)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	consent := func(decision string) func(schemas.Header) (string, schemas.Event) {
		return func(h schemas.Header) (string, schemas.Event) {
			return top.Consents, &schemas.ConsentChanged{Header: h, Purposes: map[string]string{"marketing_email": decision}}
		}
	}
	var erasureID string
	erasure := func(status string) func(schemas.Header) (string, schemas.Event) {
		return func(h schemas.Header) (string, schemas.Event) {
			if status == "received" {
				erasureID = h.EventID
			}
			return top.Requests, &schemas.PrivacyRequest{Header: h, RequestID: erasureID, Type: "erasure", Reason: "user_request", Status: status}
		}
	}

	publish("consumer", "bob", "bob@example.com", consent("denied"))
	publish("consumer", "bob", "bob@example.com", consent("granted"))
	want := []string{"suppress", "lift"}
	assertSuppressionLog(t, stack, pseudonym.EmailSHA256("bob@example.com"), want)

	publish("consumer", "eve", "eve@example.com", consent("denied"))
	// Received, it is not verified yet: nothing happens until work on it starts.
	publish("consumer", "eve", "eve@example.com", erasure("received"))
	publish("consumer", "eve", "eve@example.com", erasure("in_progress"))
	// Requests and consents are different topics, with no order between them: the grant
	// comes after the erasure only once the erasure's suppression is on the topic.
	assertSuppressionLog(t, stack, pseudonym.EmailSHA256("eve@example.com"), []string{"suppress", "suppress:erasure"})
	publish("consumer", "eve", "eve@example.com", consent("granted")) // after erasure: must not lift
	// A marker on the same partition: once its suppression is there, the grant before it
	// was processed, and a wrongful lift would sit between the two.
	publish("consumer", "eve", "eve@example.com", consent("denied"))
	assertSuppressionLog(t, stack, pseudonym.EmailSHA256("eve@example.com"), []string{"suppress", "suppress:erasure", "suppress"})
}

// assertSuppressionLog waits until the records of one address hash on the suppression
// topic are exactly want.
func assertSuppressionLog(t *testing.T, stack *testkit.Stack, hash string, want []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = got[:0]
		all := testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)
		for _, d := range all {
			if string(d.Msg.Key) != hash {
				continue
			}
			switch e := d.Event.(type) {
			case nil:
				got = append(got, "lift")
			case *schemas.SuppressionChanged:
				if e.Reason == "erasure" {
					got = append(got, "suppress:erasure")
				} else {
					got = append(got, "suppress")
				}
			}
		}
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("suppression records for the address: %v, want %v", got, want)
}

func open(t *testing.T, stack *testkit.Stack, h schemas.Header) seal.Identifiers {
	t.Helper()
	ids, err := stack.Sealer(t).Open(context.Background(), h.Tenant, h.SubjectKey, h.Identifiers)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
