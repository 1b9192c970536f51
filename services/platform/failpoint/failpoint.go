// Package failpoint lets the chaos suite crash a service at an exact point — between a
// database commit and the offset commit, between a vendor's answer and its record — the
// windows where at-least-once delivery is won or lost, and which random kills hit only
// by luck.
//
// The points exist only in a binary built with the build tag "failpoints" (BuildTag), as
// the chaos suite builds the services (make chaos, devstack/stack.BuildServices). Any
// other build — make build, the images — compiles Hit to nothing, so no environment can
// switch a crash on in production.
//
// In a failpoints build they are armed by CONSENTRY_FAILPOINTS, e.g.
// "consumer.before-commit=0.02,fanout.after-vendor-call=0.05,until=1764370000": each
// named point then kills the process with SIGKILL (no deferred function, no flush: a real
// crash) with that probability, until the given Unix time — a restarted process inherits
// the setting, and the chaos suite needs the faults to stop so the system can settle.
package failpoint

// BuildTag is the build tag that compiles the failpoints in.
const BuildTag = "failpoints"

// EnvVar names the points and their probabilities (read only in a failpoints build).
const EnvVar = "CONSENTRY_FAILPOINTS"

// The points the services define.
const (
	IngestAfterPublish    = "ingest.after-publish"     // event acknowledged by Kafka, 202 not yet sent
	ConsumerBeforeCommit  = "consumer.before-commit"   // batch's effect durable, offsets not committed
	FanoutAfterVendorCall = "fanout.after-vendor-call" // vendor answered, result not recorded
	RelayAfterPublish     = "relay.after-publish"      // receipts on Kafka, outbox rows not deleted
	OneClickAfterPublish  = "oneclick.after-publish"   // one-click events published, state not committed
)
