package containers

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/consentry/consentry/platform/config"
)

// TestComposeFileDescribesTheWholeStack checks deploy/compose.yaml where Docker cannot
// run it: it parses (anchors and merge keys resolved), every long-running container has
// an image or a build, an environment and a healthcheck, the services are built from
// deploy/Dockerfile for themselves, and each has the settings it cannot start without.
func TestComposeFileDescribesTheWholeStack(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("deploy/compose.yaml does not parse: %v", err)
	}
	if _, err := os.Stat(filepath.Join("..", "deploy", "Dockerfile")); err != nil {
		t.Fatalf("the services are built from deploy/Dockerfile: %v", err)
	}
	oneShot := map[string]bool{"kafka-init": true, "probe": true}
	for _, name := range []string{"kafka", "schema-registry", "postgres", "kafka-init", "probe",
		"consent-ingest", "unsubscribe-handler", "vendor-fanout", "audit-sink"} {
		if doc.Services[name] == nil {
			t.Errorf("no service %s", name)
		}
	}
	for name, svc := range doc.Services {
		if svc["image"] == nil && svc["build"] == nil {
			t.Errorf("%s has neither image nor build", name)
		}
		if oneShot[name] {
			if svc["restart"] != "no" {
				t.Errorf("%s runs once: restart must be \"no\"", name)
			}
			continue
		}
		if env, _ := svc["environment"].(map[string]any); len(env) == 0 {
			t.Errorf("%s has no environment", name)
		}
		hc, _ := svc["healthcheck"].(map[string]any)
		if test, _ := hc["test"].([]any); len(test) == 0 || hc["disable"] == true {
			t.Errorf("%s has no healthcheck", name)
		}
	}

	ports := map[string]string{"consent-ingest": "8081", "unsubscribe-handler": "8082", "vendor-fanout": "8083", "audit-sink": "8084"}
	adminPorts := map[string]string{"consent-ingest": "8181", "unsubscribe-handler": "8182", "vendor-fanout": "8183", "audit-sink": "8184"}
	for name, port := range ports {
		svc := doc.Services[name]
		build, _ := svc["build"].(map[string]any)
		args, _ := build["args"].(map[string]any)
		if build["dockerfile"] != "deploy/Dockerfile" || build["context"] != ".." || args["SERVICE"] != name {
			t.Errorf("%s build %v: want deploy/Dockerfile from the repository root with SERVICE=%s", name, build, name)
		}
		env, _ := svc["environment"].(map[string]any)
		for _, v := range []string{"CONSENTRY_KAFKA_BROKERS", "CONSENTRY_SCHEMA_REGISTRY_URL", "CONSENTRY_POSTGRES_URL",
			"CONSENTRY_API_KEYS", "CONSENTRY_SUBJECT_PEPPER", "CONSENTRY_MASTER_KEYS", "GOMEMLIMIT"} {
			if env[v] == nil || env[v] == "" {
				t.Errorf("%s lacks %s", name, v)
			}
		}
		if env["CONSENTRY_HTTP_ADDR"] != ":"+port {
			t.Errorf("%s listens on %v, want :%s", name, env["CONSENTRY_HTTP_ADDR"], port)
		}
		admin := adminPorts[name]
		if env["CONSENTRY_ADMIN_ADDR"] != ":"+admin {
			t.Errorf("%s's admin listener is %v, want :%s", name, env["CONSENTRY_ADMIN_ADDR"], admin)
		}
		if p, _ := svc["ports"].([]any); !slices.Contains(p, any("127.0.0.1:"+port+":"+port)) || !slices.Contains(p, any("127.0.0.1:"+admin+":"+admin)) {
			t.Errorf("%s publishes %v, want 127.0.0.1:%s:%s and 127.0.0.1:%s:%s", name, p, port, port, admin, admin)
		}
		// The secrets' fallbacks are the public examples the services refuse off a dev box,
		// and the file does not itself declare a dev box.
		for _, v := range []string{"CONSENTRY_POSTGRES_URL", "CONSENTRY_API_KEYS", "CONSENTRY_SUBJECT_PEPPER", "CONSENTRY_MASTER_KEYS", "CONSENTRY_LINK_KEYS"} {
			if s, _ := env[v].(string); !config.IsExampleSecret(withDefaults(s)) {
				t.Errorf("%s: the fallback of %s (%q) is not among the example secrets the services refuse", name, v, s)
			}
		}
		if s, _ := env[config.AllowExampleSecretsEnv].(string); withDefaults(s) != "false" {
			t.Errorf("%s: %s is %q, want ${%s:-false}", name, config.AllowExampleSecretsEnv, s, config.AllowExampleSecretsEnv)
		}
		hc, _ := svc["healthcheck"].(map[string]any)
		test, _ := hc["test"].([]any)
		if !strings.Contains(strings.Join(anyStrings(test), " "), "127.0.0.1:"+admin+"/readyz") {
			t.Errorf("%s healthcheck %v does not ask its admin /readyz", name, test)
		}
		deps, _ := svc["depends_on"].(map[string]any)
		for _, dep := range []string{"kafka", "schema-registry", "postgres", "kafka-init", "probe"} {
			if deps[dep] == nil {
				t.Errorf("%s does not wait for %s", name, dep)
			}
		}
		if svc["read_only"] != true {
			t.Errorf("%s: the root filesystem should be read-only, as on Kubernetes", name)
		}
	}
	if env, _ := doc.Services["unsubscribe-handler"]["environment"].(map[string]any); env["CONSENTRY_LINK_KEYS"] == nil || env["CONSENTRY_PUBLIC_URL"] == nil {
		t.Error("unsubscribe-handler needs CONSENTRY_LINK_KEYS and CONSENTRY_PUBLIC_URL")
	}
	// Nothing is published beyond the machine itself: the example secrets and the
	// unauthenticated admin ports must not face a network.
	for name, svc := range doc.Services {
		ports, _ := svc["ports"].([]any)
		for _, p := range ports {
			if s, _ := p.(string); !strings.HasPrefix(s, "127.0.0.1:") {
				t.Errorf("%s publishes %v on every interface, want 127.0.0.1:…", name, p)
			}
		}
	}
}

// withDefaults expands ${VAR:-default} to its default, as Compose does with VAR unset.
func withDefaults(s string) string {
	return regexp.MustCompile(`\$\{[A-Z0-9_]+:-([^}]*)\}`).ReplaceAllString(s, "$1")
}

func anyStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i], _ = x.(string)
	}
	return out
}
