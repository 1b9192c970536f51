package testkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/freeport"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

// The test stack's API keys (docs/api-keys.md). APIKey is a product service of every
// tenant: it reports consents, files and follows requests, sends mail, and may assert
// that a person was verified; OperatorKey runs the pipeline (vendor lanes, manual tasks,
// exports, audit chains) for every tenant; TenantKey is the enterprise Customer acme's own
// credential (controller); AcmeAppKey is a product service of acme's, which may assert
// verification but does not speak for the Customer; GlobexKey is another Customer's
// credential; ConsentsKey may only post consumer's and acme's consents; AcmeDeskKey is
// acme's privacy desk, which works acme's manual tasks and reads its dead letters.
const (
	APIKey      = "test-key-0123456789abcdef"
	OperatorKey = "ops-key-0123456789abcdefg"
	ConsentsKey = "consents-key-0123456789ab"
	AcmeDeskKey = "acme-desk-key-0123456789a"
	TenantKey   = "acme-key-0123456789abcdef"
	AcmeAppKey  = "acme-app-key-0123456789ab"
	GlobexKey   = "globex-key-0123456789abcd"
	// PlainKey is the consumer tenant's key written without a permission list: the
	// product default.
	PlainKey = "plain-key-0123456789abcde"
	// WebhookSigningKeys signs the webhooks services send in tests (one Ed25519 seed);
	// receivers verify with the public keys the service serves.
	WebhookSigningKeys = "test-1:whsk_CwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCws="
)

// Stack is the infrastructure a service needs, started for one test.
type Stack struct {
	Kafka       *KafkaEnv
	RegistryURL string
	PostgresURL string
	Pepper      pseudonym.Pepper
	Env         map[string]string
}

// NewStack starts Kafka, the registry and a fresh database, and prepares the environment
// a service reads (as production would set it).
func NewStack(t testing.TB) *Stack {
	t.Helper()
	k := Kafka(t)
	s := &Stack{Kafka: k, RegistryURL: Registry(t, k.Topics), PostgresURL: Postgres(t)}
	pepper := bytes.Repeat([]byte{7}, 32)
	s.Pepper, _ = pseudonym.NewPepper(pepper)
	s.Env = map[string]string{
		"CONSENTRY_KAFKA_BROKERS":       strings.Join(k.Brokers, ","),
		"CONSENTRY_SCHEMA_REGISTRY_URL": s.RegistryURL,
		"CONSENTRY_POSTGRES_URL":        s.PostgresURL,
		"CONSENTRY_API_KEYS": "test:" + APIKey + ":*:consents:write|requests:write|requests:read|links:write|email-events:write|suppressions:read|verify," +
			"ops:" + OperatorKey + ":*,consents:" + ConsentsKey + ":consumer|acme:consents:write," +
			"acme-desk:" + AcmeDeskKey + ":acme:tasks:read|tasks:write|identifiers:read|dead-letters:read,acme:" + TenantKey + ":acme:controller,acme-app:" + AcmeAppKey +
			":acme:verify,globex:" + GlobexKey + ":globex:controller,plain:" + PlainKey + ":consumer",
		"CONSENTRY_LINK_KEYS":             "l1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)),
		"CONSENTRY_WEBHOOK_SIGNING_KEYS":  WebhookSigningKeys,
		"CONSENTRY_SUBJECT_PEPPER":        base64.StdEncoding.EncodeToString(pepper),
		"CONSENTRY_MASTER_KEYS":           "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
		"CONSENTRY_KAFKA_SESSION_TIMEOUT": "6s",
		"CONSENTRY_LOG_LEVEL":             "debug",
	}
	return s
}

// RunFunc is a service's run function.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Service is a service running in the test process through its run function.
type Service struct {
	URL string
	// AdminURL serves /healthz, /readyz and /metrics; URL serves the API only.
	AdminURL string
	Logs     *SyncBuffer
	stop     func() error
}

// Stop shuts the service down as SIGTERM would and returns run's error.
func (s *Service) Stop() error { return s.stop() }

