package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // deadline zones must resolve in a minimal image with no zoneinfo

	"github.com/consentry/consentry/platform/config"
	"github.com/consentry/consentry/platform/ratelimit"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
	"github.com/consentry/consentry/services/consent-ingest/internal/requests"
)

type serviceConfig struct {
	config.Common
	Kafka         config.Kafka
	Registry      config.Registry
	MasterKeys    string
	PolicyVersion string
	MaxBatch      int
	MaxInFlight   int
	Requests      requestsConfig
	Verify        verifyLimits
	CMPMappings   string
	cmpTables     cmp.Tables
	Ingest        ingestConfig
}

// ingestConfig is which Kafka topics product services submit consents on, and which
// tenants each may speak for: a Customer's own topic, writable only by its producers
// under broker ACLs, speaks only for that Customer (docs/kafka-ingest.md).
type ingestConfig struct {
	raw          string
	Topics       map[string][]string
	MaxRetention time.Duration
}

func parseIngestTopics(spec string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, entry := range config.SplitList(spec) {
		topic, list, ok := strings.Cut(entry, "=")
		if !ok || topic == "" || list == "" {
			return nil, fmt.Errorf("CONSENTRY_INGEST_TOPICS: entry %q: want topic=tenant|tenant", entry)
		}
		if _, dup := out[topic]; dup {
			return nil, fmt.Errorf("CONSENTRY_INGEST_TOPICS: topic %s is listed twice", topic)
		}
		for _, tenant := range strings.Split(list, "|") {
			if tenant == "" || tenant == "*" {
				return nil, fmt.Errorf("CONSENTRY_INGEST_TOPICS: %s: name each tenant the topic may speak for", topic)
			}
			out[topic] = append(out[topic], tenant)
		}
	}
	return out, nil
}

// verifyLimits bound the public verification page, the one route of the service that
// faces the internet without a key.
type verifyLimits struct {
	Rate        int // requests per minute per client address
	Burst       int
	MaxInFlight int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client;
	// without them the peer address is the client.
	TrustedProxies []netip.Prefix
	trustedRaw     []string
}

// requestsConfig is how privacy requests are verified, forwarded and timed.
type requestsConfig struct {
	LinkKeys         string
	VerifyBaseURL    string
	VerifyTTL        time.Duration
	SenderURL        string
	ControllerURLs   string
	WebhookKeys      string
	legacyWebhook    [2]string // CONSENTRY_WEBHOOK_SECRET and _KEY_ID, refused with a way forward
	Jurisdictions    string
	DeadlineZone     string
	LegitInterest    string
	parsedZone       *time.Location
	parsedLinks      *lifecycle.LinkKeys
	parsedLaw        tenantMap
	parsedLI         tenantMap
	parsedController tenantMap
	parsedWebhook    *webhooksig.Keys
}

// tenantMap is a per-tenant setting with "*" as the fallback: "acme=x,*=y".
type tenantMap map[string]string

func parseTenantMap(name, spec string) (tenantMap, error) {
	m := tenantMap{}
	for _, entry := range config.SplitList(spec) {
		tenant, v, ok := strings.Cut(entry, "=")
		if !ok || tenant == "" || v == "" {
			return nil, fmt.Errorf("%s: entry %q: want tenant=value (tenant * for every other)", name, entry)
		}
		m[tenant] = v
	}
	return m, nil
}

