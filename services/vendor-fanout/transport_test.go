package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
)

// Ten instances of eight calls each at one host (the simulator; in production several
// instances of one vendor type share its API host) must reuse their connections rather
// than dial one per call.
func TestVendorCallsReuseConnectionsAtFullConcurrency(t *testing.T) {
	var dialed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	table := &routing.Table{}
	for range 10 {
		table.Instances = append(table.Instances, routing.Instance{Concurrency: 8})
	}
	client := &http.Client{Transport: vendorTransport(table)}
	defer client.CloseIdleConnections()
	// Lanes call in bursts — a claimed batch, then a pause for the next claim — so
	// every connection sits idle at the same moment between rounds.
	const inFlight, rounds = 80, 20
	for range rounds {
		var wg sync.WaitGroup
		for range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	// A connection per call in flight, and a few more when a request finds its
	// connection not yet back in the pool; with 16 idle per host it was ~1,300.
	if n := dialed.Load(); n > 2*inFlight {
		t.Errorf("%d connections dialed for %d calls, %d at a time", n, inFlight*rounds, inFlight)
	}
}
