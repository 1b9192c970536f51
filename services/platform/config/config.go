// Package config reads a service's configuration from the environment, with command-line
// flags as overrides, and reports every problem at once.
//
// Secrets are read from the environment only: a flag would show them in `ps`.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Loader registers settings and parses them. Each setting's flag defaults to its
// environment variable, which defaults to the built-in default.
type Loader struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

// NewLoader returns a Loader for the named program.
func NewLoader(program string, getenv func(string) string, usageOut io.Writer) *Loader {
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	return &Loader{fs: fs, getenv: getenv}
}

func (l *Loader) env(name string) (string, bool) {
	v := l.getenv(name)
	return v, v != ""
}

func (l *Loader) badEnv(name, want string) {
	l.errs = append(l.errs, fmt.Errorf("%s: not %s", name, want))
}

// String registers a string setting.
func (l *Loader) String(p *string, flagName, envName, def, usage string) {
	if v, ok := l.env(envName); ok {
		def = v
	}
	l.fs.StringVar(p, flagName, def, usage+" ($"+envName+")")
}

// Int registers an integer setting.
func (l *Loader) Int(p *int, flagName, envName string, def int, usage string) {
	if v, ok := l.env(envName); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			l.badEnv(envName, "an integer")
		} else {
			def = n
		}
	}
	l.fs.IntVar(p, flagName, def, usage+" ($"+envName+")")
}

// Bool registers a boolean setting.
func (l *Loader) Bool(p *bool, flagName, envName string, def bool, usage string) {
	if v, ok := l.env(envName); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			l.badEnv(envName, "a boolean")
		} else {
			def = b
		}
	}
	l.fs.BoolVar(p, flagName, def, usage+" ($"+envName+")")
}

// Duration registers a duration setting ("250ms", "30s").
func (l *Loader) Duration(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
	if v, ok := l.env(envName); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			l.badEnv(envName, "a duration such as 30s")
		} else {
			def = d
		}
	}
	l.fs.DurationVar(p, flagName, def, usage+" ($"+envName+")")
}

// List registers a comma-separated list.
func (l *Loader) List(p *[]string, flagName, envName string, def []string, usage string) {
	if v, ok := l.env(envName); ok {
		def = SplitList(v)
	}
	*p = def
	l.fs.Func(flagName, usage+" (comma-separated; $"+envName+")", func(s string) error {
		*p = SplitList(s)
		return nil
	})
}

// Secret reads a secret from the environment only.
//
// A secret holding one of deploy/compose.yaml's example values is refused unless
// CONSENTRY_ALLOW_EXAMPLE_SECRETS=true says this is a dev box: those values are public,
// and a stack started from that file elsewhere would run on them.
func (l *Loader) Secret(p *string, envName string) {
	*p, _ = l.env(envName)
	if *p != "" && IsExampleSecret(*p) && l.getenv(AllowExampleSecretsEnv) != "true" {
		l.errs = append(l.errs, fmt.Errorf("%s holds an example value of deploy/compose.yaml, which is public: set your own, "+
			"or %s=true on a dev box", envName, AllowExampleSecretsEnv))
	}
}

// AllowExampleSecretsEnv lets a dev box run on deploy/compose.yaml's example secrets.
const AllowExampleSecretsEnv = "CONSENTRY_ALLOW_EXAMPLE_SECRETS"

// ExampleSecrets are the secret values deploy/compose.yaml falls back on when .env sets
// none (e2e-containers checks that the file's defaults are exactly these).
var ExampleSecrets = []string{
	":consentry-dev@", // POSTGRES_PASSWORD, as CONSENTRY_POSTGRES_URL holds it
	"dev-key-for-compose-only-0001",
	"acme-key-for-compose-only-001",
	"ops-key-for-compose-only-0001",
	"Y29tcG9zZS1kZXYtcGVwcGVyLW5vdC1hLXNlY3JldC0wMDE=",
	"Y29tcG9zZS1kZXYtbWFzdGVyLWtleS0zMi1ieXRlcyE=",
	"Y29tcG9zZS1kZXYtbGluay1rZXktMzItYnl0ZXMtMDAwMDE=",
}

// IsExampleSecret reports whether v holds one of ExampleSecrets (as a whole, or as a
// part of a list or URL: a key spec, a password in a URL).
func IsExampleSecret(v string) bool {
	for _, e := range ExampleSecrets {
		if strings.Contains(v, e) {
			return true
		}
	}
	return false
}

// Parse parses args and returns every problem found in the environment and the flags.
func (l *Loader) Parse(args []string) error {
	if err := l.fs.Parse(args); err != nil {
		l.errs = append(l.errs, err)
	}
	return errors.Join(l.errs...)
}

// SplitList splits on commas and drops empty, space-only items.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Require returns an error naming envName when v is empty.
func Require(v, envName string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is required", envName)
	}
	return nil
}
