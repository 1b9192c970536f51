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
// before the broker can answer — a consumer killed while joining.
func joinAndDie(t *testing.T, broker, group, topic string) {
	t.Helper()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 2
	req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = group, 6000, 10000, "consumer"
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
	time.Sleep(50 * time.Millisecond) // the broker has read the join and now waits for the others
	conn.Close()
}

// TestJanitorEvictsMembersThatDiedJoining reproduces the kfake behaviour the janitor
// exists for, and shows the janitor ends it: without it, the dead joiner keeps half the
// partitions and their records are never consumed.
//
// kfake answers the dead joiner through a channel with room for two responses, racing
// against noticing the connection closed: about half the time the answer "succeeds",
// which arms the session timer and the member expires. So the dying join is repeated
// until one leaves a member behind.
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

	ghost := false
	for attempt := 1; attempt <= 12 && !ghost; attempt++ {
		joinAndDie(t, broker, group, topic)
		waitStable(2)
		time.Sleep(7 * time.Second) // past the dead joiner's 6 s session timeout
		_, ms, _ := admin.DescribeGroup(ctx, group)
		ghost = len(ms) == 2
		if !ghost {
			waitStable(1)
		}
	}
	if !ghost {
		t.Fatal("12 dead joiners all expired: kfake may have fixed the bug, and the janitor may no longer be needed")
	}

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
