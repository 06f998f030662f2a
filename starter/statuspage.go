package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/statuspage"
)

// The status page (internal/statuspage) under `starter serve` and `starter dev`: an internal,
// read-only page with no authentication, so it listens on loopback unless --status-addr says
// otherwise, and on its own listener, apart from the intake that Slack must reach.

// Default status page addresses: serve's sits beside the intake (8080) and its metrics; dev's
// beside the embedded Temporal UI (8233).
const (
	defaultServeStatusAddr = "127.0.0.1:8082"
	defaultDevStatusAddr   = "127.0.0.1:8234"
)

// statusPageOptions configure one status page.
type statusPageOptions struct {
	addr, runbooks, namespace, uiURL string
	refresh                          time.Duration
	// environments limits the page to these environments (none: every one of the folder).
	environments []string
}

// statusPageOff reports whether addr turns the page off.
func statusPageOff(addr string) bool {
	a := strings.TrimSpace(addr)
	return a == "" || a == "off"
}

// startStatusPage listens on o.addr and serves the page until ctx ends. It returns the address
// it listens on.
func startStatusPage(ctx context.Context, o statusPageOptions, c client.Client, logger *slog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("status page: listen on %s: %w", o.addr, err)
	}
	store := runbook.NewStore(o.runbooks)
	col := &statuspage.Collector{
		Cloud:     activities.NewCloud(activities.CloudOptions{RunbookDir: o.runbooks, Store: store, Logger: logger}),
		Temporal:  c,
		Store:     store,
		Namespace: o.namespace,
		UIURL:     strings.TrimRight(o.uiURL, "/"),
		Only:      o.environments,
	}
	srv := &http.Server{Handler: &statuspage.Handler{C: col, Refresh: o.refresh, Logger: logger},
		ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("status page stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("the status page is internal and has no authentication; it listens beyond loopback as --status-addr asks", "addr", ln.Addr().String())
	}
	return ln.Addr(), nil
}
