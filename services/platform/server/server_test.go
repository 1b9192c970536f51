package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/server"
)

func TestReadinessHealthAndMetrics(t *testing.T) {
	// What a driver says when it cannot connect: it names hosts and users.
	failing := errors.New(`failed to connect to host=db.internal.example user=consentry_admin database=consentry`)
	var dbErr atomic.Value
	dbErr.Store(errNone)
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "thing") })
	api.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := server.New("127.0.0.1:0", "127.0.0.1:0", api, server.NewRegistry(), log,
		server.Check{Name: "postgres", Fn: func(context.Context) error {
			if err := dbErr.Load().(error); err != errNone {
				return err
			}
			return nil
		}})
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	al, err := srv.ListenAdmin()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	go srv.ServeAdmin(al)
	defer srv.Shutdown(context.Background())
	defer srv.ShutdownAdmin(context.Background())
	base, admin := "http://"+l.Addr().String(), "http://"+al.Addr().String()

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status := func(url string) int { s, _ := get(url); return s }
	for _, u := range []string{base + "/healthz", admin + "/healthz"} {
		if s := status(u); s != 200 {
			t.Errorf("%s: %d", u, s)
		}
	}
	if s := status(admin + "/readyz"); s != 503 {
		t.Errorf("readyz before SetReady: %d, want 503", s)
	}
	srv.SetReady(true)
	if s := status(admin + "/readyz"); s != 200 {
		t.Errorf("readyz when ready: %d", s)
	}
	// The public listener is what the ingress routes: readiness and metrics are not there.
	for _, p := range []string{"/readyz", "/metrics"} {
		if s, body := get(base + p); s != http.StatusNotFound || strings.Contains(body, "consentry_") || strings.Contains(body, "ready") {
			t.Errorf("public %s answered %d: %s", p, s, body)
		}
	}
	if s := status(base + "/v1/things/secret-subject-id"); s != 200 {
		t.Errorf("api %d", s)
	}
	if s := status(base + "/v1/panic"); s != 500 {
		t.Errorf("a panicking handler answered %d, want 500", s)
	}
	_, body := get(admin + "/metrics")
	if !strings.Contains(body, `consentry_http_requests_total{code="200",route="GET /v1/things/{id}"}`) {
		t.Errorf("metrics lack the request counter by route pattern:\n%s", body)
	}
	if strings.Contains(logs.String(), "secret-subject-id") || strings.Contains(body, "secret-subject-id") {
		t.Error("a path value reached the logs or the metrics")
	}
	// A failing dependency makes the service unready once the cached result (1 s) ages;
	// the answer names the dependency and nothing of the driver's message.
	dbErr.Store(failing)
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, body := get(admin + "/readyz")
		if s == 503 {
			if !strings.Contains(body, `"postgres"`) {
				t.Errorf("readyz does not name the failing dependency: %s", body)
			}
			for _, leak := range []string{"db.internal", "consentry_admin", "host="} {
				if strings.Contains(body, leak) {
					t.Errorf("readyz echoes the dependency's message (%q): %s", leak, body)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz stayed 200 with a failing dependency")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "db.internal") {
		t.Error("the log lacks the detail of the failing check")
	}
}

var errNone = errors.New("none")

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
