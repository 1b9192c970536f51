package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/amplitude"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/fullstory"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/hubspot"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/linkedin"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/oauth"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/posthog"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/salesforce"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/sendgrid"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/webhook"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// instanceEnv reads one vendor instance's configuration. A setting comes from
// CONSENTRY_VENDOR_<NAME>_<KEY> when set, else from the routing file; a secret only ever
// from the environment, so credentials live in a Kubernetes Secret and never in the
// routing ConfigMap.
type instanceEnv struct {
	in     routing.Instance
	getenv func(string) string
	errs   []error
}

func (e *instanceEnv) name(key string) string {
	return "CONSENTRY_VENDOR_" + strings.ToUpper(strings.ReplaceAll(e.in.Name, "-", "_")) + "_" + strings.ToUpper(key)
}

func (e *instanceEnv) setting(key string) string {
	if v := e.getenv(e.name(key)); v != "" {
		return v
	}
	return e.in.Settings[key]
}

func (e *instanceEnv) secret(key string) string {
	v := e.getenv(e.name(key))
	if v == "" {
		e.errs = append(e.errs, fmt.Errorf("vendor %s: %s is required", e.in.Name, e.name(key)))
	}
	return v
}

// webhookChecks names the variables at fault in a webhook instance's settings: a plain
// http URL, no signing keys, or the per-instance HMAC secret of before, which every
// receiver held and so could sign with.
func (e *instanceEnv) webhookChecks(keys *webhooksig.Keys) {
	if u := e.setting("url"); u != "" {
		if err := webhooksig.CheckURL(u); err != nil {
			e.errs = append(e.errs, fmt.Errorf("vendor %s: %s (or the routing file's url): %w", e.in.Name, e.name("url"), err))
		}
	}
	if keys == nil {
		e.errs = append(e.errs, fmt.Errorf("vendor %s: CONSENTRY_WEBHOOK_SIGNING_KEYS is required to sign webhooks (id:whsk_<base64>, docs/webhooks.md)", e.in.Name))
	}
	if e.getenv(e.name("secret")) != "" || e.setting("key_id") != "" {
		e.errs = append(e.errs, fmt.Errorf("vendor %s: %s and %s are no longer read: webhooks are signed with "+
			"CONSENTRY_WEBHOOK_SIGNING_KEYS and verified with the public keys at GET /.well-known/webhook-keys; remove both (docs/webhooks.md)",
			e.in.Name, e.name("secret"), e.name("key_id")))
	}
}

// optional is a secret that may be absent.
func (e *instanceEnv) optional(key string) string { return e.getenv(e.name(key)) }

// tokens returns a renewing token source when the instance is configured for one: a
// refresh token (CONSENTRY_VENDOR_<NAME>_REFRESH_TOKEN with _CLIENT_ID and
// _CLIENT_SECRET), or for Salesforce a JWT bearer key (_PRIVATE_KEY, PEM, with
// _CLIENT_ID and the setting username). nil means the static token of the vendor's
// token variable. tokenURL is the vendor's documented token endpoint.
func (e *instanceEnv) tokens(tokenURL string, secretRequired bool, client *http.Client) *oauth.Source {
	var lifetime time.Duration
	if v := e.setting("token_lifetime"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			e.errs = append(e.errs, fmt.Errorf("vendor %s: %s must be a duration", e.in.Name, e.name("token_lifetime")))
		}
		lifetime = d
	}
	opts := oauth.Options{Lifetime: lifetime}
	if u := e.setting("token_url"); u != "" {
		tokenURL = u
	}
	if rt := e.optional("refresh_token"); rt != "" {
		cfg := oauth.RefreshConfig{TokenURL: tokenURL, ClientID: e.setting("client_id"), RefreshToken: rt, HTTP: client}
		if secretRequired {
			cfg.ClientSecret = e.secret("client_secret")
		} else {
			cfg.ClientSecret = e.optional("client_secret")
		}
		if cfg.ClientID == "" {
			e.errs = append(e.errs, fmt.Errorf("vendor %s: %s is required with a refresh token", e.in.Name, e.name("client_id")))
		}
		return oauth.Renewing(oauth.RefreshFlow(cfg), opts)
	}
	if e.in.Type == "salesforce" {
		if pk := e.optional("private_key"); pk != "" {
			key, err := oauth.ParseRSAKey(pk)
			if err != nil {
				e.errs = append(e.errs, fmt.Errorf("vendor %s: %s: %w", e.in.Name, e.name("private_key"), err))
			}
			login := e.setting("login_url")
			if login == "" {
				login = "https://login.salesforce.com"
			}
			cfg := oauth.JWTBearerConfig{LoginURL: login, Audience: e.setting("audience"), ClientID: e.setting("client_id"),
				Username: e.setting("username"), Key: key, HTTP: client}
			if cfg.ClientID == "" || cfg.Username == "" {
				e.errs = append(e.errs, fmt.Errorf("vendor %s: %s and %s are required with a private key", e.in.Name, e.name("client_id"), e.name("username")))
			}
			return oauth.Renewing(oauth.JWTBearerFlow(cfg), opts)
		}
	}
	return nil
}

