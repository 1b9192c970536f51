package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentry/consentry/platform/failpoint"
)

// TestCheckBuildTag builds a small command of the workspace under each service's name,
// with and without the failpoints tag, and checks that only the tagged set passes.
func TestCheckBuildTag(t *testing.T) {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOWORK: %v %q", err, out)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	// One build per variant, copied under the four names: only the build settings matter.
	build := func(dir string, tags ...string) {
		args := []string{"build", "-o", filepath.Join(dir, "bin")}
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		cmd := exec.Command("go", append(args, "./services/platform/cmd/consentry-keys")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		for _, svc := range Services {
			copyFile(t, filepath.Join(dir, "bin"), filepath.Join(dir, svc))
		}
	}
	tagged, plain, mixed := t.TempDir(), t.TempDir(), t.TempDir()
	build(tagged, "consentry_other", failpoint.BuildTag)
	build(plain)
	build(mixed, failpoint.BuildTag)
	// One service's binary from a build without the tag among tagged ones.
	copyFile(t, filepath.Join(plain, "bin"), filepath.Join(mixed, Services[2]))

	if err := CheckBuildTag(tagged, failpoint.BuildTag); err != nil {
		t.Errorf("tagged binaries: %v", err)
	}
	err = CheckBuildTag(plain, failpoint.BuildTag)
	if err == nil {
		t.Fatal("binaries built without the tag passed")
	}
	for _, svc := range Services {
		if !strings.Contains(err.Error(), svc) {
			t.Errorf("error does not name %s: %v", svc, err)
		}
	}
	err = CheckBuildTag(mixed, failpoint.BuildTag)
	if err == nil || !strings.Contains(err.Error(), Services[2]) || strings.Contains(err.Error(), Services[0]) {
		t.Errorf("one untagged binary among tagged ones: got %v, want an error naming only %s", err, Services[2])
	}
	if err := CheckBuildTag(t.TempDir(), failpoint.BuildTag); err == nil {
		t.Error("an empty directory passed")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
