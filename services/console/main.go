// Command console is Consentry's staff screen: privacy requests, manual tasks, dead
// letters, vendor lanes, a person's consent proof and the audit chains, server-rendered.
// It keeps no data: every screen is read from, and every action sent to, the four
// services' HTTP APIs, naming the signed-in person (docs/console.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/consentry/consentry/platform/version"
	"github.com/consentry/consentry/services/console/internal/backend"
)

func main() {
	if version.Requested(os.Args[1:]) {
		version.Print(os.Stdout, "console")
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, logOut io.Writer) error {
	log := slog.New(slog.NewJSONHandler(logOut, nil)).With("service", "console")
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	api := backend.New(backend.Config{IngestURL: cfg.IngestURL, UnsubscribeURL: cfg.UnsubscribeURL, FanoutURL: cfg.FanoutURL,
		AuditURL: cfg.AuditURL, APIKey: cfg.APIKey, ControllerKeys: cfg.ControllerKeys})
	a, err := newApp(cfg, log, api, time.Now)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: cfg.Addr, Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("console listening", "addr", cfg.Addr, "public_url", cfg.PublicURL.String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
