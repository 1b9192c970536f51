package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// Worker is a long-running part of a service (a consumer loop, a dispatcher). It runs
// until ctx ends and then finishes its work in hand before returning.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Lifecycle describes what Run starts and, in reverse dependency order, stops.
type Lifecycle struct {
	Server *Server
	Log    *slog.Logger
	// ShutdownDelay keeps the service up but not ready after the signal, so that
	// Kubernetes stops routing to it before it stops serving.
	ShutdownDelay time.Duration
	// DebugAddr, when set, serves net/http/pprof there: a profile of the running
	// service is how a latency or memory problem is found, and it stays off the API port.
	DebugAddr string
	Workers   []Worker
	// Closers run last, in order (e.g. producer, then database pool).
	Closers []func()
	// OnReady runs once the server listens and the workers started, e.g. to print URLs.
	OnReady func(addr string)
}

// Run serves and runs the workers until ctx ends or one of them fails, then shuts down in
// the order Kubernetes expects: not ready → (delay) → stop workers, which drain and commit
// → stop the HTTP server, finishing in-flight requests → closers → the admin server.
func Run(ctx context.Context, lc Lifecycle) error {
	al, err := lc.Server.ListenAdmin()
	if err != nil {
		return err
	}
	l, err := lc.Server.Listen()
	if err != nil {
		al.Close()
		return err
	}
	failed := make(chan error, len(lc.Workers)+3)
	go func() {
		if err := lc.Server.ServeAdmin(al); err != nil {
			failed <- err
		}
	}()
	go func() {
		if err := lc.Server.Serve(l); err != nil {
			failed <- err
		}
	}()
	if lc.DebugAddr != "" {
		debug, err := serveDebug(lc.DebugAddr, failed)
		if err != nil {
			return err
		}
		defer debug.Close()
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for _, w := range lc.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(workCtx); err != nil && workCtx.Err() == nil {
				lc.Log.Error("worker stopped", "worker", w.Name, "error", err)
				failed <- err
			}
		}()
	}
	lc.Server.SetReady(true)
	if lc.OnReady != nil {
		lc.OnReady(l.Addr().String())
	}
	lc.Log.Info("ready", "addr", l.Addr().String(), "admin_addr", al.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
		lc.Log.Info("shutting down")
	case runErr = <-failed:
		lc.Log.Error("shutting down after a failure", "error", runErr)
	}
	lc.Server.SetReady(false)
	if lc.ShutdownDelay > 0 && runErr == nil {
		time.Sleep(lc.ShutdownDelay)
	}
	stopWork()
	wg.Wait()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := lc.Server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
		lc.Log.Warn("http shutdown", "error", err)
	}
	for _, c := range lc.Closers {
		c()
	}
	if err := lc.Server.ShutdownAdmin(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
		lc.Log.Warn("admin shutdown", "error", err)
	}
	lc.Log.Info("stopped")
	return runErr
}

// serveDebug serves the profiler on its own listener, so it is never reachable through
// the API's port or its ingress.
func serveDebug(addr string, failed chan<- error) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: debug listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	}()
	return srv, nil
}