func (m tenantMap) get(tenant string) string {
	if v, ok := m[tenant]; ok {
		return v
	}
	return m["*"]
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	l := config.NewLoader("consent-ingest", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8081")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	l.Secret(&c.MasterKeys, "CONSENTRY_MASTER_KEYS")
	l.String(&c.PolicyVersion, "policy-version", "CONSENTRY_POLICY_VERSION", "2025-04-09",
		"privacy policy version recorded on requests that do not name one")
	l.Int(&c.MaxBatch, "max-batch", "CONSENTRY_MAX_BATCH", 1000, "most consents accepted in one request")
	l.Int(&c.MaxInFlight, "max-in-flight", "CONSENTRY_MAX_IN_FLIGHT", 64,
		"requests handled at once; more are answered 503 with Retry-After, which bounds memory under overload")
	v := &c.Verify
	l.Int(&v.Rate, "verify-rate", "CONSENTRY_VERIFY_RATE", 30, "requests per minute per client address on /verify/ pages")
	l.Int(&v.Burst, "verify-burst", "CONSENTRY_VERIFY_BURST", 10, "burst of requests per client address on /verify/ pages")
	l.Int(&v.MaxInFlight, "verify-max-in-flight", "CONSENTRY_VERIFY_MAX_IN_FLIGHT", 16,
		"/verify/ requests handled at once, out of CONSENTRY_MAX_IN_FLIGHT; more are answered 503, so that the public page cannot take the API's share")
	l.List(&v.trustedRaw, "trusted-proxies", "CONSENTRY_TRUSTED_PROXIES", nil,
		"CIDRs of reverse proxies whose X-Forwarded-For is trusted for the client address")
	r := &c.Requests
	l.Secret(&r.LinkKeys, "CONSENTRY_LINK_KEYS")
	l.String(&r.VerifyBaseURL, "verify-base-url", "CONSENTRY_VERIFY_BASE_URL", "",
		"public URL of this service that verification links point at (default http://<http-addr>)")
	l.Duration(&r.VerifyTTL, "verify-ttl", "CONSENTRY_VERIFY_TTL", 72*time.Hour,
		"how long a verification link stays valid; an unverified request is then rejected")
	l.String(&r.SenderURL, "verification-sender-url", "CONSENTRY_VERIFICATION_SENDER_URL", "",
		"webhook that emails verification links to people (signed JSON POST); without it only verified requests are taken")
	l.String(&r.ControllerURLs, "controller-webhooks", "CONSENTRY_CONTROLLER_WEBHOOKS", "",
		"per enterprise tenant, the Customer's webhook that receives its users' requests: acme=https://…,globex=https://…")
	l.Secret(&r.WebhookKeys, "CONSENTRY_WEBHOOK_SIGNING_KEYS")
	l.Secret(&r.legacyWebhook[0], "CONSENTRY_WEBHOOK_SECRET")
	l.Secret(&r.legacyWebhook[1], "CONSENTRY_WEBHOOK_KEY_ID")
	l.String(&r.Jurisdictions, "jurisdictions", "CONSENTRY_JURISDICTIONS", "*=gdpr",
		"law a tenant's requests are timed under unless a request names one: consumer=gdpr,acme=ccpa,*=gdpr")
	l.String(&r.DeadlineZone, "deadline-zone", "CONSENTRY_DEADLINE_ZONE", "UTC",
		"IANA zone whose calendar counts deadline days (the controller's establishment)")
	l.String(&r.LegitInterest, "legitimate-interest-purposes", "CONSENTRY_LEGITIMATE_INTEREST_PURPOSES",
		"*=analytics|personalization", "per tenant, the purposes an objection to legitimate-interest processing denies")
	l.String(&c.CMPMappings, "cmp-mappings", "CONSENTRY_CMP_MAPPINGS", "",
		`per tenant, how TC and GPP strings map to purposes, as JSON: {"acme": {"tcf": {...}, "gpp": {...}}, "*": ...}; unset, every tenant gets the table of docs/cmp-signals.md`)
	l.String(&c.Ingest.raw, "ingest-topics", "CONSENTRY_INGEST_TOPICS", "",
		"Kafka topics product services submit consents on, each with the tenants it may speak for: consent.ingest.v1=consumer,customer.acme.ingest.v1=acme (none: no Kafka submissions)")
	l.Duration(&c.Ingest.MaxRetention, "ingest-max-retention", "CONSENTRY_INGEST_MAX_RETENTION", time.Hour,
		"longest retention.ms an ingest topic may have; submissions carry identifiers in clear, so the service refuses to start when a topic keeps them longer")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	errs := []error{c.Common.Validate(), c.Kafka.Validate()}
	if t, err := parseIngestTopics(c.Ingest.raw); err != nil {
		errs = append(errs, err)
	} else {
		c.Ingest.Topics = t
	}
	if c.Ingest.MaxRetention <= 0 {
		errs = append(errs, errors.New("CONSENTRY_INGEST_MAX_RETENTION must be positive"))
	}
	if c.MasterKeys == "" {
		errs = append(errs, errors.New("CONSENTRY_MASTER_KEYS is required (id:base64 of 32 bytes)"))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, errors.New("CONSENTRY_MAX_BATCH must be at least 1"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("CONSENTRY_MAX_IN_FLIGHT must be at least 1"))
	}
	if v.Rate < 1 || v.Burst < 1 || v.MaxInFlight < 1 {
		errs = append(errs, errors.New("CONSENTRY_VERIFY_RATE, CONSENTRY_VERIFY_BURST and CONSENTRY_VERIFY_MAX_IN_FLIGHT must be at least 1"))
	}
	if p, err := ratelimit.ParsePrefixes(v.trustedRaw); err != nil {
		errs = append(errs, errors.New("CONSENTRY_TRUSTED_PROXIES must list CIDR prefixes or addresses"))
	} else {
		v.TrustedProxies = p
	}
	if strings.TrimSpace(c.CMPMappings) != "" {
		t, err := cmp.ParseTables([]byte(c.CMPMappings))
		if err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_CMP_MAPPINGS: %w", err))
		}
		c.cmpTables = t
	}
	errs = append(errs, r.parse(c.HTTPAddr)...)
	return c, errors.Join(errs...)
}

