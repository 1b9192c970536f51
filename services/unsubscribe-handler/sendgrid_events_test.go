package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
)

// startSendGrid starts the service with signer's key configured for tenant consumer and
// SendGrid group 42 mapped to the newsletter topic.
func startSendGrid(t *testing.T, signer *vendorsim.SendGridEventSigner) (*testkit.Stack, *testkit.Service) {
	t.Helper()
	pub, err := signer.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_LINK_KEYS":             "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		"CONSENTRY_PUBLIC_URL":            "https://prefs.example.test",
		"CONSENTRY_SENDGRID_WEBHOOK_KEYS": "consumer=" + pub,
		"CONSENTRY_SENDGRID_GROUPS":       "consumer/42=newsletter",
	})
	return stack, svc
}

func mustSigner(t *testing.T) *vendorsim.SendGridEventSigner {
	t.Helper()
	s, err := vendorsim.NewSendGridEventSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// postSigned posts body as SendGrid would, signed by signer at time at (nil: unsigned).
func postSigned(t *testing.T, url string, signer *vendorsim.SendGridEventSigner, at time.Time, body string, out any) int {
	t.Helper()
	var headers []string
	if signer != nil {
		h, err := signer.Headers([]byte(body), at)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			headers = append(headers, k, v)
		}
	}
	return testkit.Call(t, "POST", url, "", body, out, headers...)
}

// knownSubject makes ada@example.com an address Consentry knows the subject of: a consent
// event granting marketing_email, read by the consumer.
func knownSubject(t *testing.T, stack *testkit.Stack, svc *testkit.Service) (subjectKey, hash string) {
	t.Helper()
	ctx := context.Background()
	subjectKey = stack.Pepper.SubjectKey("consumer", "u_ada")
	sealed, err := stack.Sealer(t).Seal(ctx, "consumer", subjectKey, seal.Identifiers{SubjectID: "u_ada", Email: "Ada@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	testkit.Publish(t, stack, stack.Kafka.Topics.Consents, subjectKey, &schemas.ConsentChanged{
		Header: schemas.Header{EventID: testkit.NewEventID(t), Tenant: "consumer", SubjectKey: subjectKey, OccurredAt: now,
			RecordedAt: now, Source: "cmp", PolicyVersion: "2025-04-09", Identifiers: sealed},
		Purposes: map[string]string{schemas.PurposeMarketingEmail: schemas.Granted}})
	hash = pseudonym.EmailSHA256("ada@example.com")
	deadline := time.Now().Add(60 * time.Second)
	for testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the consumer never recorded the address")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return subjectKey, hash
}

const sendGridOptOuts = `[
 {"email":"Ada@Example.com","timestamp":1764363845,"event":"unsubscribe","sg_event_id":"sg-unsub-1","sg_message_id":"m1"},
 {"email":"news@example.com","timestamp":1764363846,"event":"group_unsubscribe","asm_group_id":42,"sg_event_id":"sg-group-1"},
 {"email":"stranger@example.com","timestamp":1764363847,"event":"group_unsubscribe","asm_group_id":7,"sg_event_id":"sg-group-2"},
 {"email":"ada@example.com","timestamp":1764363848,"event":"group_resubscribe","asm_group_id":42,"sg_event_id":"sg-resub-1"}]`

