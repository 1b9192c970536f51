package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/consentry/consentry/schemas"
)

// Accepted is an event Consentry answered 202 for: the ground truth the invariants are
// checked against.
type Accepted struct {
	EventID    string
	Subject    string
	Email      string
	Kind       string // "consent" or "erasure"
	Purposes   map[string]string
	OccurredAt time.Time
	AcceptedAt time.Time
	Seq        int // the subject's n-th accepted event
}

// workload sends consent changes and erasure requests over HTTP, one subject at a time
// per sender so that each subject's events are sent — and so ordered — one after the
// other. A request that fails is retried with the same Idempotency-Key until it is
// accepted, so a crash between Kafka's acknowledgement and the 202 is exercised too.
type workload struct {
	url, apiKey string
	client      *http.Client

	mu       sync.Mutex
	accepted []Accepted
	seq      map[string]int
	retries  int
}

func newWorkload(url, apiKey string) *workload {
	return &workload{url: url, apiKey: apiKey, client: &http.Client{Timeout: 10 * time.Second}, seq: map[string]int{}}
}

var purposes = []string{schemas.PurposeAnalytics, schemas.PurposeMarketingEmail, schemas.PurposeAdvertising, schemas.PurposeSalesOutreach}

// run sends about rate events per second over subjects until ctx ends. Senders own
// disjoint subjects; each draws from its own generator seeded from seed.
func (w *workload) run(ctx context.Context, seed uint64, subjects, senders int, rate float64) {
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(s)))
			var mine []string
			for i := s; i < subjects; i += senders {
				mine = append(mine, fmt.Sprintf("subject-%03d", i))
			}
			interval := time.Duration(float64(senders) / rate * float64(time.Second))
			last := map[string]time.Time{}
			for ctx.Err() == nil {
				subject := mine[rng.IntN(len(mine))]
				w.send(ctx, rng, subject, last)
				select {
				case <-ctx.Done():
				case <-time.After(interval):
				}
			}
		}()
	}
	wg.Wait()
}

func (w *workload) send(ctx context.Context, rng *rand.Rand, subject string, last map[string]time.Time) {
	// occurred_at strictly increases per subject, so order can be checked downstream.
	at := time.Now().UTC().Truncate(time.Millisecond)
	if !at.After(last[subject]) {
		at = last[subject].Add(time.Millisecond)
	}
	last[subject] = at
	email := subject + "@chaos.example"
	ids := map[string]any{"email": email, "anonymous_id": "anon-" + subject}
	a := Accepted{Subject: subject, Email: email, OccurredAt: at}
	var path string
	var body map[string]any
	if rng.IntN(20) == 0 {
		a.Kind, path = "erasure", "/v1/privacy-requests"
		body = map[string]any{"tenant": "consumer", "subject_id": subject, "identifiers": ids, "type": schemas.RequestErasure,
			"reason": schemas.ReasonUserRequest, "occurred_at": at.Format(time.RFC3339Nano), "verified": true}
	} else {
		a.Kind, path = "consent", "/v1/consents"
		a.Purposes = map[string]string{}
		for _, p := range purposes {
			if rng.IntN(2) == 0 {
				a.Purposes[p] = []string{schemas.Granted, schemas.Denied}[rng.IntN(2)]
			}
		}
		if len(a.Purposes) == 0 {
			a.Purposes[schemas.PurposeAnalytics] = schemas.Denied
		}
		body = map[string]any{"tenant": "consumer", "subject_id": subject, "identifiers": ids, "occurred_at": at.Format(time.RFC3339Nano),
			"source": schemas.SourceCMP, "policy_version": "2025-04-09", "purposes": a.Purposes}
	}
	raw, _ := json.Marshal(body)
	key := uuid.NewString()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		id, ok := w.post(ctx, path, key, raw)
		if ok {
			w.mu.Lock()
			w.seq[subject]++
			a.EventID, a.AcceptedAt, a.Seq = id, time.Now(), w.seq[subject]
			w.accepted = append(w.accepted, a)
			w.retries += attempt
			w.mu.Unlock()
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// post sends one request; ok means 202 with an event id.
func (w *workload) post(ctx context.Context, path, key string, body []byte) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url+path, bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	req.Header.Set("Authorization", "Bearer "+w.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := w.client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", false
	}
	var out struct {
		EventIDs []string `json:"event_ids"`
	}
	if json.Unmarshal(b, &out) != nil || len(out.EventIDs) != 1 {
		return "", false
	}
	return out.EventIDs[0], true
}

// snapshot returns the accepted events so far.
func (w *workload) snapshot() ([]Accepted, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Accepted(nil), w.accepted...), w.retries
}
