package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/consentry/consentry/devkit/testkit"
)

// TestVerifyPageIsRateLimitedPerClient: a flood of the public verification page from one
// address (behind the trusted proxy) gets 429 with Retry-After, while another address
// still gets its page and the API its answers.
func TestVerifyPageIsRateLimitedPerClient(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{
		"CONSENTRY_VERIFY_RATE": "6", "CONSENTRY_VERIFY_BURST": "3", "CONSENTRY_TRUSTED_PROXIES": "127.0.0.1",
	})
	page := func(method, client string) (int, string) {
		req, err := http.NewRequest(method, svc.URL+"/verify/not-a-token", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	const flood = 60
	var (
		mu      sync.Mutex
		limited int
		wg      sync.WaitGroup
	)
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method := http.MethodGet
			if i%2 == 1 {
				method = http.MethodPost
			}
			code, retry := page(method, "203.0.113.5")
			if code == http.StatusTooManyRequests {
				if n, err := strconv.Atoi(retry); err != nil || n < 1 {
					t.Errorf("429 with Retry-After %q", retry)
				}
				mu.Lock()
				limited++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// A burst of 3 and one token every 10 s: nearly all of the flood is refused.
	if limited < flood/2 {
		t.Errorf("%d of %d requests from one address were limited", limited, flood)
	}
	if code, _ := page(http.MethodGet, "203.0.113.5"); code != http.StatusTooManyRequests {
		t.Errorf("the flooding address got %d after its flood, want 429", code)
	}
	if code, _ := page(http.MethodGet, "203.0.113.9"); code != http.StatusBadRequest {
		t.Errorf("another address got %d, want the bad-link page (400)", code)
	}
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, nil); status != http.StatusAccepted {
		t.Errorf("the API answered %d during the flood, want 202", status)
	}
	if strings.Contains(svc.Logs.String(), "203.0.113.5") {
		t.Error("a client address reached the logs")
	}
}