// TestSendGridForgedOrStalePostsApplyNothing: the route takes no API key, so a post that
// is unsigned, signed with another key, replayed late, signed for the future, for a
// tenant without a key, or altered after signing must change nothing.
func TestSendGridForgedOrStalePostsApplyNothing(t *testing.T) {
	signer, attacker := mustSigner(t), mustSigner(t)
	stack, svc := startSendGrid(t, signer)
	_, hash := knownSubject(t, stack, svc)
	u := svc.URL + "/v1/email-events/sendgrid?tenant=consumer"
	now := time.Now()
	cases := []struct {
		name   string
		url    string
		signer *vendorsim.SendGridEventSigner
		at     time.Time
	}{
		{"unsigned", u, nil, now},
		{"forged signature", u, attacker, now},
		{"stale timestamp", u, signer, now.Add(-11 * time.Minute)},
		{"future timestamp", u, signer, now.Add(5 * time.Minute)},
		{"tenant without a key", svc.URL + "/v1/email-events/sendgrid?tenant=acme", signer, now},
		{"no tenant", svc.URL + "/v1/email-events/sendgrid", signer, now},
	}
	for _, c := range cases {
		if s := postSigned(t, c.url, c.signer, c.at, sendGridOptOuts, nil); s != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.name, s)
		}
	}
	// A valid signature over another body does not carry over to this one.
	h, _ := signer.Headers([]byte(`[]`), now)
	var hs []string
	for k, v := range h {
		hs = append(hs, k, v)
	}
	if s := testkit.Call(t, "POST", u, "", sendGridOptOuts, nil, hs...); s != http.StatusUnauthorized {
		t.Errorf("body swapped under a valid signature: %d, want 401", s)
	}
	// Each refused post answered after any publish it would have made was acknowledged,
	// so the topics hold their final state for these posts already.
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 1 {
		t.Errorf("%d consent events, want only the grant", n)
	}
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions)); n != 0 {
		t.Errorf("%d suppression records after refused posts", n)
	}
	var state struct {
		Suppressed bool `json:"suppressed"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/suppressions/"+hash, testkit.APIKey, nil, &state); s != 200 || state.Suppressed {
		t.Errorf("after refused posts the address is %d %+v", s, state)
	}
}

// TestSendGridSignedUnsubscribeWithdrawsOnce: a signed unsubscribe suppresses the
// address and publishes one marketing_email withdrawal; a mapped group_unsubscribe
// suppresses its topic, an unmapped one all marketing email; a redelivery publishes
// nothing new, even once the consumer has read the withdrawal back.
func TestSendGridSignedUnsubscribeWithdrawsOnce(t *testing.T) {
	signer := mustSigner(t)
	stack, svc := startSendGrid(t, signer)
	subjectKey, hash := knownSubject(t, stack, svc)
	u := svc.URL + "/v1/email-events/sendgrid?tenant=consumer"

	var got sendGridResult
	if s := postSigned(t, u, signer, time.Now(), sendGridOptOuts, &got); s != 200 ||
		got != (sendGridResult{Suppressed: 3, Ignored: 1, ConsentEvents: 1}) {
		t.Fatalf("signed post: %d %+v", s, got)
	}
	consents := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	c := consents[1].Event.(*schemas.ConsentChanged)
	if c.Source != schemas.SourceEmailLink || c.SubjectKey != subjectKey || len(c.Purposes) != 1 ||
		c.Purposes[schemas.PurposeMarketingEmail] != schemas.Denied || !c.OccurredAt.Equal(time.Unix(1764363845, 0)) {
		t.Errorf("withdrawal %+v", c)
	}
	if ids := open(t, stack, c.Header); ids.Email != "Ada@Example.com" {
		t.Errorf("the withdrawal's identifiers open to %+v", ids)
	}

	// Redelivered (SendGrid retries what it thinks failed), freshly signed.
	if s := postSigned(t, u, signer, time.Now(), sendGridOptOuts, &got); s != 200 ||
		got != (sendGridResult{AlreadySuppressed: 3, Ignored: 1}) {
		t.Fatalf("redelivery: %d %+v", s, got)
	}
	waitConsumed(t, stack)
	if n := len(testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents)); n != 2 {
		t.Errorf("%d consent events after a redelivery, want the grant and one withdrawal", n)
	}
	want := map[string]string{
		hash: "all/" + c.EventID,
		pseudonym.EmailSHA256("news@example.com") + ":newsletter": "topic/",
		pseudonym.EmailSHA256("stranger@example.com"):             "all/",
	}
	seen := map[string]string{}
	for _, r := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions) {
		s := r.Event.(*schemas.SuppressionChanged)
		key := string(r.Msg.Key)
		w, ok := want[key]
		if !ok || s.Scope+"/" != w[:len(s.Scope)+1] || s.Reason != reasonOptOut || s.Source != schemas.SourceEmailLink {
			t.Errorf("suppression %s: %+v", key, s)
		}
		if key == hash && s.SourceEventID != c.EventID {
			t.Errorf("the address's suppression is caused by %s, not the withdrawal %s", s.SourceEventID, c.EventID)
		}
		if prev, dup := seen[key]; dup && prev != s.EventID {
			t.Errorf("a second suppression event for %s: %s after %s", key, s.EventID, prev)
		}
		seen[key] = s.EventID
	}
	if len(seen) != len(want) {
		t.Errorf("suppressions for %v, want %v", seen, want)
	}
}
