package webhooksig_test

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
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/webhooksig"
)

var now = time.Unix(1_800_000_000, 0).UTC()

func seedKey(b byte) string {
	return "whsk_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func mustKeys(t *testing.T, spec string) *webhooksig.Keys {
	t.Helper()
	ks, err := webhooksig.ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// served is what a receiver fetches from GET /.well-known/webhook-keys, decoded the way a
// receiver would.
func served(t *testing.T, ks *webhooksig.Keys, at time.Time) []webhooksig.PublicKey {
	t.Helper()
	rec := httptest.NewRecorder()
	ks.Handler(func() time.Time { return at }).ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/webhook-keys", nil))
	var set webhooksig.KeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || rec.Code != 200 {
		t.Fatalf("key set %d %s: %v", rec.Code, rec.Body, err)
	}
	return set.Keys
}

func signed(ks *webhooksig.Keys, id string, at time.Time, body []byte) http.Header {
	h := http.Header{}
	ks.SetHeaders(h, id, at, body)
	return h
}

func TestPostIsVerifiableAndTamperingIsNot(t *testing.T) {
	ks := mustKeys(t, "k1:"+seedKey(1))
	keys := served(t, ks, now)
	var got error
	var header http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		header = r.Header.Clone()
		got = webhooksig.Verify(keys, r.Header, body, now, 5*time.Minute)
	}))
	defer srv.Close()
	s := webhooksig.Sender{Keys: ks, Now: func() time.Time { return now }}
	if err := s.Post(t.Context(), srv.URL, []byte(`{"a":1}`)); err != nil || got != nil {
		t.Fatalf("post %v, verify %v", err, got)
	}
	if id := header.Get(webhooksig.HeaderID); !strings.HasPrefix(id, "msg_") || header.Get(webhooksig.HeaderTimestamp) != strconv.FormatInt(now.Unix(), 10) ||
		!strings.HasPrefix(header.Get(webhooksig.HeaderSignature), "v1a,") {
		t.Fatalf("headers %v", header)
	}
	with := func(name, value string) http.Header {
		h := header.Clone()
		h.Set(name, value)
		return h
	}
	for name, c := range map[string]struct {
		header http.Header
		body   string
		at     time.Time
		want   error
	}{
		"altered body":      {header, `{"a":2}`, now, webhooksig.ErrBadSignature},
		"other id":          {with(webhooksig.HeaderID, "msg_other"), `{"a":1}`, now, webhooksig.ErrBadSignature},
		"other timestamp":   {with(webhooksig.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)), `{"a":1}`, now, webhooksig.ErrBadSignature},
		"stale":             {header, `{"a":1}`, now.Add(time.Hour), webhooksig.ErrStale},
		"no signature":      {with(webhooksig.HeaderSignature, ""), `{"a":1}`, now, webhooksig.ErrMissingHeaders},
		"hmac scheme only":  {with(webhooksig.HeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), `{"a":1}`, now, webhooksig.ErrMalformedSignature},
		"dotted id":         {with(webhooksig.HeaderID, "msg.1"), `{"a":1}`, now, webhooksig.ErrMalformedSignature},
		"signed timestamp+": {with(webhooksig.HeaderTimestamp, "+"+strconv.FormatInt(now.Unix(), 10)), `{"a":1}`, now, webhooksig.ErrMalformedSignature},
	} {
		if err := webhooksig.Verify(keys, c.header, []byte(c.body), c.at, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestARecipientCannotForge is the attack the shared HMAC secret allowed: Customer A holds
// everything Consentry gives it — the served public keys and the webhooks it received,
// headers and bodies — and tries to make a webhook that Customer B (or the verification
// sender) accepts: its own received signature on B's body, and signatures made with every
// byte string it holds used as a key, HMAC (v1, as the old scheme signed) or Ed25519 seed
// (v1a). With the shared secret among what A held, the HMAC attempt verified.
func TestARecipientCannotForge(t *testing.T) {
	ks := mustKeys(t, "consentry-1:"+seedKey(1))
	keys := served(t, ks, now)
	keySetJSON, _ := json.Marshal(webhooksig.KeySet{Keys: keys})

	// What A received: its own request, signed.
	aBody := []byte(`{"tenant":"acme","request_id":"r-a","type":"erasure"}`)
	aHeader := signed(ks, webhooksig.NewMessageID(), now, aBody)
	// What A wants B (or the sender) to accept.
	forged := []byte(`{"tenant":"globex","request_id":"r-b","type":"erasure","verify_url":"https://phish.example/v"}`)

	var material [][]byte // everything A holds, as byte strings
	material = append(material, keySetJSON, aBody, []byte(aHeader.Get(webhooksig.HeaderID)))
	for _, k := range keys {
		material = append(material, k.PublicKey)
	}
	for _, s := range strings.Fields(aHeader.Get(webhooksig.HeaderSignature)) {
		sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "v1a,"))
		material = append(material, sig, sig[:32], sig[32:])
	}
	id := webhooksig.NewMessageID()
	ts := strconv.FormatInt(now.Unix(), 10)
	content := []byte(id + "." + ts + "." + string(forged))
	var attempts []string
	for _, m := range material {
		mac := hmac.New(sha256.New, m)
		mac.Write(content)
		attempts = append(attempts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		seed := sha256.Sum256(m)
		if len(m) == ed25519.SeedSize {
			copy(seed[:], m)
		}
		attempts = append(attempts, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed[:]), content)))
	}
	_, own, _ := ed25519.GenerateKey(nil)
	attempts = append(attempts, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(own, content)))

	for i, sig := range attempts {
		h := headers(id, ts, sig)
		// Refused for the signature, not for a header or clock the attempt got wrong.
		if err := webhooksig.Verify(keys, h, forged, now, 5*time.Minute); !errors.Is(err, webhooksig.ErrBadSignature) &&
			!(strings.HasPrefix(sig, "v1,") && errors.Is(err, webhooksig.ErrMalformedSignature)) {
			t.Errorf("attempt %d (%.4s…): %v", i, sig, err)
		}
	}
	// A's own signature moved onto the forged body, with A's id and timestamp.
	if err := webhooksig.Verify(keys, aHeader, forged, now, 5*time.Minute); !errors.Is(err, webhooksig.ErrBadSignature) {
		t.Errorf("A's signature on B's body: %v", err)
	}
	// All of A's signatures at once, and the forgeries beside them.
	all := aHeader.Clone()
	all.Set(webhooksig.HeaderSignature, aHeader.Get(webhooksig.HeaderSignature)+" "+strings.Join(attempts, " "))
	if err := webhooksig.Verify(keys, all, forged, now, 5*time.Minute); err == nil {
		t.Error("a header of every attempt verified")
	}
}

