package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func newProducer(t *testing.T, brokers []string) *kafka.Producer {
	t.Helper()
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type seen struct {
	mu      sync.Mutex
	records []kafka.Message
}

func (s *seen) add(batch []kafka.Record[string]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		s.records = append(s.records, r.Msg)
	}
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func (s *seen) snapshot() []kafka.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kafka.Message(nil), s.records...)
}

func decodeString(_ context.Context, m kafka.Message) (string, error) {
	if string(m.Value) == "poison" {
		return "", errors.New("value is not decodable")
	}
	return string(m.Value), nil
}

func startConsumer(t *testing.T, ctx context.Context, env *testkit.KafkaEnv, group string, handle kafka.Handler[string]) (stop func()) {
	t.Helper()
	p := newProducer(t, env.Brokers)
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: env.Brokers, GroupID: group, Topics: []string{env.Topics.Consents},
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond,
		DeadLetters: kafka.NewDeadLetterer(p, nil),
	}, decodeString, handle)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(runCtx); err != nil {
			t.Errorf("consumer: %v", err)
		}
	}()
	return func() { cancel(); <-done }
}

func publishN(t *testing.T, ctx context.Context, p *kafka.Producer, topic string, keys, perKey int) {
	t.Helper()
	var msgs []kafka.Message
	for i := range perKey {
		for k := range keys {
			msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte("subject-" + strconv.Itoa(k)), Value: []byte(strconv.Itoa(i))})
		}
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsumeInKeyOrderAndCommit: records of one key arrive in the order produced, and a
// new consumer of the same group resumes after the committed offsets (lag 0).
func TestConsumeInKeyOrderAndCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 8, 25)

	var got seen
	stop := startConsumer(t, ctx, env, "order", func(_ context.Context, b []kafka.Record[string]) error { got.add(b); return nil })
	waitFor(t, "200 records", 60*time.Second, func() bool { return got.count() >= 200 })
	stop()

	next := map[string]int{}
	for _, m := range got.snapshot() {
		v, _ := strconv.Atoi(string(m.Value))
		if v != next[string(m.Key)] {
			t.Fatalf("key %s: got value %d, want %d (out of order or duplicated)", m.Key, v, next[string(m.Key)])
		}
		next[string(m.Key)]++
	}

	admin := kafka.NewAdmin(env.Brokers, nil)
	defer admin.Close()
	lags, err := admin.Lag(ctx, "order", env.Topics.Consents)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lags {
		if l.Lag != 0 {
			t.Errorf("partition %d: lag %d after a clean stop, want 0", l.Partition, l.Lag)
		}
	}
}

// TestFailedBatchIsRetriedNotCommitted: a handler that fails leaves its records
// uncommitted; they are offered again, and nothing is lost.
func TestFailedBatchIsRetriedNotCommitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 1, 10)

	var failures int
	var got seen
	stop := startConsumer(t, ctx, env, "retry", func(_ context.Context, b []kafka.Record[string]) error {
		if failures < 3 {
			failures++
			return errors.New("database is down")
		}
		got.add(b)
		return nil
	})
	waitFor(t, "10 records after retries", 60*time.Second, func() bool { return got.count() >= 10 })
	stop()
	if failures != 3 {
		t.Errorf("handler failed %d times, want 3", failures)
	}
	if n := got.count(); n != 10 {
		t.Errorf("handled %d records, want exactly 10", n)
	}
}

// TestCrashBeforeCommitRedelivers: records handled but never committed (the process dies
// between the effect and the commit) come back to the next member of the group.
func TestCrashBeforeCommitRedelivers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 1, 5)

	// The first member's handler holds the batch until shutdown, and the drain time runs
	// out before it finishes: Run gives up without committing, as a crash would.
	var first seen
	block := make(chan struct{})
	c1, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: env.Brokers, GroupID: "crash", Topics: []string{env.Topics.Consents},
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond, DrainTimeout: 100 * time.Millisecond,
		DeadLetters: kafka.NewDeadLetterer(p, nil),
	}, decodeString, func(ctx context.Context, b []kafka.Record[string]) error {
		first.add(b)
		select {
		case <-block:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop1 := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c1.Run(runCtx) }()
	waitFor(t, "first consumer to see the batch", 60*time.Second, func() bool { return first.count() > 0 })
	stop1()
	<-done

	var second seen
	stop2 := startConsumer(t, ctx, env, "crash", func(_ context.Context, b []kafka.Record[string]) error { second.add(b); return nil })
	defer stop2()
	waitFor(t, "redelivery of all 5 records", 60*time.Second, func() bool { return second.count() >= 5 })
}

// TestGracefulStopCommitsWhatWasHandled: a shutdown while batches are in hand — one being
// handled, the next already fetched and decoded — finishes and commits both, so a rolling
// restart redelivers nothing and skips nothing.
func TestGracefulStopCommitsWhatWasHandled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 1, 20)

	var first seen
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c1, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: env.Brokers, GroupID: "graceful", Topics: []string{env.Topics.Consents}, MaxBatch: 2,
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond,
		DeadLetters: kafka.NewDeadLetterer(p, nil),
	}, decodeString, func(_ context.Context, b []kafka.Record[string]) error {
		once.Do(func() { close(started); <-release })
		first.add(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop1 := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c1.Run(runCtx) }()
	<-started
	time.Sleep(300 * time.Millisecond) // the next batch is fetched and decoded meanwhile
	stop1()
	close(release)
	<-done
	handled := first.count()
	if handled == 0 || handled == 20 {
		t.Fatalf("first member handled %d records; the test needs it stopped part-way", handled)
	}

	var second seen
	stop2 := startConsumer(t, ctx, env, "graceful", func(_ context.Context, b []kafka.Record[string]) error { second.add(b); return nil })
	defer stop2()
	// All twenty share one key, so one partition, read in order: a redelivery of what the
	// first member handled would reach the second before the partition's last record.
	waitFor(t, "the partition's last record", 60*time.Second, func() bool {
		for _, m := range second.snapshot() {
			if string(m.Value) == "19" {
				return true
			}
		}
		return false
	})
	values := map[string]int{}
	for _, m := range append(first.snapshot(), second.snapshot()...) {
		values[string(m.Value)]++
	}
	for i := range 20 {
		if n := values[strconv.Itoa(i)]; n != 1 {
			t.Errorf("record %d handled %d times across the restart, want once (first member handled %d)", i, n, handled)
		}
	}
}

