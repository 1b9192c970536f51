// Package failpoint lets the chaos suite crash a service at an exact point — between a
// database commit and the offset commit, between a vendor's answer and its record — the
// windows where at-least-once delivery is won or lost, and which random kills hit only
// by luck.
//
// It is off unless CONSENTRY_FAILPOINTS is set, e.g.
// "consumer.before-commit=0.02,fanout.after-vendor-call=0.05,until=1764370000": each
// named point then kills the process with SIGKILL (no deferred function, no flush: a real
// crash) with that probability, until the given Unix time — a restarted process inherits
// the setting, and the chaos suite needs the faults to stop so the system can settle.
// Production never sets it; the cost of an unset point is one map lookup.
package failpoint

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar names the points and their probabilities.
const EnvVar = "CONSENTRY_FAILPOINTS"

// The points the services define.
const (
	IngestAfterPublish    = "ingest.after-publish"     // event acknowledged by Kafka, 202 not yet sent
	ConsumerBeforeCommit  = "consumer.before-commit"   // batch's effect durable, offsets not committed
	FanoutAfterVendorCall = "fanout.after-vendor-call" // vendor answered, result not recorded
	RelayAfterPublish     = "relay.after-publish"      // receipts on Kafka, outbox rows not deleted
	OneClickAfterPublish  = "oneclick.after-publish"   // one-click events published, state not committed
)

// The configuration is read once from the environment: failpoints are a process-wide
// test hook by nature, like the environment they come from.
var (
	once   sync.Once
	points map[string]float64
	until  time.Time
)

func load() {
	points = map[string]float64{}
	for _, part := range strings.Split(os.Getenv(EnvVar), ",") {
		name, p, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		if name == "until" {
			if sec, err := strconv.ParseInt(p, 10, 64); err == nil {
				until = time.Unix(sec, 0)
			}
			continue
		}
		if v, err := strconv.ParseFloat(p, 64); err == nil && v > 0 {
			points[name] = v
		}
	}
}

// Hit kills the process at point name with the configured probability.
func Hit(name string) {
	once.Do(load)
	p, ok := points[name]
	if !ok || (!until.IsZero() && time.Now().After(until)) {
		return
	}
	if rand.Float64() < p {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}
