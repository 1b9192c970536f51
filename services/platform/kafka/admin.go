package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Admin wraps kafka-go's client for the few administrative calls Consentry makes.
type Admin struct{ client *kafkago.Client }

// NewAdmin returns an Admin for brokers. Without a transport it makes its own, which
// Close releases.
func NewAdmin(brokers []string, transport kafkago.RoundTripper) *Admin {
	if transport == nil {
		transport = &kafkago.Transport{}
	}
	return &Admin{client: &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}}
}

// EnsureTopics creates the topics that do not exist yet; existing ones are left as they are.
func (a *Admin) EnsureTopics(ctx context.Context, specs []TopicSpec) error {
	req := &kafkago.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafkago.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		for k, v := range s.Configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafkago.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := a.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("kafka: create topics: %w", err)
	}
	var errs []error
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("kafka: create topic %s: %w", topic, err))
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the cluster answers a metadata request for topics and that they exist.
func (a *Admin) Ping(ctx context.Context, topics ...string) error {
	resp, err := a.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafka: metadata: %w", err)
	}
	for _, t := range resp.Topics {
		if t.Error != nil {
			return fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		}
	}
	return nil
}

// PartitionLag is how far a group's committed offset trails the end of one partition.
type PartitionLag struct {
	Topic     string
	Partition int
	Committed int64 // -1 when the group has committed nothing there
	End       int64
	Lag       int64
}

// Lag returns the group's lag on every partition of topics.
func (a *Admin) Lag(ctx context.Context, group string, topics ...string) ([]PartitionLag, error) {
	meta, err := a.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata: %w", err)
	}
	partitions := map[string][]int{}
	ends := map[string][]kafkago.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			partitions[t.Name] = append(partitions[t.Name], p.ID)
			ends[t.Name] = append(ends[t.Name], kafkago.LastOffsetOf(p.ID))
		}
	}
	committed, err := a.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: partitions})
	if err != nil {
		return nil, fmt.Errorf("kafka: offset fetch: %w", err)
	}
	if committed.Error != nil {
		return nil, fmt.Errorf("kafka: offset fetch: %w", committed.Error)
	}
	last, err := a.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: ends})
	if err != nil {
		return nil, fmt.Errorf("kafka: list offsets: %w", err)
	}
	endOf := map[string]map[int]int64{}
	for topic, ps := range last.Topics {
		endOf[topic] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("kafka: list offsets %s/%d: %w", topic, p.Partition, p.Error)
			}
			endOf[topic][p.Partition] = p.LastOffset
		}
	}
	var out []PartitionLag
	for topic, ps := range committed.Topics {
		for _, p := range ps {
			end := endOf[topic][p.Partition]
			lag := end - max(p.CommittedOffset, 0)
			out = append(out, PartitionLag{Topic: topic, Partition: p.Partition, Committed: p.CommittedOffset, End: end, Lag: lag})
		}
	}
	return out, nil
}

// Close releases idle connections.
func (a *Admin) Close() {
	if t, ok := a.client.Transport.(*kafkago.Transport); ok {
		t.CloseIdleConnections()
	}
}

// Records returns how many records topic holds now (end minus start offset, summed over
// partitions).
func (a *Admin) Records(ctx context.Context, topic string) (int64, error) {
	meta, err := a.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("kafka: metadata: %w", err)
	}
	var reqs []kafkago.OffsetRequest
	for _, t := range meta.Topics {
		if t.Error != nil {
			return 0, fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafkago.FirstOffsetOf(p.ID), kafkago.LastOffsetOf(p.ID))
		}
	}
	resp, err := a.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, fmt.Errorf("kafka: list offsets: %w", err)
	}
	var n int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return 0, fmt.Errorf("kafka: list offsets %s/%d: %w", topic, p.Partition, p.Error)
		}
		n += p.LastOffset - p.FirstOffset
	}
	return n, nil
}

