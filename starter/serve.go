package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchyard-dr/switchyard/internal/logging"
	"github.com/switchyard-dr/switchyard/internal/slackapp"
)

// serveOptions are the flags of `starter serve`.
type serveOptions struct {
	connFlags
	addr       string
	socketMode bool
	logLevel   string
}

// runServe runs the starter's intake: Slack's interactivity and slash-command requests over HTTP
// (and, with --socket-mode, over an outbound Socket Mode connection). It holds no state of its
// own — approvals and runs live in Temporal — so it can be restarted or run twice behind a load
// balancer without losing a click.
func runServe(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("serve", cio)
	var o serveOptions
	o.register(fs)
	fs.StringVar(&o.addr, "addr", envOr(cio.getenv, "SWITCHYARD_ADDR", "127.0.0.1:8080"), "HTTP listen address for POST /slack/interactions and /slack/commands")
	fs.BoolVar(&o.socketMode, "socket-mode", false, "also take Slack requests over Socket Mode (needs SLACK_APP_TOKEN)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	logger, err := logging.New(cio.stderr, "text", o.logLevel)
	if err != nil {
		return err
	}
	cfg := slackapp.ConfigFromEnv(cio.getenv)
	if !cfg.Enabled() {
		return errors.New("serve: Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see docs/slack/README.md)")
	}
	if !o.socketMode && cfg.SigningSecret == "" {
		return errors.New("serve: SLACK_SIGNING_SECRET is required to verify requests from Slack over HTTP")
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := slackapp.NewHandler(slackapp.HandlerOptions{Config: cfg, Temporal: c, Logger: logger})
	if err != nil {
		return err
	}
	defer h.Wait()

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.addr, err)
	}
	srv := newIntakeServer(h, logger)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if o.socketMode {
		go func() { errc <- h.RunSocketMode(ctx, cfg.AppToken) }()
	}
	fmt.Fprintf(cio.stdout, "Switchyard intake listening on http://%s (POST /slack/interactions, /slack/commands)\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
			err = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return err
}

// newIntakeServer routes Slack's requests to h. Timeouts are short because Slack itself gives up
// after 3 seconds and bodies are small.
func newIntakeServer(h http.Handler, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}