// StartService runs a service on free ports (API and admin) with env (plus overrides)
// and waits until the admin /readyz answers 200.
func StartService(t testing.TB, run RunFunc, env map[string]string, overrides map[string]string) *Service {
	t.Helper()
	ports, err := freeport.Pick(2)
	if err != nil {
		t.Fatal(err)
	}
	port, adminPort := ports[0], ports[1]
	merged := map[string]string{}
	for k, v := range env {
		merged[k] = v
	}
	for k, v := range overrides {
		merged[k] = v
	}
	merged["CONSENTRY_HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	merged["CONSENTRY_ADMIN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", adminPort)
	logs := &SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return merged[k] }, io.Discard, logs) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	svc := &Service{URL: fmt.Sprintf("http://127.0.0.1:%d", port), AdminURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort), Logs: logs, stop: stop}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("service stopped with: %v", err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("service exited during start-up: %v\nlogs:\n%s", err, logs.String())
		default:
		}
		if resp, err := http.Get(svc.AdminURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return svc
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not ready after 60s; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Call sends method url with an optional JSON body and the given bearer key, and decodes
// a JSON answer into out (when out is not nil). It returns the status.
func Call(t testing.TB, method, url, key string, body any, out any, headers ...string) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %v\n%s", method, url, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode
}

// WantForbidden calls url with key and fails the test unless the answer is 403 naming
// the permission the key lacks.
func WantForbidden(t testing.TB, method, url, key string, body any, permission string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if s := Call(t, method, url, key, body, &e); s != http.StatusForbidden || !strings.Contains(e.Error.Message, `"`+permission+`"`) {
		t.Errorf("%s %s with key %.8s…: %d %q, want 403 naming %q", method, url, key, s, e.Error.Message, permission)
	}
}

// Decoded is a record read back from a topic with its decoded event (nil for a tombstone).
type Decoded struct {
	Msg   kafka.Message
	Event schemas.Event
}

// ReadTopic consumes topic from the start with a fresh group until want records arrived
// (or the timeout), decoding each with the registry at registryURL.
func ReadTopic(t testing.TB, brokers []string, registryURL, topic string, want int, timeout time.Duration) []Decoded {
	t.Helper()
	client, err := serde.NewClient(registryURL, "", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := serde.New(context.Background(), serde.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	raw := ReadRaw(t, brokers, topic, want, timeout)
	out := make([]Decoded, len(raw))
	for i, m := range raw {
		out[i].Msg = m
		if m.Value == nil {
			continue
		}
		if out[i].Event, _, err = sd.Decode(context.Background(), m.Value); err != nil {
			t.Fatalf("%s/%d/%d does not decode: %v", m.Topic, m.Partition, m.Offset, err)
		}
	}
	return out
}

// ReadRaw consumes topic from the start with a fresh group until want records arrived,
// failing the test if they do not within timeout.
func ReadRaw(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	var (
		mu  sync.Mutex
		got []kafka.Message
	)
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: brokers, GroupID: fmt.Sprintf("testkit-reader-%d", time.Now().UnixNano()), Topics: []string{topic},
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond, DeadLetters: kafka.NewDeadLetterer(p, nil),
	}, func(_ context.Context, m kafka.Message) (struct{}, error) { return struct{}{}, nil },
		func(_ context.Context, batch []kafka.Record[struct{}]) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range batch {
				got = append(got, r.Msg)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	deadline := time.Now().Add(timeout)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) < want {
		t.Fatalf("read %d records from %s, want %d", len(got), topic, want)
	}
	return append([]kafka.Message(nil), got...)
}

// ReadAll reads every record topic holds at the time of the call, decoded.
func ReadAll(t testing.TB, brokers []string, registryURL, topic string) []Decoded {
	t.Helper()
	admin := kafka.NewAdmin(brokers, nil)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := admin.Records(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return nil
	}
	return ReadTopic(t, brokers, registryURL, topic, int(n), 30*time.Second)
}

// NewEventID returns a fresh event id.
func NewEventID(t testing.TB) string {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Publish writes events to topic under key, framed as services frame them, and returns
// once Kafka acknowledged them.
func Publish(t testing.TB, s *Stack, topic, key string, events ...schemas.Event) {
	t.Helper()
	client, err := serde.NewClient(s.RegistryURL, "", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := serde.New(context.Background(), serde.Config{Client: client, Writes: serde.RecordsByTopic(s.Kafka.Topics)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: s.Kafka.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]kafka.Message, len(events))
	for i, e := range events {
		if msgs[i], err = sd.EncodeMessage(topic, key, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}