// GroupMember is one member of a consumer group and what it was assigned.
type GroupMember struct {
	ID         string
	ClientHost string
	Assigned   map[string][]int // topic → partitions
}

// DescribeGroup returns a group's state and members, for diagnosing a stuck consumer.
func (a *Admin) DescribeGroup(ctx context.Context, group string) (string, []GroupMember, error) {
	resp, err := a.client.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return "", nil, fmt.Errorf("kafka: describe group: %w", err)
	}
	if len(resp.Groups) != 1 {
		return "", nil, fmt.Errorf("kafka: describe group %s: %d answers", group, len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.Error != nil {
		return "", nil, fmt.Errorf("kafka: describe group %s: %w", group, g.Error)
	}
	var members []GroupMember
	for _, m := range g.Members {
		gm := GroupMember{ID: m.MemberID, ClientHost: m.ClientHost, Assigned: map[string][]int{}}
		for _, t := range m.MemberAssignments.Topics {
			gm.Assigned[t.Topic] = t.Partitions
		}
		members = append(members, gm)
	}
	return g.GroupState, members, nil
}

// Groups lists the consumer groups.
func (a *Admin) Groups(ctx context.Context) ([]string, error) {
	resp, err := a.client.ListGroups(ctx, &kafkago.ListGroupsRequest{})
	if err != nil {
		return nil, fmt.Errorf("kafka: list groups: %w", err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("kafka: list groups: %w", resp.Error)
	}
	out := make([]string, len(resp.Groups))
	for i, g := range resp.Groups {
		out[i] = g.GroupID
	}
	return out, nil
}

// Evict removes a member from a group, as if it had left: its partitions go to the
// others in the rebalance that follows.
func (a *Admin) Evict(ctx context.Context, group, member string) error {
	resp, err := a.client.LeaveGroup(ctx, &kafkago.LeaveGroupRequest{GroupID: group,
		Members: []kafkago.LeaveGroupRequestMember{{ID: member}}})
	if err != nil {
		return fmt.Errorf("kafka: leave group: %w", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("kafka: leave group: %w", resp.Error)
	}
	for _, m := range resp.Members {
		if m.Error != nil {
			return fmt.Errorf("kafka: leave group %s: %w", m.ID, m.Error)
		}
	}
	return nil
}

// Retention returns a topic's retention.ms as the broker applies it (the topic's own
// setting, or the broker default it inherits); a negative value means forever.
func (a *Admin) Retention(ctx context.Context, topic string) (time.Duration, error) {
	resp, err := a.client.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"},
	}}})
	if err != nil {
		return 0, fmt.Errorf("kafka: describe configs of %s: %w", topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("kafka: describe configs of %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != "retention.ms" {
				continue
			}
			ms, err := strconv.ParseInt(e.ConfigValue, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("kafka: %s has retention.ms %q", topic, e.ConfigValue)
			}
			if ms < 0 {
				return -1, nil
			}
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("kafka: the broker reported no retention.ms for %s", topic)
}

// SetTopicConfig sets configs of an existing topic, leaving its other configs as they
// are. EnsureTopics does not touch a topic that exists; this brings one up to date.
func (a *Admin) SetTopicConfig(ctx context.Context, topic string, configs map[string]string) error {
	res := kafkago.IncrementalAlterConfigsRequestResource{ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic}
	for k, v := range configs {
		res.Configs = append(res.Configs, kafkago.IncrementalAlterConfigsRequestConfig{Name: k, Value: v, ConfigOperation: kafkago.ConfigOperationSet})
	}
	resp, err := a.client.IncrementalAlterConfigs(ctx, &kafkago.IncrementalAlterConfigsRequest{Resources: []kafkago.IncrementalAlterConfigsRequestResource{res}})
	if err != nil {
		return fmt.Errorf("kafka: alter configs of %s: %w", topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return fmt.Errorf("kafka: alter configs of %s: %w", topic, r.Error)
		}
	}
	return nil
}
