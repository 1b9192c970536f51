package routing_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

// repoRoot is the repository, from this package's directory.
var repoRoot = filepath.Join("..", "..", "..", "..")

// headingAnchors returns the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	out := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(drop.ReplaceAllString(title, ""), " ", "-")] = true
	}
	return out
}

// TestBuiltinLimitsCiteTheirSource: every rate, burst and concurrency of a built-in
// table comes from the vendor's documented limits, and says where: a section of
// docs/vendors/<type>.md that exists.
func TestBuiltinLimitsCiteTheirSource(t *testing.T) {
	for _, name := range []string{"default", "seed"} {
		tab, err := routing.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range tab.Instances {
			if in.Manual != nil {
				continue
			}
			file, anchor, ok := strings.Cut(in.LimitsSource, "#")
			if !ok || file != "docs/vendors/"+in.Type+".md" {
				t.Errorf("%s: %s: limits_source %q is not docs/vendors/%s.md#<section>", name, in.Name, in.LimitsSource, in.Type)
				continue
			}
			if !headingAnchors(t, file)[anchor] {
				t.Errorf("%s: %s: %s has no section #%s", name, in.Name, file, anchor)
			}
		}
	}
}

// TestBuiltinBatchSizesCiteTheirSource: a built-in max_batch is the vendor's documented
// batch size, and the vendor's page says so in its "Batching" section.
func TestBuiltinBatchSizesCiteTheirSource(t *testing.T) {
	for _, name := range []string{"default", "seed"} {
		tab, err := routing.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range tab.Instances {
			if in.MaxBatch <= 1 {
				continue
			}
			file := "docs/vendors/" + in.Type + ".md"
			src, err := os.ReadFile(filepath.Join(repoRoot, file))
			if err != nil {
				t.Fatal(err)
			}
			_, section, ok := strings.Cut(string(src), "\n## Batching")
			section, _, _ = strings.Cut(section, "\n## ")
			if !ok || !regexp.MustCompile(`\b`+strconv.Itoa(in.MaxBatch)+`\b`).MatchString(section) {
				t.Errorf("%s: %s: max_batch %d is not cited in the Batching section of %s", name, in.Name, in.MaxBatch, file)
			}
		}
	}
}

// TestAmplitudeKeepsItsDocumentedLimit: the User Privacy API takes one request a second
// on /api/2/deletions/users, deletions and job polls together
// (docs/vendors/amplitude.md); the lane's polls take its tokens too.
func TestAmplitudeKeepsItsDocumentedLimit(t *testing.T) {
	for _, name := range []string{"default", "seed"} {
		tab, err := routing.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		in, ok := tab.Instance("amplitude")
		if !ok {
			t.Fatalf("%s: no amplitude instance", name)
		}
		if in.RatePerSecond != 1 || in.Burst != 1 || in.Concurrency != 1 {
			t.Errorf("%s: amplitude at %v/s, burst %d, concurrency %d; want 1, 1, 1", name, in.RatePerSecond, in.Burst, in.Concurrency)
		}
		// "Each HTTP request can contain up to 100 amplitude_ids or user_ids": at one
		// request a second, a backlog of erasures drains a hundred times faster batched.
		if in.MaxBatch != 100 {
			t.Errorf("%s: amplitude max_batch %d; want the documented 100", name, in.MaxBatch)
		}
	}
}
