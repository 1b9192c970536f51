package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/server"
)

func TestReadinessHealthAndMetrics(t *testing.T) {
	failing := errors.New("database unreachable")
	var dbErr error
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "thing") })
	api.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	srv := server.New("127.0.0.1:0", api, server.NewRegistry(), log,
		server.Check{Name: "postgres", Fn: func(context.Context) error { return dbErr }})
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	base := "http://" + l.Addr().String()

	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status("/healthz"); s != 200 {
		t.Errorf("healthz %d", s)
	}
	if s := status("/readyz"); s != 503 {
		t.Errorf("readyz before SetReady: %d, want 503", s)
	}
	srv.SetReady(true)
	if s := status("/readyz"); s != 200 {
		t.Errorf("readyz when ready: %d", s)
	}
	if s := status("/v1/things/secret-subject-id"); s != 200 {
		t.Errorf("api %d", s)
	}
	if s := status("/v1/panic"); s != 500 {
		t.Errorf("a panicking handler answered %d, want 500", s)
	}
	resp, _ := http.Get(base + "/metrics")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `consentry_http_requests_total{code="200",route="GET /v1/things/{id}"}`) {
		t.Errorf("metrics lack the request counter by route pattern:\n%s", body)
	}
	if strings.Contains(logs.String(), "secret-subject-id") || strings.Contains(string(body), "secret-subject-id") {
		t.Error("a path value reached the logs or the metrics")
	}
	// A failing dependency makes the service unready once the cached result (1 s) ages.
	dbErr = failing
	deadline := time.Now().Add(60 * time.Second)
	for status("/readyz") != 503 {
		if time.Now().After(deadline) {
			t.Fatal("readyz stayed 200 with a failing dependency")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLimitInFlightShedsBeyondTheLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	h := server.LimitInFlight(2, slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusAccepted)
	}))
	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/consents", nil))
		return rec
	}
	held := make(chan int, 2)
	for range 2 {
		go func() { held <- serve().Code }()
		<-entered
	}
	shed := serve()
	if shed.Code != http.StatusServiceUnavailable || shed.Header().Get("Retry-After") == "" ||
		!strings.Contains(shed.Body.String(), `"code":"unavailable"`) {
		t.Errorf("third request at a limit of 2: %d, Retry-After %q, %s", shed.Code, shed.Header().Get("Retry-After"), shed.Body)
	}
	close(release)
	for range 2 {
		if code := <-held; code != http.StatusAccepted {
			t.Errorf("a request within the limit answered %d", code)
		}
	}
	if code := serve().Code; code != http.StatusAccepted {
		t.Errorf("after the load went, a request answered %d", code)
	}
}
