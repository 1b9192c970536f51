package version

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRequested(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--version"}, true},
		{[]string{"-version"}, true},
		{[]string{"-log-level", "debug", "--version"}, true},
		{[]string{"--versions"}, false},
		{[]string{"-h"}, false},
	} {
		if got := Requested(tc.args); got != tc.want {
			t.Errorf("Requested(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestStringDefaults(t *testing.T) {
	got := String("audit-sink")
	if !regexp.MustCompile(`^audit-sink dev \(.+\)$`).MatchString(got) {
		t.Errorf("String = %q, want %q", got, "audit-sink dev (<commit or unknown>)")
	}
}

// TestStampedBinary builds a service the way the Dockerfile does and runs --version: the
// -X paths in the Dockerfile and Makefile must name these variables, or a release ships
// as "dev (unknown)".
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a service binary")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "audit-sink")
	const pkg = "github.com/consentry/consentry/platform/version"
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -X "+pkg+".Version=v9.8.7 -X "+pkg+".Commit=0123abc", "./services/audit-sink")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout bytes.Buffer
	run := exec.Command(bin, "--version")
	// An empty environment: --version must answer before configuration is validated.
	run.Env = []string{}
	run.Stdout, run.Stderr = &stdout, &stdout
	if err := run.Run(); err != nil {
		t.Fatalf("--version: %v\n%s", err, stdout.String())
	}
	if got, want := strings.TrimSpace(stdout.String()), "audit-sink v9.8.7 (0123abc)"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}
