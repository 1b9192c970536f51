package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/consentry/consentry/platform/config"
	"github.com/consentry/consentry/platform/ratelimit"
	"github.com/consentry/consentry/platform/webhooksig"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotcontacts"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotevents"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/sendgridsig"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/token"
)

type serviceConfig struct {
	config.Common
	Kafka         config.Kafka
	Registry      config.Registry
	MasterKeys    string
	LinkKeys      *token.Keys
	linkKeysRaw   string
	PublicURL     string
	Mailto        string
	LinkTTL       time.Duration
	PolicyVersion string
	EmailTopics   []string
	PublicRate    int // requests per minute per client on the public pages
	PublicBurst   int
	// OneClickRate and OneClickBurst limit one-click POSTs per link (per minute).
	OneClickRate  int
	OneClickBurst int
	// SenderURL is the webhook that mails confirmation links (double opt-in); without it
	// the preference center can withdraw but not grant.
	SenderURL     string
	WebhookKeys   string
	parsedWebhook *webhooksig.Keys
	legacyWebhook [2]string
	ConfirmTTL    time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client;
	// without them the peer address is the client.
	TrustedProxies []netip.Prefix
	trustedRaw     []string
	// SendGridKeys verify SendGrid's signed Event Webhook, per tenant; a tenant without
	// one has no signed route.
	SendGridKeys    map[string]*ecdsa.PublicKey
	sendGridKeysRaw []string
	// SendGridGroups maps a tenant's SendGrid unsubscribe group (asm_group_id) to an email
	// topic; a group_unsubscribe from an unmapped group opts out of all marketing email.
	SendGridGroups    map[string]map[int64]string
	sendGridGroupsRaw []string
	// HubSpotSecrets are the client secrets of each tenant's HubSpot app, which sign its
	// webhook (signature v3); a tenant without one has no HubSpot route.
	HubSpotSecrets    map[string][]byte
	hubSpotSecretsRaw string
	// HubSpotTokens read a contact's address from the tenant's HubSpot account, since
	// HubSpot's events name the contact by record ID only.
	HubSpotTokens    map[string]string
	hubSpotTokensRaw string
	HubSpotBaseURL   string
	// HubSpotProperties are the contact properties whose change to "true" is an opt-out
	// of all marketing email: hs_email_optout and those configured.
	HubSpotProperties    hubspotevents.Properties
	hubSpotPropertiesRaw []string
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	l := config.NewLoader("unsubscribe-handler", getenv, stderr)
	l.RegisterCommon(&c.Common, ":8082")
	l.RegisterKafka(&c.Kafka)
	l.RegisterRegistry(&c.Registry)
	l.Secret(&c.MasterKeys, "CONSENTRY_MASTER_KEYS")
	l.Secret(&c.linkKeysRaw, "CONSENTRY_LINK_KEYS")
	l.String(&c.PublicURL, "public-url", "CONSENTRY_PUBLIC_URL", "http://127.0.0.1:8082", "base URL of the public pages, as recipients reach it")
	l.String(&c.Mailto, "unsubscribe-mailto", "CONSENTRY_UNSUBSCRIBE_MAILTO", "", "address for the mailto: List-Unsubscribe alternative (optional)")
	l.Duration(&c.LinkTTL, "link-ttl", "CONSENTRY_LINK_TTL", 90*24*time.Hour, "how long an unsubscribe link stays valid")
	l.String(&c.PolicyVersion, "policy-version", "CONSENTRY_POLICY_VERSION", "2025-04-09", "privacy policy version recorded on one-click events")
	l.List(&c.EmailTopics, "email-topics", "CONSENTRY_EMAIL_TOPICS", []string{"newsletter", "product_updates", "events"},
		"email topics the preference center offers")
	l.Int(&c.PublicRate, "public-rate", "CONSENTRY_PUBLIC_RATE", 60, "requests per minute per client address on the public pages")
	l.Int(&c.PublicBurst, "public-burst", "CONSENTRY_PUBLIC_BURST", 20, "burst of requests per client address on the public pages")
	l.Int(&c.OneClickRate, "one-click-rate", "CONSENTRY_ONE_CLICK_RATE", 10, "one-click unsubscribes per minute per link")
	l.Int(&c.OneClickBurst, "one-click-burst", "CONSENTRY_ONE_CLICK_BURST", 5, "burst of one-click unsubscribes per link")
	l.String(&c.SenderURL, "verification-sender-url", "CONSENTRY_VERIFICATION_SENDER_URL", "",
		"webhook that emails confirmation links to people (signed JSON POST); without it the preference center cannot grant")
	l.Secret(&c.WebhookKeys, "CONSENTRY_WEBHOOK_SIGNING_KEYS")
	l.Secret(&c.legacyWebhook[0], "CONSENTRY_WEBHOOK_SECRET")
	l.Secret(&c.legacyWebhook[1], "CONSENTRY_WEBHOOK_KEY_ID")
	l.Duration(&c.ConfirmTTL, "confirm-ttl", "CONSENTRY_CONFIRM_TTL", 48*time.Hour, "how long a mailed confirmation link stays valid")
	l.List(&c.trustedRaw, "trusted-proxies", "CONSENTRY_TRUSTED_PROXIES", nil,
		"CIDRs of reverse proxies whose X-Forwarded-For is trusted for the client address")
	l.List(&c.sendGridKeysRaw, "sendgrid-webhook-keys", "CONSENTRY_SENDGRID_WEBHOOK_KEYS", nil,
		"tenant=<base64 DER public key> for each tenant whose SendGrid Event Webhook is signed (docs/vendors/sendgrid.md)")
	l.List(&c.sendGridGroupsRaw, "sendgrid-groups", "CONSENTRY_SENDGRID_GROUPS", nil,
		"tenant/<asm_group_id>=<email topic>: the topic a SendGrid group_unsubscribe opts out of")
	l.Secret(&c.hubSpotSecretsRaw, "CONSENTRY_HUBSPOT_WEBHOOK_SECRETS")
	l.Secret(&c.hubSpotTokensRaw, "CONSENTRY_HUBSPOT_TOKENS")
	l.String(&c.HubSpotBaseURL, "hubspot-base-url", "CONSENTRY_HUBSPOT_BASE_URL", hubspotcontacts.DefaultBaseURL,
		"HubSpot's API, where a webhook's contact is read")
	l.List(&c.hubSpotPropertiesRaw, "hubspot-properties", "CONSENTRY_HUBSPOT_PROPERTIES", nil,
		"contact properties besides hs_email_optout whose change to \"true\" in HubSpot's webhook is an opt-out of all marketing email")
	if err := l.Parse(args); err != nil {
		return c, err
	}
	errs := []error{c.Common.Validate(), c.Kafka.Validate()}
	if c.MasterKeys == "" {
		errs = append(errs, errors.New("CONSENTRY_MASTER_KEYS is required"))
	}
	if c.linkKeysRaw == "" {
		errs = append(errs, errors.New("CONSENTRY_LINK_KEYS is required (kid:base64 of at least 32 bytes; the first signs)"))
	} else if k, err := token.ParseKeys(c.linkKeysRaw); err != nil {
		errs = append(errs, err)
	} else {
		c.LinkKeys = k
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("CONSENTRY_PUBLIC_URL must be an absolute http(s) URL"))
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.LinkTTL < time.Hour {
		errs = append(errs, errors.New("CONSENTRY_LINK_TTL must be at least 1h"))
	}
	for _, t := range c.EmailTopics {
		if !listPattern.MatchString(t) {
			errs = append(errs, errors.New("CONSENTRY_EMAIL_TOPICS: each topic is 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'"))
			break
		}
	}
	if c.PublicRate < 1 || c.PublicBurst < 1 {
		errs = append(errs, errors.New("CONSENTRY_PUBLIC_RATE and CONSENTRY_PUBLIC_BURST must be at least 1"))
	}
	if c.OneClickRate < 1 || c.OneClickBurst < 1 {
		errs = append(errs, errors.New("CONSENTRY_ONE_CLICK_RATE and CONSENTRY_ONE_CLICK_BURST must be at least 1"))
	}
	if c.legacyWebhook != [2]string{} {
		// The shared HMAC secret let every receiver sign what the others receive.
		errs = append(errs, errors.New("CONSENTRY_WEBHOOK_SECRET and CONSENTRY_WEBHOOK_KEY_ID are no longer read: "+
			"webhooks are signed with Ed25519 keys only Consentry holds. Set CONSENTRY_WEBHOOK_SIGNING_KEYS (id:whsk_<base64>) "+
			"and remove both variables (docs/webhooks.md)"))
	}
	if c.WebhookKeys != "" {
		var err error
		if c.parsedWebhook, err = webhooksig.ParseKeys(c.WebhookKeys); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_WEBHOOK_SIGNING_KEYS: %w", err))
		}
	}
	if c.SenderURL != "" {
		if err := webhooksig.CheckURL(c.SenderURL); err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_VERIFICATION_SENDER_URL: %w", err))
		}
		if c.WebhookKeys == "" {
			errs = append(errs, errors.New("CONSENTRY_WEBHOOK_SIGNING_KEYS is required to sign the confirmation webhook (id:whsk_<base64>, docs/webhooks.md)"))
		}
	}
	if c.ConfirmTTL < time.Minute {
		errs = append(errs, errors.New("CONSENTRY_CONFIRM_TTL must be at least 1m"))
	}
	if p, err := ratelimit.ParsePrefixes(c.trustedRaw); err != nil {
		errs = append(errs, errors.New("CONSENTRY_TRUSTED_PROXIES must list CIDR prefixes or addresses"))
	} else {
		c.TrustedProxies = p
	}
	errs = append(errs, c.parseSendGrid()...)
	errs = append(errs, c.parseHubSpot()...)
	return c, errors.Join(errs...)
}

