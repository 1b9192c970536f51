package failpoint_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/failpoint"
)

// childEnv marks the re-executed test binary that calls Hit: a point that fires kills
// the whole process, so it cannot fire in the process that checks the outcome.
const childEnv = "FAILPOINT_TEST_CHILD"

const survived = "survived the failpoint"

// TestHit runs Hit in a child process with CONSENTRY_FAILPOINTS set and checks whether the
// child was killed: only a binary built with -tags failpoints may ever be, so the default
// build (the one `make build` and the images produce) is checked to ignore the variable.
func TestHit(t *testing.T) {
	past := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	cases := []struct {
		name, env  string
		wantKilled bool
	}{
		{"armed point", "test.point=1", failpoint.Compiled},
		{"armed point among others", "other=1, test.point=1", failpoint.Compiled},
		{"another point", "other=1", false},
		{"probability zero", "test.point=0", false},
		{"window over", "test.point=1,until=" + past, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHitChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"=1", failpoint.EnvVar+"="+c.env)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
			if killed != c.wantKilled {
				t.Fatalf("%s=%q (failpoints compiled in: %v): child killed = %v, want %v; err %v, output:\n%s",
					failpoint.EnvVar, c.env, failpoint.Compiled, killed, c.wantKilled, err, out)
			}
			if !killed && (err != nil || !strings.Contains(string(out), survived)) {
				t.Fatalf("child did not run to the end: %v\n%s", err, out)
			}
		})
	}
}

// TestHitChild is the child of TestHit; run directly it does nothing.
func TestHitChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return
	}
	failpoint.Hit("test.point")
	fmt.Println(survived)
}
