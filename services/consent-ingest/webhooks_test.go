package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/webhooksig"
)

// TestACustomerCannotForgeWebhooks is the attack a shared signing secret allowed: acme,
// an enterprise Customer, holds everything Consentry gives it — the public keys and the
// webhooks it receives — and tries to make globex's endpoint accept a request globex
// never had, and the verification sender mail a link of acme's choosing. acme replays its
// own signatures on the forged bodies and signs them with every byte string it holds used
// as a key, HMAC (as the shared secret signed) or Ed25519 seed. Every attempt is refused,
// while Consentry's own webhooks to the same receivers verify.
func TestACustomerCannotForgeWebhooks(t *testing.T) {
	stack := testkit.NewStack(t)
	sender, acme, globex := newReceiver(t), newReceiver(t), newReceiver(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_VERIFICATION_SENDER_URL": sender.URL,
		"CONSENTRY_CONTROLLER_WEBHOOKS":     "acme=" + acme.URL + ",globex=" + globex.URL,
	})
	for _, rc := range []*receiver{sender, acme, globex} {
		rc.trust(t, svc)
	}
	const request = `{"tenant":"%s","subject_id":"emp_7","identifiers":{"email":"grace@%s.example"},"type":"erasure","reason":"user_request","verified":true}`
	_, a := submit(t, svc, testkit.AcmeAppKey, strings.ReplaceAll(request, "%s", "acme"))
	acme.waitFor(t, a.RequestID)
	_, g := submit(t, svc, testkit.APIKey, strings.ReplaceAll(request, "%s", "globex"))
	globex.waitFor(t, g.RequestID)
	putOnFile(t, svc, testkit.APIKey, designExample) // the link goes only to an address on file
	_, s := submit(t, svc, testkit.PlainKey, erasure+"}")
	sender.waitFor(t, s.RequestID)

	// All acme holds.
	resp, err := http.Get(svc.URL + "/.well-known/webhook-keys")
	if err != nil {
		t.Fatal(err)
	}
	keySet, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var set webhooksig.KeySet
	if err := json.Unmarshal(keySet, &set); err != nil {
		t.Fatal(err)
	}
	acme.mu.Lock()
	got := acme.received[0]
	acme.mu.Unlock()
	material := [][]byte{keySet, got.body, []byte(got.header.Get(webhooksig.HeaderID))}
	for _, k := range set.Keys {
		material = append(material, k.PublicKey)
	}
	for _, sig := range strings.Fields(got.header.Get(webhooksig.HeaderSignature)) {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1a,"))
		material = append(material, raw, raw[:32], raw[32:])
	}

	forgeries := map[*receiver][]byte{
		globex: []byte(`{"tenant":"globex","request_id":"forged-1","type":"erasure","approve_url":"https://acme.example/steal"}`),
		sender: []byte(`{"request_id":"forged-2","email":"grace@globex.example","verify_url":"https://acme.example/phish"}`),
	}
	for rc, body := range forgeries {
		id := webhooksig.NewMessageID()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		content := []byte(id + "." + ts + "." + string(body))
		attempts := []http.Header{got.header.Clone()} // acme's own signature, id and timestamp
		for _, m := range material {
			mac := hmac.New(sha256.New, m)
			mac.Write(content)
			seed := sha256.Sum256(m)
			if len(m) == ed25519.SeedSize {
				copy(seed[:], m)
			}
			for _, sig := range []string{
				"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)),
				"v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed[:]), content)),
			} {
				attempts = append(attempts, headers(id, ts, sig))
			}
		}
		for i, h := range attempts {
			// Refused for the signature, not for a header or clock the attempt got wrong.
			if err := webhooksig.Verify(set.Keys, h, body, time.Now(), time.Minute); !errors.Is(err, webhooksig.ErrBadSignature) &&
				!(strings.HasPrefix(h.Get(webhooksig.HeaderSignature), "v1,") && errors.Is(err, webhooksig.ErrMalformedSignature)) {
				t.Errorf("forgery %d: %v", i, err)
			}
			req, _ := http.NewRequest("POST", rc.URL, bytes.NewReader(body))
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("forgery %d answered %d", i, resp.StatusCode)
			}
		}
		rc.mu.Lock()
		for _, b := range rc.bodies {
			if id, _ := b["request_id"].(string); strings.HasPrefix(id, "forged") {
				t.Errorf("a receiver took the forged request %s", id)
			}
		}
		rc.mu.Unlock()
	}
}

// The webhook settings are checked at start, each error naming its variable.
func TestWebhookConfig(t *testing.T) {
	base := map[string]string{
		"CONSENTRY_KAFKA_BROKERS":           "127.0.0.1:9092",
		"CONSENTRY_POSTGRES_URL":            "postgres://consentry@127.0.0.1/consentry",
		"CONSENTRY_API_KEYS":                "test:" + testkit.APIKey + ":*",
		"CONSENTRY_SUBJECT_PEPPER":          base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"CONSENTRY_MASTER_KEYS":             "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"CONSENTRY_LINK_KEYS":               "l1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"CONSENTRY_WEBHOOK_SIGNING_KEYS":    testkit.WebhookSigningKeys,
		"CONSENTRY_VERIFICATION_SENDER_URL": "https://mailer.consentry.example/send",
		"CONSENTRY_CONTROLLER_WEBHOOKS":     "acme=https://crm.acme.example/consentry,globex=http://127.0.0.1:9000/hook",
	}
	for name, c := range map[string]struct {
		set  map[string]string
		want []string
	}{
		"valid": {nil, nil},
		"plain http sender": {map[string]string{"CONSENTRY_VERIFICATION_SENDER_URL": "http://mailer.consentry.example/send"},
			[]string{"CONSENTRY_VERIFICATION_SENDER_URL: plain http is allowed only to a loopback host"}},
		"plain http controller": {map[string]string{"CONSENTRY_CONTROLLER_WEBHOOKS": "acme=http://crm.acme.example/consentry"},
			[]string{"CONSENTRY_CONTROLLER_WEBHOOKS: acme: plain http is allowed only to a loopback host"}},
		"old shared secret": {map[string]string{"CONSENTRY_WEBHOOK_SECRET": "shared"},
			[]string{"CONSENTRY_WEBHOOK_SECRET and CONSENTRY_WEBHOOK_KEY_ID are no longer read", "CONSENTRY_WEBHOOK_SIGNING_KEYS"}},
		"no signing keys": {map[string]string{"CONSENTRY_WEBHOOK_SIGNING_KEYS": ""},
			[]string{"CONSENTRY_WEBHOOK_SIGNING_KEYS is required"}},
		"bad signing keys": {map[string]string{"CONSENTRY_WEBHOOK_SIGNING_KEYS": "k1:whsk_c2VjcmV0"},
			[]string{"CONSENTRY_WEBHOOK_SIGNING_KEYS: entry 1: key k1"}},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range c.set {
				env[k] = v
			}
			_, err := loadConfig(nil, func(k string) string { return env[k] }, io.Discard)
			if len(c.want) == 0 && err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig error %v, want it to say %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("the error quotes key material: %v", err)
			}
		})
	}
}

// headers builds a request's signature headers as a sender sets them (canonical names).
func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(webhooksig.HeaderID, id)
	h.Set(webhooksig.HeaderTimestamp, ts)
	h.Set(webhooksig.HeaderSignature, sig)
	return h
}