func (c *serviceConfig) parseSendGrid() []error {
	var errs []error
	c.SendGridKeys = map[string]*ecdsa.PublicKey{}
	for _, kv := range c.sendGridKeysRaw {
		// Split on the first '=': base64 ends in '=' padding.
		tenant, b64, ok := strings.Cut(kv, "=")
		if !ok || !tenantPattern.MatchString(tenant) {
			errs = append(errs, errors.New("CONSENTRY_SENDGRID_WEBHOOK_KEYS: each entry is tenant=<base64 DER public key>"))
			continue
		}
		k, err := sendgridsig.ParseKey(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONSENTRY_SENDGRID_WEBHOOK_KEYS: the key of tenant %s %w", tenant, err))
			continue
		}
		c.SendGridKeys[tenant] = k
	}
	c.SendGridGroups = map[string]map[int64]string{}
	for _, kv := range c.sendGridGroupsRaw {
		tg, topic, _ := strings.Cut(kv, "=")
		tenant, g, _ := strings.Cut(tg, "/")
		group, err := strconv.ParseInt(g, 10, 64)
		if !tenantPattern.MatchString(tenant) || err != nil || group <= 0 || !listPattern.MatchString(topic) {
			errs = append(errs, errors.New("CONSENTRY_SENDGRID_GROUPS: each entry is tenant/<asm_group_id>=<email topic>"))
			continue
		}
		if c.SendGridGroups[tenant] == nil {
			c.SendGridGroups[tenant] = map[int64]string{}
		}
		c.SendGridGroups[tenant][group] = topic
	}
	return errs
}

