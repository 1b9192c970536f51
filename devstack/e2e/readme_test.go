package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/stack"
)

// TestReadmeWalkthroughWorksAsPrinted runs the README's walk-through — the bash blocks
// between the walkthrough markers, unchanged but for the ports — against a running stack.
// Each block is retried for a while, as a person would rerun a command that ran before
// the pipeline had caught up; every curl uses -f, so an HTTP error fails the block.
func TestReadmeWalkthroughWorksAsPrinted(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(workspaceRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- walkthrough:start -->")
	walk, _, ok2 := strings.Cut(rest, "<!-- walkthrough:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no walkthrough markers")
	}
	blocks := regexp.MustCompile("(?s)```bash\n(.*?)```").FindAllStringSubmatch(walk, -1)
	if len(blocks) < 5 {
		t.Fatalf("the walk-through has %d bash blocks; expected the whole flow", len(blocks))
	}

	dir := dataDirFor(t)
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	s := startStackOn(t, dir, ports)
	def := stack.DefaultPorts()
	portMap := map[int]int{def.Registry: ports.Registry, def.Simulator: ports.Simulator, def.Kafka: ports.Kafka}
	for name, p := range def.Services {
		portMap[p] = ports.Services[name]
		portMap[def.Admin[name]] = ports.Admin[name]
	}

	var script strings.Builder
	script.WriteString("set -uo pipefail\nretry() { for i in $(seq 1 60); do if eval \"$1\"; then return 0; fi; sleep 0.5; done; echo \"block failed: $1\" >&2; return 1; }\n")
	for _, b := range blocks {
		block := b[1]
		for from, to := range portMap {
			block = strings.ReplaceAll(block, fmt.Sprintf("127.0.0.1:%d", from), fmt.Sprintf("127.0.0.1:%d", to))
		}
		block = strings.ReplaceAll(block, ".data/secrets.json", filepath.Join(dir, "secrets.json"))
		fmt.Fprintf(&script, "retry %s || exit 1\necho\n", shellQuote(block))
	}
	cmd := exec.Command("bash", "-c", script.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed after %v: %v\n%s", time.Since(start), err, out)
	}
	// What the commands answer at once:
	for _, want := range []string{`"event_ids"`, `"request_id"`, `"breaker"`, "You are unsubscribed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walk-through's output lacks %s:\n%s", want, out)
		}
	}
	// What a person rerunning the read commands a moment later sees: the vendor calls,
	// both events with every vendor's receipt, and the address suppressed.
	eventually(t, "the walk-through's effects", 60*time.Second, func() bool {
		calls := simCalls(t, s)
		vendors := map[string]bool{}
		var consent, request bool
		for _, e := range history(t, s, "consumer", "u_8d41") {
			switch e.Type {
			case "VendorReceipt":
				vendors[e.Details["vendor"].(string)] = true
			case "ConsentChanged":
				consent = true
			case "PrivacyRequest":
				request = true
			}
		}
		return hasCall(calls, "hubspot", "POST", "/unsubscribe-all") && consent && request && allOf(vendors, apiVendors...)
	})
}

func workspaceRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("cannot find the workspace root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// shellQuote single-quotes s for bash, so that nothing in it expands until eval runs it.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
