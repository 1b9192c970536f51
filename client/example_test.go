package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/consentry/consentry/client"
)

// fakeConsentry answers like the services, from canned answers, so that the examples
// run anywhere; devstack's TestClientAgainstTheEmbeddedStack makes the same calls
// against the real services.
func fakeConsentry() *httptest.Server {
	mux := http.NewServeMux()
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}
	busy := true
	mux.HandleFunc("POST /v1/consents", func(w http.ResponseWriter, r *http.Request) {
		if busy { // the first attempt finds the event log down
			busy = false
			w.Header().Set("Retry-After", "1")
			answer(503, `{"error":{"code":"unavailable","message":"retry with the same Idempotency-Key"}}`)(w, r)
			return
		}
		answer(202, `{"event_ids":["0193a1b2-0000-7000-8000-000000000001"]}`)(w, r)
	})
	mux.HandleFunc("POST /v1/privacy-requests", answer(202, `{"request_id":"0193a1b2-0000-7000-8000-000000000002","event_ids":["0193a1b2-0000-7000-8000-000000000002"],"status":"in_progress","type":"erasure","jurisdiction":"gdpr","received_at":"2026-12-05T10:00:00Z","deadline_at":"2027-01-05T10:00:00Z"}`))
	mux.HandleFunc("GET /v1/suppressions/{hash}", answer(404, `{"error":{"code":"not_found","message":"no suppression is recorded for that address hash"}}`))
	return httptest.NewServer(mux)
}

func ExampleClient_SubmitConsent() {
	srv := fakeConsentry()
	defer srv.Close()
	c := client.New(client.Config{IngestURL: srv.URL, APIKey: "acme-key"})

	// A 503 is retried after its Retry-After with the same Idempotency-Key, so the
	// consent is recorded once.
	out, err := c.SubmitConsent(context.Background(), client.Consent{
		Tenant:        "acme",
		SubjectID:     "user-1842",
		Identifiers:   &client.Identifiers{Email: "ada@example.com"},
		OccurredAt:    time.Now(),
		Source:        "cmp",
		PolicyVersion: "2026-04-09",
		Purposes:      map[string]string{"analytics": client.Granted, "advertising": client.Denied},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.EventIDs), "event accepted")
	// Output: 1 event accepted
}

func ExampleClient_SubmitPrivacyRequest() {
	srv := fakeConsentry()
	defer srv.Close()
	c := client.New(client.Config{IngestURL: srv.URL, APIKey: "acme-key"})

	// The person deleted their account: erase them everywhere. The order id makes the
	// key, so a retry after a crash of the caller is the same request.
	req, err := c.SubmitPrivacyRequest(context.Background(), client.PrivacyRequest{
		Tenant: "acme", SubjectID: "user-1842", Type: "erasure", Reason: "account_closure", Verified: true,
	}, client.WithIdempotencyKey("account-closure-user-1842"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.Status, "until", req.DeadlineAt.Format(time.DateOnly))
	// Output: in_progress until 2027-01-05
}

func ExampleClient_CheckSuppression() {
	srv := fakeConsentry()
	defer srv.Close()
	c := client.New(client.Config{UnsubscribeURL: srv.URL, APIKey: "acme-key"})

	// Only the address's SHA-256 leaves the caller.
	s, err := c.CheckSuppression(context.Background(), "ada@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("suppressed:", s.Suppressed)
	// Output: suppressed: false
}