// parseHubSpot reads the per-tenant secrets and tokens. Errors name the variable and the
// tenant, never a value.
func (c *serviceConfig) parseHubSpot() []error {
	var errs []error
	perTenant := func(raw, name, what string, min int) map[string]string {
		out := map[string]string{}
		for _, kv := range strings.Split(raw, ",") {
			if kv = strings.TrimSpace(kv); kv == "" {
				continue
			}
			tenant, v, _ := strings.Cut(kv, "=")
			if !tenantPattern.MatchString(tenant) || len(v) < min {
				errs = append(errs, fmt.Errorf("%s: each entry is tenant=<%s> (at least %d characters)", name, what, min))
				continue
			}
			if _, dup := out[tenant]; dup {
				errs = append(errs, fmt.Errorf("%s: tenant %s is listed twice", name, tenant))
			}
			out[tenant] = v
		}
		return out
	}
	// HubSpot's client secrets are UUIDs; anything much shorter is a typo or a guessable key.
	secrets := perTenant(c.hubSpotSecretsRaw, "CONSENTRY_HUBSPOT_WEBHOOK_SECRETS", "the app's client secret", 16)
	c.HubSpotTokens = perTenant(c.hubSpotTokensRaw, "CONSENTRY_HUBSPOT_TOKENS", "access token", 8)
	c.HubSpotSecrets = map[string][]byte{}
	for tenant, s := range secrets {
		c.HubSpotSecrets[tenant] = []byte(s)
		if c.HubSpotTokens[tenant] == "" {
			errs = append(errs, fmt.Errorf("CONSENTRY_HUBSPOT_TOKENS has no token for tenant %s, which has a HubSpot webhook secret: "+
				"its webhook names contacts by ID, and the address is read with the token", tenant))
		}
	}
	for tenant := range c.HubSpotTokens {
		if secrets[tenant] == "" {
			errs = append(errs, fmt.Errorf("CONSENTRY_HUBSPOT_TOKENS: tenant %s has no CONSENTRY_HUBSPOT_WEBHOOK_SECRETS entry", tenant))
		}
	}
	if u, err := url.Parse(c.HubSpotBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("CONSENTRY_HUBSPOT_BASE_URL must be an absolute http(s) URL"))
	}
	props, err := hubspotevents.ParseProperties(c.hubSpotPropertiesRaw)
	if err != nil {
		errs = append(errs, fmt.Errorf("CONSENTRY_HUBSPOT_PROPERTIES: %w", err))
	}
	c.HubSpotProperties = props
	return errs
}
