package observability_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// root is the repository, from this package's directory.
var root = filepath.Join("..", "..", "..")

const (
	rulesFile     = "deploy/observability/prometheus/consentry-rules.yaml"
	dashboardFile = "deploy/observability/grafana/consentry.json"
	runbooksDir   = "docs/runbooks"
)

// metricsInCode scans the services' Go sources for the metrics they register: the Name
// of a collector's Opts, or the first argument of prometheus.NewDesc. A histogram also
// exports its _bucket, _count and _sum series. A static scan keeps the test fast: no
// service is started.
func metricsInCode(t *testing.T) map[string]bool {
	t.Helper()
	opts := regexp.MustCompile(`prometheus\.New(Counter|Gauge|Histogram|Summary)(Vec)?\(\s*prometheus\.\w+Opts\{\s*Name:\s*"(consentry_\w+)"`)
	desc := regexp.MustCompile(`prometheus\.NewDesc\(\s*"(consentry_\w+)"`)
	names := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "services"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range opts.FindAllSubmatch(src, -1) {
			name := string(m[3])
			names[name] = true
			if string(m[1]) == "Histogram" || string(m[1]) == "Summary" {
				names[name+"_count"], names[name+"_sum"] = true, true
			}
			if string(m[1]) == "Histogram" {
				names[name+"_bucket"] = true
			}
		}
		for _, m := range desc.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Guards the scan itself: if the registration style changes, the patterns must too.
	for _, known := range []string{"consentry_http_requests_total", "consentry_fanout_propagation_seconds_bucket",
		"consentry_privacy_requests_at_risk", "consentry_kafka_consumer_lag", "consentry_audit_chain_ok"} {
		if !names[known] {
			t.Fatalf("the scan of services/ did not find %s: update metricsInCode", known)
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\bconsentry_[a-z0-9_]+`)

// checkExpr fails when expr names a metric the code does not export, or is visibly
// malformed (unbalanced brackets, quotes).
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	for _, name := range metricName.FindAllString(expr, -1) {
		if !known[name] {
			t.Errorf("%s: metric %s is not registered by any service", where, name)
		}
	}
	if !balanced(expr) {
		t.Errorf("%s: unbalanced brackets or quotes in %q", where, expr)
	}
}

func balanced(expr string) bool {
	var stack []rune
	inQuote := false
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	for _, r := range expr {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '(' || r == '{' || r == '[':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !inQuote
}

// prometheusRule is the part of monitoring.coreos.com/v1 PrometheusRule the file uses;
// decoded strictly, so that a misspelt key fails here rather than being ignored by the
// operator.
type prometheusRule struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Record      string            `yaml:"record"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	} `yaml:"spec"`
}

// promTemplate parses an annotation as Prometheus does (Go templates with its
// functions and the variables it defines first), so that a typo in one fails here and
// not at alert time.
func promTemplate(text string) error {
	stub := func(v any) string { return "" }
	_, err := template.New("annotation").Option("missingkey=zero").Funcs(template.FuncMap{
		"humanize": stub, "humanize1024": stub, "humanizeDuration": stub, "humanizePercentage": stub,
		"humanizeTimestamp": stub, "title": strings.ToTitle, "toUpper": strings.ToUpper, "toLower": strings.ToLower,
	}).Parse("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}" + text)
	return err
}

func TestAlertsUseExportedMetricsAndHaveRunbooks(t *testing.T) {
	known := metricsInCode(t)
	raw, err := os.ReadFile(filepath.Join(root, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	var rule prometheusRule
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rule); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if rule.APIVersion != "monitoring.coreos.com/v1" || rule.Kind != "PrometheusRule" || rule.Metadata.Name == "" {
		t.Fatalf("%s is not a named monitoring.coreos.com/v1 PrometheusRule", rulesFile)
	}
	alerts := map[string]bool{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			where := rulesFile + ": " + r.Alert
			if r.Alert == "" {
				t.Errorf("%s: group %s has a rule that is not an alert", rulesFile, g.Name)
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("%s: alert %s is defined twice", rulesFile, r.Alert)
			}
			alerts[r.Alert] = true
			checkExpr(t, where, r.Expr, known)
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", where)
			}
			for k, v := range r.Annotations {
				if err := promTemplate(v); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
			page := runbooksDir + "/" + r.Alert + ".md"
			if url := r.Annotations["runbook_url"]; !strings.HasSuffix(url, "/"+page) {
				t.Errorf("%s: runbook_url %q does not lead to %s", where, url, page)
			}
			text, err := os.ReadFile(filepath.Join(root, page))
			if err != nil {
				t.Errorf("%s: no runbook: %v", where, err)
				continue
			}
			body := string(text)
			if !strings.HasPrefix(body, "# "+r.Alert+"\n") {
				t.Errorf("%s: does not start with the heading # %s", page, r.Alert)
			}
			for _, section := range []string{"**Meaning.**", "**Confirm.**", "**Fix", "**Escalate**"} {
				if !strings.Contains(body, section) {
					t.Errorf("%s: no %s section", page, section)
				}
			}
			for _, name := range metricName.FindAllString(body, -1) {
				if !known[name] {
					t.Errorf("%s: names metric %s, which no service registers", page, name)
				}
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatalf("%s holds no alert", rulesFile)
	}
	// A runbook without its alert is a page no one reaches, or an alert renamed in one
	// place only.
	pages, err := filepath.Glob(filepath.Join(root, runbooksDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".md")
		if name != "README" && !alerts[name] {
			t.Errorf("%s/%s.md has no alert of that name", runbooksDir, name)
		}
	}
}

func TestDashboardUsesExportedMetrics(t *testing.T) {
	known := metricsInCode(t)
	raw, err := os.ReadFile(filepath.Join(root, dashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string           `json:"uid"`
		Title      string           `json:"title"`
		Panels     []map[string]any `json:"panels"`
		Templating struct {
			List []map[string]any `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: needs a uid, a title and panels", dashboardFile)
	}
	var ids []int
	queries := 0
	for _, p := range dash.Panels {
		title, _ := p["title"].(string)
		id, _ := p["id"].(float64)
		if slices.Contains(ids, int(id)) {
			t.Errorf("%s: panel id %v used twice", dashboardFile, id)
		}
		ids = append(ids, int(id))
		if p["type"] == "row" {
			continue
		}
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, title)
		}
		for _, x := range targets {
			expr, _ := x.(map[string]any)["expr"].(string)
			if expr == "" {
				t.Errorf("%s: panel %q has an empty query", dashboardFile, title)
			}
			checkExpr(t, dashboardFile+": "+title, expr, known)
			queries++
		}
	}
	for _, v := range dash.Templating.List {
		if def, ok := v["definition"].(string); ok {
			checkExpr(t, dashboardFile+": variable "+v["name"].(string), def, known)
		}
	}
	// The panels the issue asks for, by the metric each is built on.
	for _, want := range []string{"consentry_fanout_propagation_seconds_bucket", "consentry_kafka_consumer_lag",
		"consentry_fanout_breaker_state", "consentry_fanout_throttled_until_seconds", "consentry_fanout_dead_letters",
		"consentry_fanout_manual_tasks_overdue", "consentry_privacy_requests_at_risk", "consentry_privacy_requests_overdue",
		"consentry_ingest_events_accepted_total", "consentry_http_request_seconds_bucket", "consentry_audit_chain_ok"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("%s: no panel uses %s", dashboardFile, want)
		}
	}
	if queries == 0 {
		t.Fatalf("%s: no queries", dashboardFile)
	}
}