// TestPoisonGoesToDeadLetterTopicAndPartitionMovesOn.
func TestPoisonGoesToDeadLetterTopicAndPartitionMovesOn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	key := []byte("one-subject")
	if err := p.Publish(ctx,
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("before")},
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("poison"), Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}}},
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("after")},
	); err != nil {
		t.Fatal(err)
	}
	var got seen
	stop := startConsumer(t, ctx, env, "poison", func(_ context.Context, b []kafka.Record[string]) error { got.add(b); return nil })
	waitFor(t, "the records around the poison", 60*time.Second, func() bool { return got.count() >= 2 })
	stop()
	if vals := fmt.Sprint(values(got.snapshot())); vals != "[before after]" {
		t.Errorf("handled %s, want [before after]", vals)
	}

	dlq := readAll(t, ctx, env.Brokers, kafka.DeadLetterTopic(env.Topics.Consents), 1)
	m := dlq[0]
	if string(m.Value) != "poison" || string(m.Key) != string(key) {
		t.Errorf("dead letter is %q/%q, want the original key and value", m.Key, m.Value)
	}
	h := headers(m)
	if h["trace"] != "t1" || h[kafka.HeaderDLQTopic] != env.Topics.Consents || h[kafka.HeaderDLQGroup] != "poison" ||
		h[kafka.HeaderDLQError] != "value is not decodable" || h[kafka.HeaderDLQOffset] == "" {
		t.Errorf("dead-letter headers %v lack the original header or the reason", h)
	}
}

// TestProducerSurvivesBrokerRestart: kfake restarted on the same port with its DataDir
// keeps acknowledged records, and the producer writes again afterwards.
func TestProducerSurvivesBrokerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	env := testkit.Kafka(t, kfake.DataDir(dir), kfake.SyncWrites())
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 1, 3)

	port := env.Brokers[0][len("127.0.0.1:"):]
	env.Cluster.Close()
	n, _ := strconv.Atoi(port)
	restarted, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(n), kfake.DataDir(dir), kfake.SyncWrites())
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()

	// The writer's pooled connection died with the broker; Publish must reconnect.
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := p.Publish(ctx, kafka.Message{Topic: env.Topics.Consents, Key: []byte("subject-0"), Value: []byte("3")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after restart: %v", err)
		}
	}
	got := readAll(t, ctx, env.Brokers, env.Topics.Consents, 4)
	if vals := fmt.Sprint(values(got)); vals != "[0 1 2 3]" {
		t.Errorf("after restart the topic holds %s, want [0 1 2 3]", vals)
	}
}

func values(ms []kafka.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Value)
	}
	return out
}

func headers(m kafka.Message) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// readAll reads want records from topic with a fresh group.
func readAll(t *testing.T, ctx context.Context, brokers []string, topic string, want int) []kafka.Message {
	t.Helper()
	env := &testkit.KafkaEnv{Brokers: brokers}
	p := newProducer(t, brokers)
	var got seen
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: env.Brokers, GroupID: "reader-" + topic + strconv.FormatInt(time.Now().UnixNano(), 10), Topics: []string{topic},
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond, DeadLetters: kafka.NewDeadLetterer(p, nil),
	}, func(_ context.Context, m kafka.Message) (string, error) { return string(m.Value), nil },
		func(_ context.Context, b []kafka.Record[string]) error { got.add(b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.Run(runCtx) }()
	waitFor(t, fmt.Sprintf("%d records on %s", want, topic), 60*time.Second, func() bool { return got.count() >= want })
	cancel()
	<-done
	return got.snapshot()
}

// TestRecordTheHandlerRejectsIsIsolated: when the handler blames the data of a batch, the
// records are handled one by one; only the one it rejects on its own is dead-lettered.
func TestRecordTheHandlerRejectsIsIsolated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testkit.Kafka(t)
	p := newProducer(t, env.Brokers)
	key := []byte("one-subject")
	if err := p.Publish(ctx,
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("a")},
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("rejected")},
		kafka.Message{Topic: env.Topics.Consents, Key: key, Value: []byte("c")},
	); err != nil {
		t.Fatal(err)
	}
	var got seen
	stop := startConsumer(t, ctx, env, "isolate", func(_ context.Context, b []kafka.Record[string]) error {
		for _, r := range b {
			if r.Value == "rejected" {
				return kafka.Permanent(errors.New("the database rejects this row"))
			}
		}
		got.add(b)
		return nil
	})
	waitFor(t, "the two good records", 60*time.Second, func() bool { return got.count() >= 2 })
	stop()
	if vals := fmt.Sprint(values(got.snapshot())); vals != "[a c]" {
		t.Errorf("handled %s, want [a c]", vals)
	}
	dlq := readAll(t, ctx, env.Brokers, kafka.DeadLetterTopic(env.Topics.Consents), 1)
	if string(dlq[0].Value) != "rejected" || headers(dlq[0])[kafka.HeaderDLQError] != "the database rejects this row" {
		t.Errorf("dead letter %q %v", dlq[0].Value, headers(dlq[0]))
	}
}
