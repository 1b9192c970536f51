package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/schemas"
)

type proof struct {
	Decision      string    `json:"decision"`
	EventID       string    `json:"event_id"`
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policy_version"`
	OccurredAt    time.Time `json:"occurred_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	Position      *struct {
		Chain    string `json:"chain"`
		ChainSeq int64  `json:"chain_seq"`
		Hash     string `json:"hash"`
	} `json:"chain_position"`
}

// Proof of consent: per purpose, the choice in force and the event that set it — its
// signal, policy, times and place in the hash chain — where a late event that happened
// earlier is audited but overrides nothing; and the chain it points into verifies.
func TestConsentCarriesItsProofAndTheChainVerifies(t *testing.T) {
	stack := testkit.NewStack(t)
	ctx := context.Background()
	key := stack.Pepper.SubjectKey("consumer", "u_gpc")
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	at := func(id, source string, occurred time.Time) schemas.Header {
		return schemas.Header{EventID: id, Tenant: "consumer", SubjectKey: key, OccurredAt: occurred,
			RecordedAt: occurred.Add(1500 * time.Microsecond), Source: source, PolicyVersion: "2025-04-09"}
	}
	grant, gpc, late, unsubscribe := testkit.NewEventID(t), testkit.NewEventID(t), testkit.NewEventID(t), testkit.NewEventID(t)
	testkit.Publish(t, stack, stack.Kafka.Topics.Consents, key,
		&schemas.ConsentChanged{Header: at(grant, "cmp", t0), Purposes: map[string]string{"analytics": "granted", "advertising": "granted"}},
		&schemas.ConsentChanged{Header: at(gpc, "gpc", t0.Add(2*time.Hour)), Purposes: map[string]string{"advertising": "denied", "sale_share": "denied"}},
		&schemas.ConsentChanged{Header: at(unsubscribe, "email_link", t0.Add(3*time.Hour)), Purposes: map[string]string{"marketing_email": "denied"}},
		// Arrives last, happened before the GPC signal.
		&schemas.ConsentChanged{Header: at(late, "preference_center", t0.Add(time.Hour)), Purposes: map[string]string{"advertising": "granted"}})
	svc := testkit.StartService(t, run, stack.Env, nil)

	var consent struct {
		Purposes map[string]proof `json:"purposes"`
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var h history
		testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_gpc/history", testkit.OperatorKey, nil, &h)
		if len(h.Events) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 events audited", len(h.Events))
		}
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_gpc/consent", testkit.OperatorKey, nil, &consent); s != http.StatusOK {
		t.Fatalf("consent: %d", s)
	}

	conn, err := pgx.Connect(ctx, stack.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for purpose, want := range map[string]struct {
		decision, event, source string
		occurred                time.Time
	}{
		"advertising":     {"denied", gpc, "gpc", t0.Add(2 * time.Hour)},
		"sale_share":      {"denied", gpc, "gpc", t0.Add(2 * time.Hour)},
		"analytics":       {"granted", grant, "cmp", t0},
		"marketing_email": {"denied", unsubscribe, "email_link", t0.Add(3 * time.Hour)},
	} {
		got := consent.Purposes[purpose]
		if got.Decision != want.decision || got.EventID != want.event || got.Source != want.source || got.PolicyVersion != "2025-04-09" ||
			!got.OccurredAt.Equal(want.occurred) || !got.RecordedAt.Equal(want.occurred.Add(1500*time.Microsecond)) {
			t.Errorf("%s = %+v, want %s by %s via %s", purpose, got, want.decision, want.event, want.source)
			continue
		}
		var c, hash string
		var seq int64
		if err := conn.QueryRow(ctx, `SELECT chain, chain_seq, encode(hash, 'hex') FROM audit.events WHERE event_id = $1`, want.event).
			Scan(&c, &seq, &hash); err != nil {
			t.Fatal(err)
		}
		if p := got.Position; p == nil || p.Chain != c || p.ChainSeq != seq || p.Hash != hash || len(hash) != 64 {
			t.Errorf("%s: chain position %+v, want %s #%d %s", purpose, got.Position, c, seq, hash)
		}
	}

	var report struct {
		OK     bool `json:"ok"`
		Rows   int  `json:"rows"`
		Chains []struct {
			Chain string `json:"chain"`
			Rows  int    `json:"rows"`
			OK    bool   `json:"ok"`
		} `json:"chains"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/audit/verify", testkit.OperatorKey, nil, &report); s != http.StatusOK || !report.OK || report.Rows != 4 ||
		len(report.Chains) != 1 || report.Chains[0].Chain != consent.Purposes["advertising"].Position.Chain {
		t.Errorf("verify: %d %+v", s, report)
	}
	var last struct {
		OK         bool      `json:"ok"`
		Rows       int       `json:"rows"`
		VerifiedAt time.Time `json:"verified_at"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/audit/last-verification", testkit.OperatorKey, nil, &last); s != http.StatusOK || !last.OK || last.Rows < 4 || last.VerifiedAt.IsZero() {
		t.Errorf("last verification: %d %+v", s, last)
	}
	if m := scrape(t, svc.AdminURL); !strings.Contains(m, "consentry_audit_chain_ok 1\n") || !strings.Contains(m, "consentry_audit_chain_verified_timestamp_seconds ") {
		t.Error("after a clean verification the chain gauge does not say ok")
	}
	var heads struct {
		Heads []struct {
			Chain string `json:"chain"`
			Seq   int64  `json:"seq"`
			Hash  string `json:"hash"`
		} `json:"heads"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/audit/heads", testkit.OperatorKey, nil, &heads); s != http.StatusOK || len(heads.Heads) != 1 ||
		heads.Heads[0].Seq != 4 || len(heads.Heads[0].Hash) != 64 {
		t.Errorf("heads: %d %+v", s, heads)
	}
	// The chains interleave every tenant's events: only an operator key reads them.
	for _, path := range []string{"/v1/audit/verify", "/v1/audit/heads", "/v1/audit/last-verification"} {
		for _, k := range []string{testkit.TenantKey, testkit.PlainKey} {
			if s := testkit.Call(t, "GET", svc.URL+path, k, nil, nil); s != http.StatusForbidden {
				t.Errorf("%s with a tenant key: %d, want 403", path, s)
			}
		}
	}

	// A change made behind the trigger's back shows in the next verification.
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit.events SET source = 'cmp' WHERE event_id = $1`, gpc); err != nil {
		t.Fatal(err)
	}
	var broken struct {
		OK     bool `json:"ok"`
		Chains []struct {
			Break *struct {
				EventID string `json:"event_id"`
				Kind    string `json:"kind"`
				Seq     int64  `json:"chain_seq"`
			} `json:"break"`
		} `json:"chains"`
	}
	testkit.Call(t, "GET", svc.URL+"/v1/audit/verify", testkit.OperatorKey, nil, &broken)
	if b := broken.Chains[0].Break; broken.OK || b == nil || b.EventID != gpc || b.Kind != "hash_mismatch" ||
		b.Seq != consent.Purposes["advertising"].Position.ChainSeq {
		t.Errorf("after tampering: %+v", broken)
	}
	if m := scrape(t, svc.AdminURL); !strings.Contains(m, "consentry_audit_chain_ok 0\n") {
		t.Error("after a verification found a break the chain gauge still says ok")
	}
}

// scrape returns the service's /metrics text.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
