package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/seal"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func masterKey(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// TestRewrapCommand is the rotation as deploy/README.md tells an operator to do it.
func TestRewrapCommand(t *testing.T) {
	ctx := context.Background()
	url := testkit.Postgres(t)
	k1, k2 := masterKey("k1", 1), masterKey("k2", 2)
	ids := seal.Identifiers{Email: "ada@example.com"}
	sealed, err := testkit.Sealer(t, url, k1).Seal(ctx, "consumer", "sk1", ids)
	if err != nil {
		t.Fatal(err)
	}

	env := map[string]string{"CONSENTRY_POSTGRES_URL": url, "CONSENTRY_MASTER_KEYS": k2 + "," + k1}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"rewrap", "-batch", "10"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rewrapped 1 data keys") || !strings.Contains(out.String(), `"k2"`) {
		t.Errorf("output %q", out.String())
	}
	if strings.Contains(out.String()+errOut.String(), strings.TrimPrefix(k1, "k1:")) {
		t.Error("the output shows a master key")
	}
	if got, err := testkit.Sealer(t, url, k2).Open(ctx, "consumer", "sk1", sealed); err != nil || got.Email != ids.Email {
		t.Errorf("with k2 alone after the rewrap: %+v, %v", got, err)
	}
}

func TestRewrapCommandRefusesBadConfiguration(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want []string
	}{
		"no subcommand": {nil, nil, []string{"usage"}},
		"nothing set":   {[]string{"rewrap"}, nil, []string{"CONSENTRY_POSTGRES_URL", "CONSENTRY_MASTER_KEYS"}},
		"bad keys and batch": {[]string{"rewrap", "-batch", "0"}, map[string]string{"CONSENTRY_POSTGRES_URL": "postgres://x", "CONSENTRY_MASTER_KEYS": "k2:c2VjcmV0"},
			[]string{"-batch", `"k2"`}},
	} {
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want an error naming %s", name, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}
