//go:build failpoints

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

// Compiled reports whether this binary was built with BuildTag.
const Compiled = true

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
