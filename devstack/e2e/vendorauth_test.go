package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devstack/scenarios"
	"github.com/consentry/consentry/devstack/stack"
)

// TestExpiredTokenRenewsAndRetiredVersionDeadLettersWithItsReason: Salesforce runs on a
// refresh token whose access tokens last 3 s, so the run outlives them; LinkedIn is
// configured with 202511, which LinkedIn retired on 2026-11-16. Every Salesforce delivery
// must be made (the adapter renews and goes on), every LinkedIn delivery dead-lettered
// with the version named, nothing left in either lane, and the sunset alert's metric
// must show the version is past.
func TestExpiredTokenRenewsAndRetiredVersionDeadLettersWithItsReason(t *testing.T) {
	ports, err := stack.FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	sim := fmt.Sprintf("http://127.0.0.1:%d", ports.Simulator)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := scenarios.Start(ctx, t, stack.Config{DataDir: dataDirFor(t), BinDir: binDir, Ports: ports,
		SimulatorTokenLifetime: 3 * time.Second,
		ServiceEnv: map[string]string{
			"CONSENTRY_VENDOR_SALESFORCE_REFRESH_TOKEN": "dev-salesforce-refresh",
			"CONSENTRY_VENDOR_SALESFORCE_CLIENT_ID":     "dev-salesforce-client",
			"CONSENTRY_VENDOR_SALESFORCE_LOGIN_URL":     sim + "/salesforce",
			"CONSENTRY_VENDOR_LINKEDIN_VERSION":         "202511",
		}})

	tokenCalls := func() int {
		n := 0
		for _, c := range simCalls(t, s) {
			if c.Vendor == "salesforce" && strings.HasSuffix(c.Path, "/services/oauth2/token") && c.Status == http.StatusOK {
				n++
			}
		}
		return n
	}
	// One opt-out at a time, each waited for at Salesforce, until a renewed token has
	// carried two more: the run spans the first token's expiry by construction.
	var sfIDs []string
	afterRenewal := 0
	deadline := time.Now().Add(90 * time.Second)
	for afterRenewal < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no token renewal within 90 s of opt-outs (%d token calls)", tokenCalls())
		}
		i := len(sfIDs)
		p := person{subjectID: fmt.Sprintf("u_renew_%d", i), email: fmt.Sprintf("renew%d@example.com", i),
			vendorIDs: map[string]string{"salesforce": fmt.Sprintf("003U0000RENEW%02d", i)}}
		postConsentOf(t, s, p, `{"marketing_email": "denied", "advertising": "denied"}`)
		sfIDs = append(sfIDs, p.vendorIDs["salesforce"])
		eventually(t, "the opt-out of "+p.subjectID+" at Salesforce", 60*time.Second, func() bool {
			return hasCall(simCalls(t, s), "salesforce", "PATCH", "/"+p.vendorIDs["salesforce"])
		})
		if tokenCalls() >= 2 {
			afterRenewal++
		}
	}

	type lane struct {
		Name         string `json:"name"`
		QueueDepth   int    `json:"queue_depth"`
		AwaitingJobs int    `json:"awaiting_vendor_jobs"`
		Done         int    `json:"deliveries_done"`
		Dead         int    `json:"deliveries_dead_lettered"`
		LastError    string `json:"last_error"`
	}
	lanes := func() map[string]lane {
		var v struct {
			Vendors []lane `json:"vendors"`
		}
		if code := testkit.Call(t, "GET", s.URL("vendor-fanout")+"/v1/vendors", s.OperatorKey(), nil, &v); code != http.StatusOK {
			t.Fatalf("GET /v1/vendors: %d", code)
		}
		out := map[string]lane{}
		for _, l := range v.Vendors {
			out[l.Name] = l
		}
		return out
	}
	n := len(sfIDs)
	eventually(t, "every Salesforce delivery made and every LinkedIn one dead-lettered", 90*time.Second, func() bool {
		l := lanes()
		sf, li := l["salesforce"], l["linkedin"]
		return sf.QueueDepth == 0 && sf.AwaitingJobs == 0 && sf.Done >= n &&
			li.QueueDepth == 0 && li.AwaitingJobs == 0 && li.Dead >= n
	})
	l := lanes()
	if sf := l["salesforce"]; sf.Dead != 0 {
		t.Errorf("Salesforce dead-lettered %d deliveries (last error %q); a renewed token should have carried them", sf.Dead, sf.LastError)
	}
	if li := l["linkedin"]; li.Done != 0 || li.Dead != n {
		t.Errorf("LinkedIn: %d done, %d dead; want 0 and %d", li.Done, li.Dead, n)
	}
	var dead struct {
		DeadLetters []struct {
			Vendor    string `json:"vendor"`
			LastError string `json:"last_error"`
		} `json:"dead_letters"`
	}
	if code := testkit.Call(t, "GET", s.URL("vendor-fanout")+"/v1/dead-letters?vendor=linkedin", s.OperatorKey(), nil, &dead); code != http.StatusOK {
		t.Fatalf("GET /v1/dead-letters: %d", code)
	}
	if len(dead.DeadLetters) != n {
		t.Errorf("%d LinkedIn dead letters, want %d", len(dead.DeadLetters), n)
	}
	for _, d := range dead.DeadLetters {
		if !strings.Contains(d.LastError, "LinkedIn-Version 202511 is not served") {
			t.Errorf("a LinkedIn dead letter does not name the version: %q", d.LastError)
		}
	}
	calls := simCalls(t, s)
	for _, id := range sfIDs {
		// Made means accepted: a 401 for an expired token is an answer, not a delivery.
		if !slices.ContainsFunc(calls, func(c scenarios.SimCall) bool {
			return c.Vendor == "salesforce" && c.Method == "PATCH" && strings.HasSuffix(c.Path, "/"+id) && c.Status/100 == 2
		}) {
			t.Errorf("no accepted Salesforce opt-out for %s", id)
		}
	}
	if tc := tokenCalls(); tc < 2 {
		t.Errorf("%d Salesforce token grants, want the first and at least one renewal", tc)
	}

	metrics, err := s.Metrics(ctx, "vendor-fanout")
	if err != nil {
		t.Fatal(err)
	}
	left, ok := gauge(metrics, "consentry_vendor_api_version_sunset_seconds", `instance="linkedin"`)
	if !ok || left > 0 {
		t.Errorf("consentry_vendor_api_version_sunset_seconds for linkedin: %v (found %v), want <= 0", left, ok)
	}
}

// gauge finds the value of the first sample of name whose labels contain label.
func gauge(exposition, name, label string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		return v, err == nil
	}
	return 0, false
}