func (r *requestsConfig) parse(httpAddr string) []error {
	var errs []error
	var err error
	if r.LinkKeys != "" {
		if r.parsedLinks, err = lifecycle.ParseLinkKeys(r.LinkKeys); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_LINK_KEYS: %w", err))
		}
	}
	if r.VerifyBaseURL == "" {
		r.VerifyBaseURL = "http://" + httpAddr
	}
	if r.VerifyTTL < time.Second {
		errs = append(errs, errors.New("CONSENTRY_VERIFY_TTL must be at least a second"))
	}
	if r.SenderURL != "" && r.parsedLinks == nil {
		errs = append(errs, errors.New("CONSENTRY_VERIFICATION_SENDER_URL needs CONSENTRY_LINK_KEYS to sign the links"))
	}
	if r.legacyWebhook != [2]string{} {
		// The shared HMAC secret let every receiver sign what the others receive; failing
		// here beats starting with webhooks no receiver can verify any more.
		errs = append(errs, errors.New("CONSENTRY_WEBHOOK_SECRET and CONSENTRY_WEBHOOK_KEY_ID are no longer read: "+
			"webhooks are signed with Ed25519 keys only Consentry holds. Set CONSENTRY_WEBHOOK_SIGNING_KEYS (id:whsk_<base64>), "+
			"point receivers at GET /.well-known/webhook-keys, and remove both variables (docs/webhooks.md)"))
	}
	if r.WebhookKeys != "" {
		if r.parsedWebhook, err = webhooksig.ParseKeys(r.WebhookKeys); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_WEBHOOK_SIGNING_KEYS: %w", err))
		}
	} else if r.SenderURL != "" || r.ControllerURLs != "" {
		errs = append(errs, errors.New("CONSENTRY_WEBHOOK_SIGNING_KEYS is required to sign the webhooks configured (id:whsk_<base64>, docs/webhooks.md)"))
	}
	if r.SenderURL != "" {
		if err := webhooksig.CheckURL(r.SenderURL); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_VERIFICATION_SENDER_URL: %w", err))
		}
	}
	if r.parsedController, err = parseTenantMap("CONSENTRY_CONTROLLER_WEBHOOKS", r.ControllerURLs); err != nil {
		errs = append(errs, err)
	}
	for tenant, u := range r.parsedController {
		if err := webhooksig.CheckURL(u); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_CONTROLLER_WEBHOOKS: %s: %w", tenant, err))
		}
	}
	if r.parsedLaw, err = parseTenantMap("CONSENTRY_JURISDICTIONS", r.Jurisdictions); err != nil {
		errs = append(errs, err)
	}
	for tenant, law := range r.parsedLaw {
		if !slices.Contains(ingest.Jurisdictions, law) {
			errs = append(errs, fmt.Errorf("CONSENTRY_JURISDICTIONS: %s=%s: want one of %s", tenant, law, strings.Join(ingest.Jurisdictions, ", ")))
		}
	}
	if r.parsedLI, err = parseTenantMap("CONSENTRY_LEGITIMATE_INTEREST_PURPOSES", r.LegitInterest); err != nil {
		errs = append(errs, err)
	}
	for tenant, list := range r.parsedLI {
		for _, p := range strings.Split(list, "|") {
			if !slices.Contains(schemas.Purposes, p) || p == schemas.PurposeEssential {
				errs = append(errs, fmt.Errorf("CONSENTRY_LEGITIMATE_INTEREST_PURPOSES: %s: %q is not a purpose that can be denied", tenant, p))
			}
		}
	}
	if r.parsedZone, err = time.LoadLocation(r.DeadlineZone); err != nil {
		errs = append(errs, fmt.Errorf("CONSENTRY_DEADLINE_ZONE: %w", err))
	}
	return errs
}

// flowConfig is what the request workflow needs of the parsed configuration.
func (r requestsConfig) flowConfig() requests.Config {
	return requests.Config{
		Links: r.parsedLinks, VerifyBaseURL: r.VerifyBaseURL, VerifyTTL: r.VerifyTTL, SenderURL: r.SenderURL, Zone: r.parsedZone,
		ControllerURL: r.parsedController.get,
		LegitimateInterest: func(tenant string) []string {
			if v := r.parsedLI.get(tenant); v != "" {
				return strings.Split(v, "|")
			}
			return nil
		},
	}
}
