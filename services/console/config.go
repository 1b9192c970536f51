package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/consentry/consentry/services/console/internal/roles"
)

// config is the console's environment (docs/console.md lists it).
type config struct {
	Addr      string
	PublicURL *url.URL

	Issuer, ClientID, ClientSecret string
	RolesClaim, ActorClaim         string
	Roles                          roles.Mapping

	SessionKey []byte

	IngestURL, UnsubscribeURL, FanoutURL, AuditURL string
	APIKey                                         string
	ControllerKeys                                 map[string]string
}

func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	need := func(name string) string {
		v := get(name, "")
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
		return v
	}
	c := config{
		Addr:           get("CONSOLE_HTTP_ADDR", ":8086"),
		Issuer:         need("CONSOLE_OIDC_ISSUER"),
		ClientID:       need("CONSOLE_OIDC_CLIENT_ID"),
		ClientSecret:   get("CONSOLE_OIDC_CLIENT_SECRET", ""),
		RolesClaim:     get("CONSOLE_OIDC_ROLES_CLAIM", "groups"),
		ActorClaim:     get("CONSOLE_OIDC_ACTOR_CLAIM", "preferred_username"),
		IngestURL:      strings.TrimRight(need("CONSOLE_INGEST_URL"), "/"),
		UnsubscribeURL: strings.TrimRight(need("CONSOLE_UNSUBSCRIBE_URL"), "/"),
		FanoutURL:      strings.TrimRight(need("CONSOLE_FANOUT_URL"), "/"),
		AuditURL:       strings.TrimRight(need("CONSOLE_AUDIT_URL"), "/"),
		APIKey:         need("CONSOLE_API_KEY"),
		ControllerKeys: map[string]string{},
	}
	if pub := need("CONSOLE_PUBLIC_URL"); pub != "" {
		u, err := url.Parse(strings.TrimRight(pub, "/"))
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, errors.New("CONSOLE_PUBLIC_URL must be an absolute http(s) URL"))
		case u.Scheme == "http" && !loopback(u.Hostname()):
			// Session cookies over plain HTTP would travel in the clear.
			errs = append(errs, errors.New("CONSOLE_PUBLIC_URL must be https (plain http only on a loopback address, for make run)"))
		default:
			c.PublicURL = u
		}
	}
	if spec := need("CONSOLE_ROLE_GROUPS"); spec != "" {
		m, err := roles.ParseMapping(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONSOLE_ROLE_GROUPS: %w", err))
		}
		c.Roles = m
	}
	if k := need("CONSOLE_SESSION_KEY"); k != "" {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(key) != 32 {
			errs = append(errs, errors.New("CONSOLE_SESSION_KEY must be 32 bytes in standard base64 (openssl rand -base64 32)"))
		}
		c.SessionKey = key
	}
	for i, entry := range strings.Split(getenv("CONSOLE_CONTROLLER_KEYS"), ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		tenant, key, ok := strings.Cut(entry, "=")
		if !ok || tenant == "" || key == "" {
			errs = append(errs, fmt.Errorf("CONSOLE_CONTROLLER_KEYS: entry %d: want tenant=api-key", i+1))
			continue
		}
		c.ControllerKeys[tenant] = key
	}
	return c, errors.Join(errs...)
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
