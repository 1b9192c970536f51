package scenarios

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/stack"
)

// Start runs a stack for a test with the settings the scenarios expect — fast vendor
// retries, simulated vendor jobs done in half a second, four partitions — its own log in
// the test's, and on failure the last lines each service logged. It stops when the test
// ends. cfg names where (data, binaries, ports, external Kafka/registry/PostgreSQL) and
// may add service settings (ServiceEnv) and simulator options.
func Start(ctx context.Context, t *testing.T, cfg stack.Config) *stack.Stack {
	t.Helper()
	cfg.Partitions, cfg.SimulatorJobDelay = 4, 500*time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env := map[string]string{"CONSENTRY_FANOUT_RETRY_BASE": "100ms", "CONSENTRY_FANOUT_RETRY_MAX": "1s"}
	for k, v := range cfg.ServiceEnv { // the test's own settings win
		env[k] = v
	}
	cfg.ServiceEnv = env
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		DumpLogs(t, cfg.DataDir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			DumpLogs(t, cfg.DataDir)
		}
		s.Stop()
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// DumpLogs puts the last 40 lines each service logged into the test's output.
func DumpLogs(t *testing.T, dataDir string) {
	for _, s := range stack.Services {
		b, err := os.ReadFile(filepath.Join(dataDir, "logs", s+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("--- last lines of %s:\n%s", s, strings.Join(lines, "\n"))
	}
}