// buildAdapters builds the adapter of every instance that has an API, reporting every
// missing setting at once.
func buildAdapters(t *routing.Table, getenv func(string) string, timeout time.Duration, webhookKeys *webhooksig.Keys) (map[string]vendor.Adapter, error) {
	client := &http.Client{Transport: vendorTransport(t), Timeout: timeout}

	out := map[string]vendor.Adapter{}
	var errs []error
	for _, in := range t.Instances {
		if in.Manual != nil {
			continue
		}
		e := &instanceEnv{in: in, getenv: getenv}
		var (
			a   vendor.Adapter
			err error
		)
		base := e.setting("base_url")
		switch in.Type {
		case "hubspot":
			cfg := hubspot.Config{BaseURL: base, HTTP: client}
			if cfg.Tokens = e.tokens(strings.TrimRight(base, "/")+"/oauth/v1/token", true, client); cfg.Tokens == nil {
				cfg.Token = e.secret("token")
			}
			if z := e.setting("daily_limit_zone"); z != "" {
				if cfg.DailyLimitZone, err = time.LoadLocation(z); err != nil {
					err = fmt.Errorf("%s: %w", e.name("daily_limit_zone"), err)
					break
				}
			}
			a, err = hubspot.New(cfg)
		case "amplitude":
			a, err = amplitude.New(amplitude.Config{BaseURL: base, APIKey: e.secret("api_key"), SecretKey: e.secret("secret_key"),
				Requester: e.setting("requester"), HTTP: client})
		case "posthog":
			a, err = posthog.New(posthog.Config{BaseURL: base, APIKey: e.secret("api_key"), ProjectID: e.setting("project_id"), HTTP: client})
		case "fullstory":
			a, err = fullstory.New(fullstory.Config{BaseURL: base, APIKey: e.secret("api_key"), HTTP: client})
		case "salesforce":
			cfg := salesforce.Config{BaseURL: base, APIVersion: e.setting("api_version"), Object: e.setting("object"), HTTP: client}
			login := e.setting("login_url")
			if login == "" {
				login = "https://login.salesforce.com"
			}
			if cfg.Tokens = e.tokens(strings.TrimRight(login, "/")+"/services/oauth2/token", false, client); cfg.Tokens == nil {
				cfg.AccessToken = e.secret("access_token")
			}
			if v := e.setting("api_usage_threshold"); v != "" {
				if cfg.UsageThreshold, err = strconv.ParseFloat(v, 64); err != nil {
					err = fmt.Errorf("%s must be a number in (0, 1]", e.name("api_usage_threshold"))
					break
				}
			}
			a, err = salesforce.New(cfg)
		case "linkedin":
			var sunset time.Time
			if v := e.setting("version_sunset"); v != "" {
				if sunset, err = time.Parse(time.DateOnly, v); err != nil {
					err = fmt.Errorf("%s: want YYYY-MM-DD: %w", e.name("version_sunset"), err)
					break
				}
			}
			cfg := linkedin.Config{BaseURL: base, SegmentID: e.setting("segment_id"), Version: e.setting("version"), VersionSunset: sunset, HTTP: client}
			if cfg.Tokens = e.tokens("https://www.linkedin.com/oauth/v2/accessToken", true, client); cfg.Tokens == nil {
				cfg.AccessToken = e.secret("access_token")
			}
			a, err = linkedin.New(cfg)
		case "sendgrid":
			a, err = sendgrid.New(sendgrid.Config{BaseURL: base, APIKey: e.secret("api_key"), HTTP: client})
		case "webhook":
			e.webhookChecks(webhookKeys)
			a, err = webhook.New(webhook.Config{URL: e.setting("url"), Keys: webhookKeys, HTTP: client})
		default:
			err = fmt.Errorf("unknown vendor type %q", in.Type)
		}
		errs = append(errs, e.errs...)
		if len(e.errs) == 0 && err != nil {
			errs = append(errs, fmt.Errorf("vendor %s: %w", in.Name, err))
		}
		if a != nil {
			out[in.Name] = a
		}
	}
	return out, errors.Join(errs...)
}

// vendorTransport is the one HTTP transport of all vendor calls. It keeps as many idle
// connections as the lanes can have calls in flight: several instances may share a host
// (hubspot and hubspot-eu both call api.hubapi.com), and a call that finds no idle
// connection dials a new one that is closed afterwards: with 16 per host, ten lanes of
// eight calls at the simulator dialed ~20,000 connections in a minute (a profile showed
// their buffers), each leaving a port in TIME_WAIT.
func vendorTransport(t *routing.Table) *http.Transport {
	inFlight := 0
	for _, in := range t.Instances {
		if in.Manual == nil {
			inFlight += in.Concurrency
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = max(16, inFlight)
	transport.MaxIdleConns = max(transport.MaxIdleConns, inFlight)
	return transport
}
