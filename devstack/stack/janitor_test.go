package stack

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/consentry/consentry/platform/kafka"
)

// joinAndDie sends a JoinGroup for group as a new member and closes the connection
// before the broker can answer — a consumer killed while joining. Its session timeout is
// the broker's longest (5 minutes), so it stays a member for the whole test whichever way
// kfake's race goes: forever when kfake never arms its session timer (the bug), five
// minutes when it does. Either way only the janitor can end it in time.
func joinAndDie(t *testing.T, ctx context.Context, admin *kafka.Admin, broker, group, topic string) {
	t.Helper()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 2
	req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = group, 300_000, 10000, "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
	req.Protocols = []kmsg.JoinGroupRequestProtocol{proto}

	body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	body = binary.BigEndian.AppendUint16(body, uint16(req.Version))
	body = binary.BigEndian.AppendUint32(body, 1)      // correlation id
	body = binary.BigEndian.AppendUint16(body, 0xffff) // null client id
	body = req.AppendTo(body)
	conn, err := net.Dial("tcp", broker)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Die only once the broker has taken the join: the group leaves Stable to rebalance.
	deadline := time.Now().Add(60 * time.Second)
	for {
		state, ms, err := admin.DescribeGroup(ctx, group)
		if err == nil && (state != "Stable" || len(ms) > 1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker never took the join: %s %v %v", state, ms, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJanitorEvictsMembersThatDiedJoining: a consumer killed while joining stays a
// member of its group and, after the rebalance, holds partitions no one consumes; the
// janitor evicts it and every partition is read again.
//
// kfake answers the dead joiner through a channel with room for two responses, racing
// against noticing the connection closed: about half the time the answer "succeeds",
// arms the session timer, and the member expires; otherwise it stays forever. Reproducing
// that race took up to a dozen joins and failed on a loaded machine, so the dead joiner
// here asks for a session longer than the test (joinAndDie), which holds it either way.
func TestJanitorEvictsMembersThatDiedJoining(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	const topic, group = "t", "g"
	admin := kafka.NewAdmin([]string{broker}, nil)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := admin.EnsureTopics(ctx, []kafka.TopicSpec{{Name: topic, Partitions: 4, ReplicationFactor: 1}}); err != nil {
		t.Fatal(err)
	}
	j, err := newJanitor([]string{broker}, t.TempDir(), false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	j.grace = 2 * time.Second
	j.watch(cluster)

	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: []string{broker}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var (
		mu   sync.Mutex
		seen = map[int]bool{}
	)
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{Brokers: []string{broker}, GroupID: group, Topics: []string{topic},
		SessionTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond, DeadLetters: kafka.NewDeadLetterer(p, nil)},
		func(_ context.Context, m kafka.Message) (int, error) { return m.Partition, nil },
		func(_ context.Context, b []kafka.Record[int]) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b {
				seen[r.Value] = true
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitStable := func(members int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			state, ms, err := admin.DescribeGroup(ctx, group)
			if err == nil && state == "Stable" && len(ms) == members {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("group not stable with %d members: %s %v %v", members, state, ms, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStable(1)

	joinAndDie(t, ctx, admin, broker, group, topic)
	waitStable(2) // the dead member is in the group, assigned partitions

	go j.run(ctx)
	waitStable(1)
	var msgs []kafka.Message
	for i := range 64 { // enough keys that the balancer reaches every partition
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte{byte(i), 'k'}, Value: []byte("x")})
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the eviction the consumer reads %d of 4 partitions", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
