package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/chaos"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/failpoint"
)

// TestChaosShort runs every scenario once, with a short fault window: the version of the
// chaos suite that `make test` runs (make chaos runs many seeds, longer).
func TestChaosShort(t *testing.T) {
	bin, err := os.MkdirTemp("", "consentry-chaos-bin-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	if err := stack.BuildServices(bin, false, failpoint.BuildTag); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (rerun: make chaos SEED=%d)", seed, seed)
	for i, sc := range chaos.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "consentry-chaos-*")
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(dir, 0o755)
			defer func() {
				if !t.Failed() {
					os.RemoveAll(dir)
				}
			}()
			// Generous bounds: they cost time only when a run fails, and a loaded machine
			// (make test beside other work) settles more slowly than make chaos expects.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			rep, err := chaos.Run(ctx, chaos.Config{Scenario: sc, Seed: seed + uint64(i), BinDir: bin, DataDir: dir,
				Window: 10 * time.Second, Rate: 12, Quiesce: 5 * time.Minute, Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.MarshalIndent(rep, "", "  ")
			if !rep.Passed {
				t.Fatalf("invariants violated (data kept in %s):\n%s", dir, b)
			}
			t.Logf("%s: %d events, %d faults, settled in %s", sc.Name, rep.Accepted, len(rep.Faults), rep.SettledIn)
			for _, inv := range rep.Invariants {
				t.Logf("  %-75s checked %5d  %s", inv.Name, inv.Checked, inv.Note)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(fmt.Sprintf("%s", p))
	return len(p), nil
}