// TestRotation: the new key signs at once; the previous one signs beside it and is served
// until its not_after, then neither. A receiver that still trusts the previous key by its
// not_after refuses a signature of it made after the window.
func TestRotation(t *testing.T) {
	end := now.Add(24 * time.Hour)
	body := []byte(`{"a":1}`)
	oldOnly := mustKeys(t, "k1:"+seedKey(1))
	rotating := mustKeys(t, "k2:"+seedKey(2)+",k1:"+seedKey(1)+"@"+end.Format(time.RFC3339))
	pubOnly := mustKeys(t, "k2:"+seedKey(2)+",k1:"+mustPublic(t, oldOnly)+"@"+end.Format(time.RFC3339))

	during := served(t, rotating, now)
	if len(during) != 2 || during[0].KeyID != "k2" || during[0].NotAfter != nil || during[1].KeyID != "k1" || !during[1].NotAfter.Equal(end) {
		t.Fatalf("served during the window: %+v", during)
	}
	if got := served(t, pubOnly, now); len(got) != 2 || !bytes.Equal(got[1].PublicKey, during[1].PublicKey) {
		t.Fatalf("a previous key kept as whpk_ is served as such: %+v", got)
	}
	after := served(t, rotating, end.Add(time.Second))
	if len(after) != 1 || after[0].KeyID != "k2" {
		t.Fatalf("served after the window: %+v", after)
	}

	// During the window: two signatures; a receiver with the set cached before the
	// rotation verifies by the old one, a fresh one by either.
	h := signed(rotating, "msg_1", now, body)
	if n := len(strings.Fields(h.Get(webhooksig.HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures during the rotation, want 2", n)
	}
	cached := served(t, oldOnly, now)
	for name, keys := range map[string][]webhooksig.PublicKey{"cached": cached, "fresh": during} {
		if err := webhooksig.Verify(keys, h, body, now, time.Minute); err != nil {
			t.Errorf("%s key set: %v", name, err)
		}
	}
	if n := len(strings.Fields(signed(pubOnly, "msg_1", now, body).Get(webhooksig.HeaderSignature))); n != 1 {
		t.Errorf("a whpk_ previous key signed: %d signatures", n)
	}

	// The previous key alone, inside its window: accepted.
	inside := end.Add(-time.Minute)
	if err := webhooksig.Verify(during, signed(oldOnly, "msg_2", inside, body), body, inside, time.Minute); err != nil {
		t.Errorf("previous key inside the window: %v", err)
	}
	// Outside it: refused, though the receiver still holds the key and the signature is
	// fresh; and Consentry no longer signs with it.
	outside := end.Add(time.Minute)
	if err := webhooksig.Verify(during, signed(oldOnly, "msg_3", outside, body), body, outside, time.Minute); !errors.Is(err, webhooksig.ErrBadSignature) {
		t.Errorf("previous key after its window: %v, want ErrBadSignature", err)
	}
	if n := len(strings.Fields(signed(rotating, "msg_4", outside, body).Get(webhooksig.HeaderSignature))); n != 1 {
		t.Errorf("%d signatures after the window, want 1", n)
	}
	if err := webhooksig.Verify(after, signed(rotating, "msg_4", outside, body), body, outside, time.Minute); err != nil {
		t.Errorf("current key after the window: %v", err)
	}
}

func mustPublic(t *testing.T, ks *webhooksig.Keys) string {
	t.Helper()
	b, err := ks.Public(now).Keys[0].PublicKey.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseKeys(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	full := "whsk_" + base64.StdEncoding.EncodeToString(priv)
	bad := append(bytes.Clone(priv[:32]), bytes.Repeat([]byte{9}, 32)...)
	for spec, want := range map[string]string{
		"k1:" + seedKey(1):                     "",
		"k1:" + full:                           "",
		"k1:" + webhooksig.GenerateSecretKey(): "",
		"k2:" + seedKey(2) + ",k1:" + seedKey(1) + "@2026-06-01T00:00:00Z": "",
		"": "no key",
		"k1:" + seedKey(1) + "@2026-06-01T00:00:00Z":                       "has no not_after",
		"k2:" + seedKey(2) + ",k1:" + seedKey(1):                           "needs @not_after",
		"k2:" + seedKey(2) + ",k1:" + seedKey(1) + "@tomorrow":             "not an RFC 3339 time",
		"k1:" + seedKey(1) + ",k1:" + seedKey(2) + "@2026-06-01T00:00:00Z": "appears twice",
		"k1:c2VjcmV0": "want whsk_",
		"k1:whsk_" + base64.StdEncoding.EncodeToString(bad): "does not match",
		"k1:whsk_c2VjcmV0": "want 32 (seed) or 64",
		"k1:" + mustPublic(t, mustKeys(t, "k:"+seedKey(1))): "must be a whsk_ private key",
		"k.1:" + seedKey(1): "without spaces, dots or @",
	} {
		_, err := webhooksig.ParseKeys(spec)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("ParseKeys(%.30q…) = %v, want %q", spec, err, want)
		}
		if err != nil && strings.Contains(spec, "whsk_") && strings.Contains(err.Error(), strings.SplitN(strings.SplitN(spec, "whsk_", 2)[1], "@", 2)[0]) {
			t.Errorf("ParseKeys error quotes key material: %v", err)
		}
	}
}

// TestRedirectTargetGetsNothing: a receiver that answers 307 (which would resend the
// signed body) or 302 does not get the request passed on to the target.
func TestRedirectTargetGetsNothing(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/collect", code)
		}))
		// Even a client the caller configured to follow redirects does not.
		follows := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
		err := webhooksig.Sender{Keys: mustKeys(t, "k1:"+seedKey(1)), HTTP: follows}.Post(t.Context(), redirector.URL, []byte(`{}`))
		redirector.Close()
		if !errors.Is(err, webhooksig.ErrRedirect) {
			t.Errorf("%d: %v, want ErrRedirect", code, err)
		}
		if follows.CheckRedirect(nil, nil) != nil {
			t.Error("the caller's client was changed")
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests", n)
	}
}

func TestCheckURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://crm.example.com/hook":    true,
		"http://127.0.0.1:8080/hook":      true,
		"http://127.8.9.10/hook":          true,
		"http://[::1]:9/hook":             true,
		"http://localhost:9/hook":         true,
		"http://crm.example.com/hook":     false,
		"http://10.0.0.7/hook":            false,
		"http://localhost.example.com/":   false,
		"http://127.0.0.1.nip.io/":        false,
		"ftp://crm.example.com/":          false,
		"https://user:pw@crm.example.com": false,
		"/relative":                       false,
		"":                                false,
	} {
		if err := webhooksig.CheckURL(raw); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v", raw, err)
		}
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	// At send time too: an http URL to a non-loopback host is refused before any dial.
	remote := strings.Replace(srv.URL, "127.0.0.1", "crm.example.com", 1)
	if err := (webhooksig.Sender{Keys: mustKeys(t, "k1:"+seedKey(1))}).Post(t.Context(), remote, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("post to plain http: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests arrived", n)
	}
}

func TestPostReportsRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	if err := (webhooksig.Sender{Keys: mustKeys(t, "k1:"+seedKey(1))}).Post(t.Context(), srv.URL, []byte(`{}`)); err == nil {
		t.Fatal("a 502 was taken as delivered")
	}
}

func TestMessageID(t *testing.T) {
	a, b := webhooksig.MessageID("evt.1:webhook:opt_out"), webhooksig.MessageID("evt.1:webhook:opt_out")
	if a != b || strings.Contains(a, ".") || a == webhooksig.MessageID("evt.2:webhook:opt_out") {
		t.Errorf("MessageID: %q %q", a, b)
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
