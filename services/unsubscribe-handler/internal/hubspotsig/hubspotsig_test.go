package hubspotsig_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/hubspotsig"
)

func TestVerify(t *testing.T) {
	secret := []byte("client-secret-of-the-app")
	now := time.UnixMilli(1_800_000_000_123)
	const uri = "https://prefs.example.test/v1/email-events/hubspot?tenant=consumer"
	body := []byte(`[{"eventId":1,"portalId":62515,"objectId":123,"subscriptionType":"contact.propertyChange"}]`)
	sign := func(secret string, method, uri string, b []byte, at time.Time) (string, string) {
		h := vendorsim.HubSpotWebhookHeaders(secret, method, uri, b, at)
		return h[hubspotsig.SignatureHeader], h[hubspotsig.TimestampHeader]
	}
	good, ts := sign(string(secret), "POST", uri, body, now)
	forged, _ := sign("another-app-secret", "POST", uri, body, now)
	otherTenant, _ := sign(string(secret), "POST", "https://prefs.example.test/v1/email-events/hubspot?tenant=acme", body, now)
	getSig, _ := sign(string(secret), "GET", uri, body, now)
	oldSig, oldTS := sign(string(secret), "POST", uri, body, now.Add(-hubspotsig.MaxAge-time.Millisecond))
	edgeSig, edgeTS := sign(string(secret), "POST", uri, body, now.Add(-hubspotsig.MaxAge))
	futSig, futTS := sign(string(secret), "POST", uri, body, now.Add(hubspotsig.MaxSkew+time.Millisecond))
	secondsTS := strconv.FormatInt(now.Unix(), 10)
	secondsSig := hubspotsig.Sign(secret, "POST", uri, body, secondsTS)
	cases := []struct {
		name           string
		uri            string
		body           []byte
		sig, timestamp string
		want           error
	}{
		{"valid", uri, body, good, ts, nil},
		{"valid at the edge of the window", uri, body, edgeSig, edgeTS, nil},
		{"no signature", uri, body, "", ts, hubspotsig.ErrMissing},
		{"no timestamp", uri, body, good, "", hubspotsig.ErrMissing},
		{"another secret", uri, body, forged, ts, hubspotsig.ErrBad},
		{"signed for another tenant's URL", uri, body, otherTenant, ts, hubspotsig.ErrBad},
		{"posted to another URL", "https://prefs.example.test/v1/email-events/hubspot?tenant=acme", body, good, ts, hubspotsig.ErrBad},
		{"signed for another method", uri, body, getSig, ts, hubspotsig.ErrBad},
		{"body altered", uri, append([]byte(" "), body...), good, ts, hubspotsig.ErrBad},
		{"timestamp altered", uri, body, good, strconv.FormatInt(now.UnixMilli()+1, 10), hubspotsig.ErrBad},
		{"not base64", uri, body, "%%%", ts, hubspotsig.ErrBad},
		{"too old", uri, body, oldSig, oldTS, hubspotsig.ErrStale},
		{"in the future", uri, body, futSig, futTS, hubspotsig.ErrStale},
		// Seconds read as milliseconds are 1970: a sender on the wrong unit is refused.
		{"timestamp in seconds", uri, body, secondsSig, secondsTS, hubspotsig.ErrStale},
	}
	for _, c := range cases {
		if err := hubspotsig.Verify(secret, "POST", c.uri, c.body, c.sig, c.timestamp, now); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// Sign agrees with the simulator's signer, which is checked against an independent
// computation (devkit/vendorsim TestHubSpotWebhookHeaders).
func TestSignMatchesHubSpot(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	h := vendorsim.HubSpotWebhookHeaders("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST", "https://www.example.com/webhook_uri",
		[]byte(`{"example_field":"example_value"}`), at)
	got := hubspotsig.Sign([]byte("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"), "POST", "https://www.example.com/webhook_uri",
		[]byte(`{"example_field":"example_value"}`), "1700000000000")
	if got != h[hubspotsig.SignatureHeader] || got != "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=" {
		t.Errorf("Sign = %s, simulator %s", got, h[hubspotsig.SignatureHeader])
	}
}
