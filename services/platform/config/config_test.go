package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEnvDefaultsFlagsOverride(t *testing.T) {
	var (
		addr string
		wait time.Duration
		n    int
		list []string
	)
	l := config.NewLoader("svc", env(map[string]string{"X_ADDR": ":9000", "X_WAIT": "2s", "X_LIST": "a, b,,c"}), io.Discard)
	l.String(&addr, "addr", "X_ADDR", ":8000", "")
	l.Duration(&wait, "wait", "X_WAIT", time.Second, "")
	l.Int(&n, "n", "X_N", 7, "")
	l.List(&list, "list", "X_LIST", nil, "")
	if err := l.Parse([]string{"-addr", ":9100"}); err != nil {
		t.Fatal(err)
	}
	if addr != ":9100" || wait != 2*time.Second || n != 7 || strings.Join(list, "|") != "a|b|c" {
		t.Errorf("addr %q wait %v n %d list %v", addr, wait, n, list)
	}
}

func TestEveryBadValueIsReportedAtOnce(t *testing.T) {
	var (
		wait time.Duration
		n    int
		b    bool
	)
	l := config.NewLoader("svc", env(map[string]string{"X_WAIT": "soon", "X_N": "many", "X_B": "perhaps"}), io.Discard)
	l.Duration(&wait, "wait", "X_WAIT", time.Second, "")
	l.Int(&n, "n", "X_N", 1, "")
	l.Bool(&b, "b", "X_B", false, "")
	err := l.Parse(nil)
	if err == nil {
		t.Fatal("accepted bad values")
	}
	for _, name := range []string{"X_WAIT", "X_N", "X_B"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
}

func TestCommonValidation(t *testing.T) {
	var c config.Common
	l := config.NewLoader("svc", env(map[string]string{"CONSENTRY_LOG_LEVEL": "loud", "CONSENTRY_SUBJECT_PEPPER": "%%%"}), io.Discard)
	l.RegisterCommon(&c, ":1")
	if err := l.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := c.Validate()
	for _, want := range []string{"CONSENTRY_POSTGRES_URL", "CONSENTRY_API_KEYS", "CONSENTRY_LOG_LEVEL", "CONSENTRY_SUBJECT_PEPPER"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation does not report %s: %v", want, err)
		}
	}
}

// TestExampleSecretsAreRefusedOffADevBox: deploy/compose.yaml's example secrets are
// public; a service refuses them unless told it runs on a dev box.
func TestExampleSecretsAreRefusedOffADevBox(t *testing.T) {
	vars := map[string]string{
		"CONSENTRY_API_KEYS":       "dev:dev-key-for-compose-only-0001:*:verify",
		"CONSENTRY_POSTGRES_URL":   "postgres://consentry:consentry-dev@postgres:5432/consentry",
		"CONSENTRY_SUBJECT_PEPPER": "Y29tcG9zZS1kZXYtcGVwcGVyLW5vdC1hLXNlY3JldC0wMDE=",
	}
	load := func(allow string) error {
		v := map[string]string{"CONSENTRY_ALLOW_EXAMPLE_SECRETS": allow}
		for k, x := range vars {
			v[k] = x
		}
		var c config.Common
		l := config.NewLoader("svc", env(v), io.Discard)
		l.RegisterCommon(&c, ":1")
		return l.Parse(nil)
	}
	err := load("")
	for name := range vars {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("an example %s was not refused: %v", name, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "compose-only") {
		t.Errorf("the refusal repeats the secret: %v", err)
	}
	if err := load("true"); err != nil {
		t.Errorf("a dev box was refused its example secrets: %v", err)
	}
	if config.IsExampleSecret("postgres://consentry:s3cret@db/consentry") || config.IsExampleSecret("prod:k-0123456789abcdef:*") {
		t.Error("an own secret was taken for an example")
	}
}
