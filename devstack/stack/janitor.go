package stack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/consentry/consentry/platform/kafka"
)

// janitor works around a kfake bug found by the chaos suite: a consumer that sends
// JoinGroup and dies before the response is delivered becomes a group member whose
// session timer is never armed (kfake arms it only after a successful reply), so after
// the next rebalance it is assigned partitions and holds them forever — no one consumes
// them. Real Kafka schedules every member's heartbeat expiry when the join completes.
//
// The janitor watches every request that names a member and evicts, with LeaveGroup on
// its behalf, a member of a stable group that has never sent one for longer than any
// session timeout the services use. It only ever runs against the embedded broker.
type janitor struct {
	brokers []string
	log     *slog.Logger
	grace   time.Duration // neverSeenGrace; shorter in tests
	trace   *os.File      // every group request, when TraceGroups is on

	mu        sync.Mutex
	seen      map[string]bool      // group/member that sent a request naming itself
	firstSeen map[string]time.Time // group/member as first found by a DescribeGroups
}

// neverSeenGrace is how long a member of a stable group may go without a request naming
// it: three times the longest session timeout the services configure (10 s).
const neverSeenGrace = 30 * time.Second

func newJanitor(brokers []string, dataDir string, trace bool, log *slog.Logger) (*janitor, error) {
	j := &janitor{brokers: brokers, log: log, grace: neverSeenGrace, seen: map[string]bool{}, firstSeen: map[string]time.Time{}}
	if trace {
		f, err := os.OpenFile(filepath.Join(dataDir, "logs", "kafka-groups.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		j.trace = f
	}
	return j, nil
}

// watch installs the request hook on a (re)started cluster.
func (j *janitor) watch(c *kfake.Cluster) {
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		switch r := req.(type) {
		case *kmsg.JoinGroupRequest:
			j.note(r.Group, r.MemberID, "join", -1)
		case *kmsg.SyncGroupRequest:
			j.note(r.Group, r.MemberID, "sync", r.Generation)
		case *kmsg.HeartbeatRequest:
			j.note(r.Group, r.MemberID, "heartbeat", r.Generation)
		case *kmsg.LeaveGroupRequest:
			j.note(r.Group, r.MemberID, "leave", -1)
			for _, m := range r.Members {
				j.note(r.Group, m.MemberID, "leave", -1)
			}
		case *kmsg.OffsetCommitRequest:
			j.note(r.Group, r.MemberID, "commit", r.Generation)
		}
		return nil, nil, false
	})
}

func (j *janitor) note(group, member, what string, generation int32) {
	if member == "" && what != "join" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if member != "" {
		j.seen[group+"/"+member] = true
	}
	if j.trace != nil {
		fmt.Fprintf(j.trace, "%s %-9s group=%s member=%q generation=%d\n", time.Now().Format("15:04:05.000"), what, group, member, generation)
	}
}

// run sweeps the groups every few seconds until ctx ends.
func (j *janitor) run(ctx context.Context) {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.sweep(ctx)
		}
	}
}

func (j *janitor) sweep(ctx context.Context) {
	admin := kafka.NewAdmin(j.brokers, nil)
	defer admin.Close()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	groups, err := admin.Groups(sctx)
	if err != nil {
		return // the broker may be restarting
	}
	for _, g := range groups {
		state, members, err := admin.DescribeGroup(sctx, g)
		if err != nil || state != "Stable" {
			continue
		}
		for _, m := range members {
			key := g + "/" + m.ID
			j.mu.Lock()
			seen := j.seen[key]
			first, known := j.firstSeen[key]
			if !known {
				j.firstSeen[key] = time.Now()
			}
			j.mu.Unlock()
			if seen || !known || time.Since(first) < j.grace {
				continue
			}
			if err := admin.Evict(sctx, g, m.ID); err != nil {
				j.log.Warn("could not evict a consumer-group member that never synced", "group", g, "error", err)
				continue
			}
			j.log.Warn("evicted a consumer-group member that never sent a request (kfake keeps a member whose join reply could not be delivered)",
				"group", g, "member", m.ID)
			j.mu.Lock()
			j.seen[key] = true
			j.mu.Unlock()
		}
	}
}

func (j *janitor) close() {
	if j.trace != nil {
		j.trace.Close()
	}
}
