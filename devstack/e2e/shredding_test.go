package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devstack/scenarios"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/schemas/ingest"
)

// person is a subject with identifiers distinctive enough that finding one anywhere
// cannot be a coincidence.
type person struct {
	subjectID, email, anonymousID string
	vendorIDs                     map[string]string
}

func (p person) identifiers() string {
	ids, _ := json.Marshal(map[string]any{"email": p.email, "anonymous_id": p.anonymousID, "vendor_ids": p.vendorIDs})
	return string(ids)
}

// TestErasureLeavesNothingReadable is guarantee 5's last clause (docs/architecture.md) on the real stack:
// after an erasure completes, Consentry's own copies of the person's identifiers are
// gone or unreadable. It reads every record of every topic, every row of every table,
// every service log, every file of the data directory and each service's metrics as
// bytes, and finds none of the erased person's identifiers, while the suppression of the
// address by hash remains and another person's identifiers still open.
func TestErasureLeavesNothingReadable(t *testing.T) {
	dir := dataDirFor(t)
	s := startStack(t, dir)
	key := s.APIKey()

	// Mixed case: whatever normalises the address must not leave a copy either.
	a := person{subjectID: "u_shred_a", email: "Shred.Ada+q7Z@Example.COM", anonymousID: "anon-shred-a-5c1f9e",
		vendorIDs: map[string]string{"amplitude": "amp-shred-a-83b1", "salesforce": "003U00000SHRDA1", "posthog": "ph-shred-a-e04d"}}
	b := person{subjectID: "u_shred_b", email: "keep.bob+r2@example.com", anonymousID: "anon-keep-b-71aa",
		vendorIDs: map[string]string{"amplitude": "amp-keep-b-19c4", "salesforce": "003U00000KEEPB1"}}

	bConsent := postConsentOf(t, s, b, `{"analytics": "denied", "advertising": "granted", "marketing_email": "denied"}`)
	aConsents := []string{postConsentOf(t, s, a, `{"analytics": "granted", "advertising": "granted", "marketing_email": "granted", "sales_outreach": "granted"}`)}
	eventually(t, "B's opt-outs at Salesforce and HubSpot", 60*time.Second, func() bool {
		c := simCalls(t, s)
		return hasCall(c, "salesforce", "PATCH", "/"+b.vendorIDs["salesforce"]) && hasCall(c, "hubspot", "POST", "/unsubscribe-all")
	})
	// A's denial meets failing vendors: Salesforce answers 503 (retried, its error kept on
	// the delivery) and HubSpot 400 (a dead letter), so vendor answers and errors are
	// among what the erasure must leave clean.
	setFault(t, s, `{"vendor": "salesforce", "mode": "5xx"}`)
	setFault(t, s, `{"vendor": "hubspot", "mode": "4xx"}`)
	aConsents = append(aConsents, postConsentOf(t, s, a, `{"analytics": "denied", "marketing_email": "denied"}`))
	eventually(t, "A's opt-outs failing at Salesforce and HubSpot", 60*time.Second, func() bool {
		var failedSF, failedHS bool
		for _, c := range simCalls(t, s) {
			failedSF = failedSF || (c.Vendor == "salesforce" && strings.Contains(c.Path, a.vendorIDs["salesforce"]) && c.Status >= 500)
			failedHS = failedHS || (c.Vendor == "hubspot" && strings.Contains(c.Path, "/unsubscribe-all") && c.Status == http.StatusBadRequest)
		}
		return failedSF && failedHS
	})
	setFault(t, s, `{"vendor": "salesforce", "mode": "ok"}`)
	setFault(t, s, `{"vendor": "hubspot", "mode": "ok"}`)
	// A's choice also comes from a product service that submits over Kafka: the
	// submission sits on the ingest topic with A's identifiers in clear.
	aConsents = append(aConsents, submitOverKafka(t, s, a, "shred-a-kafka-1", map[string]string{"personalization": "denied"}))

	// A's address gets an unsubscribe link, and A uses it.
	var link struct {
		URL string `json:"url"`
	}
	if code := testkit.Call(t, "POST", s.URL("unsubscribe-handler")+"/v1/unsubscribe-links", key,
		fmt.Sprintf(`{"tenant": "consumer", "subject_id": %q, "email": %q}`, a.subjectID, a.email), &link); code != http.StatusOK || link.URL == "" {
		t.Fatalf("POST /v1/unsubscribe-links: %d", code)
	}
	resp, err := http.PostForm(link.URL, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
	hashA := pseudonym.EmailSHA256(a.email)
	eventually(t, "A's address suppressed", 60*time.Second, func() bool {
		var sup struct {
			Suppressed bool `json:"suppressed"`
		}
		testkit.Call(t, "GET", s.URL("unsubscribe-handler")+"/v1/suppressions/"+hashA, key, nil, &sup)
		return sup.Suppressed
	})
	eventually(t, "A's opt-out at Salesforce once it recovered", 60*time.Second, func() bool {
		return hasCall(simCalls(t, s), "salesforce", "PATCH", "/"+a.vendorIDs["salesforce"])
	})

	_, erasure := submitRequest(t, s, key, fmt.Sprintf(`{"tenant": "consumer", "subject_id": %q, "identifiers": %s,
		"type": "erasure", "reason": "user_request", "verified": true}`, a.subjectID, a.identifiers()))
	completeTasks(t, s, erasure)
	eventually(t, "the erased address suppressed for good", 60*time.Second, func() bool {
		var sup struct {
			Tenants []struct {
				Erased bool `json:"erased"`
			} `json:"tenants"`
		}
		testkit.Call(t, "GET", s.URL("unsubscribe-handler")+"/v1/suppressions/"+hashA, key, nil, &sup)
		return len(sup.Tenants) == 1 && sup.Tenants[0].Erased
	})
	settle(t, s)
	// No erasure reaches a record on Kafka: the ingest topic's retention is what bounds
	// the clear copy (docs/kafka-ingest.md). Here the hour passes as a retention of a
	// millisecond, and the broker deletes what is older.
	expireIngestTopic(t, s)

	found := scanStack(t, s, dir)
	for what, needle := range map[string]string{
		"A's email": a.email, "A's subject id": a.subjectID, "A's anonymous id": a.anonymousID, "A's amplitude id": a.vendorIDs["amplitude"],
		"A's salesforce id": a.vendorIDs["salesforce"], "A's posthog id": a.vendorIDs["posthog"],
	} {
		if where := found.exact(needle); len(where) > 0 {
			t.Errorf("%s is readable after the erasure completed, in:\n  %s", what, strings.Join(where, "\n  "))
		}
	}
	if where := found.folded(a.email); len(where) > 0 {
		t.Errorf("A's email, in another case, is readable after the erasure completed, in:\n  %s", strings.Join(where, "\n  "))
	}
	// The scan is not blind: it sees the hash that keeps the address suppressed.
	if where := found.exact(hashA); !slices.ContainsFunc(where, func(w string) bool { return strings.HasPrefix(w, "table unsubscribe.suppressions") }) ||
		!slices.ContainsFunc(where, func(w string) bool { return strings.HasPrefix(w, "topic "+s.Topics().Suppressions) }) {
		t.Errorf("the suppression hash is not where the scan should see it: %v", where)
	}

	// Sealed copies of both people are on the topic; only B's still open.
	sealer := stackSealer(t, s, dir)
	for _, c := range []struct {
		who, eventID string
		want         person
		shredded     bool
	}{{"B", bConsent, b, false}, {"A", aConsents[0], a, true}, {"A", aConsents[1], a, true}, {"A over Kafka", aConsents[2], a, true}} {
		ids, err := found.open(t, sealer, s, c.eventID)
		switch {
		case c.shredded && !errors.Is(err, seal.ErrShredded):
			t.Errorf("%s's sealed identifiers on %s: %v, want %v", c.who, c.eventID, err, seal.ErrShredded)
		case !c.shredded && err != nil:
			t.Errorf("%s's sealed identifiers do not open: %v", c.who, err)
		case !c.shredded && (ids.Email != c.want.email || ids.AnonymousID != c.want.anonymousID || ids.VendorIDs["salesforce"] != c.want.vendorIDs["salesforce"]):
			t.Errorf("%s's sealed identifiers open to %+v", c.who, ids)
		}
	}
}

// submitOverKafka writes a consent of p to the ingest topic as a product service would,
// and waits until audit-sink has its event: the same path as over HTTP. It returns the
// event's id.
func submitOverKafka(t *testing.T, s *stack.Stack, p person, submissionID string, purposes map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	reg, err := sr.NewClient(sr.URLs(s.RegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	producer, err := ingest.New(ctx, ingest.Config{Topic: s.Topics().Ingest, Kafka: cl, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := producer.Send(ctx, &schemas.ConsentSubmission{SubmissionID: submissionID, Tenant: "consumer", SubjectID: p.subjectID,
		Identifiers: &schemas.SubmittedIdentifiers{Email: p.email, AnonymousID: p.anonymousID, VendorIDs: p.vendorIDs},
		OccurredAt:  time.Now(), Source: "cmp", PolicyVersion: "2025-04-09", Purposes: purposes}); err != nil {
		t.Fatal(err)
	}
	id := eventid.FromSubmission("consumer", submissionID)
	eventually(t, "the Kafka submission in the audit log", 60*time.Second, func() bool {
		return slices.ContainsFunc(scenarios.History(t, s, "consumer", p.subjectID), func(e scenarios.HistoryEntry) bool { return e.EventID == id })
	})
	return id
}

// expireIngestTopic lets the ingest topic's retention pass and waits until the broker
// has deleted every record on it, after checking there was one to delete.
func expireIngestTopic(t *testing.T, s *stack.Stack) {
	t.Helper()
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := s.Topics().Ingest
	if n, err := admin.Records(ctx, topic); err != nil || n == 0 {
		t.Fatalf("the ingest topic holds %d records (%v) before its retention passed, want the submission", n, err)
	}
	if err := admin.SetTopicConfig(ctx, topic, map[string]string{"retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ingest topic emptied by its retention", 60*time.Second, func() bool {
		s.ApplyRetention()
		n, err := admin.Records(ctx, topic)
		return err == nil && n == 0
	})
}

func setFault(t *testing.T, s *stack.Stack, fault string) {
	t.Helper()
	if code := testkit.Call(t, "POST", s.SimulatorURL()+"/_sim/faults", "", fault, nil); code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("POST /_sim/faults %s: %d", fault, code)
	}
}

func postConsentOf(t *testing.T, s *stack.Stack, p person, purposes string) string {
	t.Helper()
	var got struct {
		EventIDs []string `json:"event_ids"`
	}
	body := fmt.Sprintf(`{"tenant": "consumer", "subject_id": %q, "identifiers": %s, "occurred_at": %q,
		"source": "cmp", "policy_version": "2025-04-09", "purposes": %s}`,
		p.subjectID, p.identifiers(), time.Now().UTC().Format(time.RFC3339Nano), purposes)
	if code := testkit.Call(t, "POST", s.URL("consent-ingest")+"/v1/consents", s.APIKey(), body, &got); code != http.StatusAccepted {
		t.Fatalf("POST /v1/consents: %d", code)
	}
	return got.EventIDs[0]
}

// settle waits until every consumer group has read every record it has started on, so
// that what the scan reads is what the services made of the whole story.
func settle(t *testing.T, s *stack.Stack) {
	t.Helper()
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	topics := topicNames(t, s)
	quiet := 0
	eventually(t, "every consumer group caught up", 60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		groups, err := admin.Groups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			lags, err := admin.Lag(ctx, g, topics...)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lags {
				if l.Committed >= 0 && l.Lag > 0 {
					quiet = 0
					return false
				}
			}
		}
		// Twice in a row: a commit can land just before its consumer's next batch does.
		quiet++
		return quiet >= 2
	})
}

func kafkaClient(s *stack.Stack) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(s.Brokers()...), Timeout: 10 * time.Second}
}

// topicNames lists every topic on the broker: vendor-fanout's own lanes and retries,
// dead-letter topics and any internal topic the broker shows, not only the five of docs/architecture.md's topic table.
func topicNames(t *testing.T, s *stack.Stack) []string {
	t.Helper()
	meta, err := kafkaClient(s).Metadata(context.Background(), &kafkago.MetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, topic := range meta.Topics {
		names = append(names, topic.Name)
	}
	slices.Sort(names)
	return names
}

// scanned is everything the scan read, each piece with where it came from.
type scanned struct {
	pieces  []piece
	records []rawRecord
}

type piece struct {
	where string
	data  []byte
}

type rawRecord struct {
	topic string
	value []byte
}

func (sc *scanned) add(where string, data []byte) {
	if len(data) > 0 {
		sc.pieces = append(sc.pieces, piece{where, data})
	}
}

// exact returns where needle occurs byte for byte.
func (sc *scanned) exact(needle string) []string {
	var where []string
	for _, p := range sc.pieces {
		if bytes.Contains(p.data, []byte(needle)) {
			where = append(where, p.where)
		}
	}
	return where
}

// folded returns where needle occurs in any case.
func (sc *scanned) folded(needle string) []string {
	var where []string
	n := bytes.ToLower([]byte(needle))
	for _, p := range sc.pieces {
		if bytes.Contains(bytes.ToLower(p.data), n) {
			where = append(where, p.where)
		}
	}
	return where
}

// scanStack reads every record of every topic (key, value and headers, as bytes), every
// row of every table outside PostgreSQL's own schemas (as text, bytea columns raw as
// well), every log file of the stack, every file of its data directory, and each
// service's metrics. The vendor simulator's memory is the vendors' side, not Consentry's.
func scanStack(t *testing.T, s *stack.Stack, dir string) *scanned {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc := &scanned{}
	records := 0
	for _, topic := range topicNames(t, s) {
		n, err := scanTopic(ctx, kafkaClient(s), topic, sc)
		if err != nil {
			t.Fatalf("reading %s: %v", topic, err)
		}
		records += n
	}
	rows, err := scanTables(ctx, s.PostgresURL(), sc)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	if err != nil || len(logs) < len(stack.Services) {
		t.Fatalf("log files %v (%v), want one per service at least", logs, err)
	}
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc.add("log "+filepath.Base(path), b)
	}
	// What a backup of the data directory holds: Kafka's segments, PostgreSQL's heap,
	// indexes and WAL (which keeps rows a table no longer shows).
	files := 0
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sc.add("file "+rel, b)
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stack.Services {
		sc.add("metrics of "+name, []byte(get(t, s.AdminURL(name)+"/metrics", "")))
	}
	t.Logf("scanned %d topic records, %d table rows, %d log files, %d files of the data directory", records, rows, len(logs), files)
	if records == 0 || rows == 0 {
		t.Fatalf("the scan read %d records and %d rows: it would find nothing anywhere", records, rows)
	}
	return sc
}

// scanTopic fetches every record of every partition of topic, from the first offset to
// the end, with no consumer group: what anyone with access to the broker reads.
func scanTopic(ctx context.Context, c *kafkago.Client, topic string, sc *scanned) (int, error) {
	meta, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	var reqs []kafkago.OffsetRequest
	for _, mt := range meta.Topics {
		for _, p := range mt.Partitions {
			reqs = append(reqs, kafkago.FirstOffsetOf(p.ID), kafkago.LastOffsetOf(p.ID))
		}
	}
	offsets, err := c.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range offsets.Topics[topic] {
		if p.Error != nil {
			return n, p.Error
		}
		for offset := p.FirstOffset; offset < p.LastOffset; {
			resp, err := c.Fetch(ctx, &kafkago.FetchRequest{Topic: topic, Partition: p.Partition, Offset: offset,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond})
			if err != nil {
				return n, err
			}
			if resp.Error != nil {
				return n, resp.Error
			}
			from := offset
			for {
				r, err := resp.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return n, err
				}
				where := fmt.Sprintf("topic %s/%d@%d", topic, p.Partition, r.Offset)
				k, v := readBytes(r.Key), readBytes(r.Value)
				sc.add(where+" key", k)
				sc.add(where+" value", v)
				for _, h := range r.Headers {
					sc.add(where+" header", append([]byte(h.Key+"="), h.Value...))
				}
				sc.records = append(sc.records, rawRecord{topic: topic, value: v})
				offset = r.Offset + 1
				n++
			}
			if offset == from {
				return n, fmt.Errorf("partition %d: no record at offset %d of %d", p.Partition, offset, p.LastOffset)
			}
		}
	}
	return n, nil
}

