package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/consentry/consentry/devkit/oidcdev"
)

// ConsolePermissions are the console's all-tenant key's: what its screens read and do,
// and actor, so the services record the signed-in person (docs/console.md).
const ConsolePermissions = "operator|requests:read|requests:manage|subjects:read|suppressions:read|tasks:read|tasks:write|identifiers:read|dead-letters:read|actor"

// AcmeConsolePermissions are the console's key for the demo Customer acme: its own
// controller credential, as a Customer would hand its privacy desk, plus actor.
const AcmeConsolePermissions = "requests:read|requests:manage|controller|actor"

// consoleKeys are the API key entries of the console's keys.
func (s *Stack) consoleKeys() string {
	return ",console:" + s.secrets.ConsoleKey + ":*:" + ConsolePermissions + ",acme-console:" + s.secrets.ConsoleAcmeKey + ":acme:" + AcmeConsolePermissions
}

// ConsoleURL returns the console's URL; IdentityProviderURL the development provider's.
func (s *Stack) ConsoleURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.Console) }

// IdentityProviderURL returns the development OpenID Connect provider's URL.
func (s *Stack) IdentityProviderURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.Ports.IdP)
}

// startConsole starts the development identity provider in this process and the console
// as a process of its own, configured as in production but for the provider.
func (s *Stack) startConsole(ctx context.Context) error {
	idp, err := oidcdev.New(oidcdev.Config{Issuer: s.IdentityProviderURL(), ClientID: "consentry-console",
		ClientSecret: s.secrets.ConsoleClientSecret, RedirectURIs: []string{s.ConsoleURL() + "/auth/callback"}})
	if err != nil {
		return err
	}
	if err := s.listen(s.cfg.Ports.IdP, idp.Handler()); err != nil {
		return fmt.Errorf("stack: identity provider: %w", err)
	}
	path := filepath.Join(s.cfg.BinDir, "console")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("stack: console binary: %w (run make build)", err)
	}
	f, err := os.OpenFile(s.LogPath("console"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.logFiles = append(s.logFiles, f)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CONSOLE_HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", s.cfg.Ports.Console),
		"CONSOLE_PUBLIC_URL=" + s.ConsoleURL(),
		"CONSOLE_OIDC_ISSUER=" + s.IdentityProviderURL(),
		"CONSOLE_OIDC_CLIENT_ID=consentry-console",
		"CONSOLE_OIDC_CLIENT_SECRET=" + s.secrets.ConsoleClientSecret,
		"CONSOLE_ROLE_GROUPS=" + oidcdev.RoleGroups,
		"CONSOLE_SESSION_KEY=" + s.secrets.ConsoleSessionKey,
		"CONSOLE_INGEST_URL=" + s.URL("consent-ingest"),
		"CONSOLE_UNSUBSCRIBE_URL=" + s.URL("unsubscribe-handler"),
		"CONSOLE_FANOUT_URL=" + s.URL("vendor-fanout"),
		"CONSOLE_AUDIT_URL=" + s.URL("audit-sink"),
		"CONSOLE_API_KEY=" + s.secrets.ConsoleKey,
		"CONSOLE_CONTROLLER_KEYS=acme=" + s.secrets.ConsoleAcmeKey,
	}
	p := &process{name: "console", path: path, env: env, out: f, log: s.log, maxBackoff: s.cfg.RestartBackoffMax}
	s.mu.Lock()
	s.procs["console"] = p
	s.mu.Unlock()
	p.start(ctx)
	deadline := time.Now().Add(time.Minute)
	// A client of its own: tests may validate http.DefaultClient's traffic against the
	// four APIs' OpenAPI documents, and the console's /healthz (204) is none of theirs.
	probe := &http.Client{Transport: http.DefaultTransport, Timeout: 5 * time.Second}
	for {
		resp, err := probe.Get(s.ConsoleURL() + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("stack: the console did not start; its last words:\n" + tail(s.LogPath("console"), 10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