func readBytes(b kafkago.Bytes) []byte {
	if b == nil {
		return nil
	}
	out, _ := io.ReadAll(b)
	return out
}

// scanTables reads every row of every table, materialized view and partition outside
// PostgreSQL's own schemas as the text of the row, and its bytea columns raw (the row's
// text shows them in hex).
func scanTables(ctx context.Context, url string, sc *scanned) (int, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	type table struct {
		schema, name string
		bytea        []string
	}
	rows, err := pool.Query(ctx, `
		SELECT n.nspname, c.relname,
		       coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.atttypid = 'bytea'::regtype), '{}')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p', 'm')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return 0, err
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		return tb, r.Scan(&tb.schema, &tb.name, &tb.bytea)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tb := range tables {
		ident := pgx.Identifier{tb.schema, tb.name}.Sanitize()
		cols := []string{"t::text"}
		for _, c := range tb.bytea {
			cols = append(cols, pgx.Identifier{c}.Sanitize())
		}
		rows, err := pool.Query(ctx, fmt.Sprintf("SELECT %s FROM %s t", strings.Join(cols, ", "), ident))
		if err != nil {
			return n, fmt.Errorf("%s: %w", ident, err)
		}
		i := 0
		for rows.Next() {
			vals := make([][]byte, len(cols))
			dst := make([]any, len(cols))
			for j := range vals {
				dst[j] = &vals[j]
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return n, fmt.Errorf("%s: %w", ident, err)
			}
			where := fmt.Sprintf("table %s.%s row %d", tb.schema, tb.name, i)
			sc.add(where, vals[0])
			for j, c := range tb.bytea {
				sc.add(where+" column "+c, vals[j+1])
			}
			i++
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("%s: %w", ident, err)
		}
	}
	return n, nil
}

// open finds the event eventID among the scanned consent events and opens its sealed
// identifiers.
func (sc *scanned) open(t *testing.T, sealer *seal.Sealer, s *stack.Stack, eventID string) (seal.Identifiers, error) {
	t.Helper()
	ctx := context.Background()
	client, err := serde.NewClient(s.RegistryURL(), "", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := serde.New(ctx, serde.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sc.records {
		if r.topic != s.Topics().Consents || r.value == nil {
			continue
		}
		e, _, err := sd.Decode(ctx, r.value)
		if err != nil {
			t.Fatalf("a record on %s does not decode: %v", r.topic, err)
		}
		if h := e.EventHeader(); h.EventID == eventID {
			if h.Identifiers == nil {
				t.Fatalf("event %s carries no sealed identifiers", eventID)
			}
			return sealer.Open(ctx, h.Tenant, h.SubjectKey, h.Identifiers)
		}
	}
	t.Fatalf("event %s is not on %s", eventID, s.Topics().Consents)
	return seal.Identifiers{}, nil
}

// stackSealer opens identifiers as the services do: the stack's master keys (from its
// secrets file) over its key store.
func stackSealer(t *testing.T, s *stack.Stack, dir string) *seal.Sealer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var secrets stack.Secrets
	if err := json.Unmarshal(b, &secrets); err != nil {
		t.Fatal(err)
	}
	return testkit.Sealer(t, s.PostgresURL(), secrets.MasterKeys)
}
