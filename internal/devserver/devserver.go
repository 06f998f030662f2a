// Package devserver runs a complete Temporal server (frontend, history, matching and worker
// services on SQLite) and the Temporal Web UI inside the calling Go process.
//
// It exists so that `starter dev` and integration tests need nothing but `go run`/`go test`:
// no Docker, no `temporal` CLI binary and no download at run time. Temporal ships no importable
// package with these properties (the CLI's dev server is internal; go.temporal.io/server/temporaltest
// has no UI, no fixed ports and no file database), so this package wires the public server and
// ui-server APIs together the way the Temporal CLI's `server start-dev` does.
//
// SQLite persistence is for development and tests only; the production worker talks to a real
// cluster and must never import this package (it links the whole server).
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/temporal"
)

// Defaults mirror `temporal server start-dev`, so SDK clients, the `temporal` CLI and browser
// bookmarks that assume the usual local addresses keep working.
const (
	DefaultIP        = "127.0.0.1"
	DefaultPort      = 7233
	DefaultNamespace = "default"
	// uiPortOffset puts the UI at frontend port + 1000 (7233 -> 8233), as the CLI does.
	uiPortOffset = 1000
	// defaultReadyTimeout bounds Start when the caller's context has no deadline: a server that is
	// not answering after this long is broken, and hanging forever would hide that.
	defaultReadyTimeout = 60 * time.Second
)

// Options configures Start. The zero value is usable: it gives the CLI's defaults with an
// in-memory database.
type Options struct {
	// IP is the address every listener binds to. Optional; default 127.0.0.1 so a laptop does not
	// expose an unauthenticated Temporal to its network. "0.0.0.0" or "::" listen everywhere
	// (clients are then pointed at the loopback address).
	IP string
	// Port is the frontend gRPC port SDK clients dial. Optional; 0 means 7233.
	Port int
	// HTTPPort is the frontend HTTP API port. Optional; 0 picks a free port, because few
	// callers use the HTTP API and a fixed default would only add a way to collide.
	HTTPPort int
	// UIPort is the Web UI port. Optional; 0 means Port+1000 (8233 for the default Port);
	// negative runs without the UI (tests, headless machines).
	UIPort int
	// DatabaseFile is the SQLite file holding all server state. Optional; "" keeps state in
	// memory (lost on Stop). A missing file is created with the schema; an existing file is
	// reused, so workflow runs survive a restart. The directory must exist.
	DatabaseFile string
	// Namespaces are registered before the server starts. Optional; default ["default"].
	Namespaces []string
	// SearchAttributes are custom search attributes registered on every namespace before the
	// server starts (and added on start if a reused database file lacks them). Optional. SQLite
	// visibility allows at most 10 Keyword, 3 Bool, 3 Int, 3 Double, 3 Datetime, 3 KeywordList
	// and 3 Text attributes per namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives this package's messages and, through an adapter, the server's logs.
	// Optional; default is a text logger on stderr.
	Logger *slog.Logger
	// ServerLogLevel drops server log records below this level before they reach Logger; the
	// server is chatty at Info, which would bury the caller's own output. Optional; nil means Warn.
	ServerLogLevel slog.Leveler
	// DynamicConfig holds extra server dynamic config values by key (for example
	// "frontend.enableUpdateWorkflowExecution": true). Optional; values override this package's
	// defaults (see DefaultDynamicConfig).
	DynamicConfig map[string]any
}

// withDefaults returns a copy of o with the optional fields filled in. It does not modify the
// caller's maps or slices.
func (o Options) withDefaults() Options {
	if o.IP == "" {
		o.IP = DefaultIP
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.UIPort == 0 {
		o.UIPort = o.Port + uiPortOffset
	}
	if len(o.Namespaces) == 0 {
		o.Namespaces = []string{DefaultNamespace}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.ServerLogLevel == nil {
		o.ServerLogLevel = slog.LevelWarn
	}
	return o
}

// validate reports every problem at once, so a misconfigured command line is fixed in one go.
// It expects withDefaults to have run.
func (o Options) validate() error {
	var errs []error
	if net.ParseIP(o.IP) == nil {
		errs = append(errs, fmt.Errorf("IP %q is not an IP address (use 127.0.0.1, or 0.0.0.0 for all interfaces)", o.IP))
	}
	checkPort := func(name string, p int) {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %d is out of range 1-65535", name, p))
		}
	}
	checkPort("Port", o.Port)
	if o.HTTPPort != 0 {
		checkPort("HTTPPort", o.HTTPPort)
		if o.HTTPPort == o.Port {
			errs = append(errs, fmt.Errorf("HTTPPort %d is the same as Port", o.HTTPPort))
		}
	}
	if o.UIPort >= 0 {
		checkPort("UIPort", o.UIPort)
		if o.UIPort == o.Port || o.UIPort == o.HTTPPort {
			errs = append(errs, fmt.Errorf("UIPort %d is the same as another port", o.UIPort))
		}
	}
	seen := map[string]bool{}
	for _, ns := range o.Namespaces {
		switch {
		case ns == "":
			errs = append(errs, errors.New("empty namespace name"))
		case seen[ns]:
			errs = append(errs, fmt.Errorf("namespace %q is listed twice", ns))
		}
		seen[ns] = true
	}
	for name, typ := range o.SearchAttributes {
		if name == "" {
			errs = append(errs, errors.New("empty search attribute name"))
		}
		if _, known := enumspb.IndexedValueType_name[int32(typ)]; !known || typ == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			errs = append(errs, fmt.Errorf("search attribute %q has invalid type %v", name, typ))
		}
	}
	for key := range o.DynamicConfig {
		if key == "" {
			errs = append(errs, errors.New("empty dynamic config key"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid devserver options: %w", err)
	}
	return nil
}

// Server is a running embedded Temporal server, with its UI when enabled.
type Server struct {
	opts     Options
	log      *slog.Logger
	temporal temporal.Server
	level    *serverLevel // shared by the server's and the readiness client's loggers
	frontend string       // host:port clients dial
	uiURL    string

	ui     *uiserver.Server
	uiDone chan struct{} // closed when the UI server's Start returns

	stopOnce sync.Once
	stopErr  error
}

// Start starts the server and returns once the frontend answers SDK clients, every namespace is
// usable and the UI (if enabled) serves requests, so callers can dial at once. Fixed ports are
// checked before anything starts, because a busy UI port would otherwise end the whole process
// (ui-server calls Logger.Fatal on a bind error). ctx bounds the wait for readiness; without a
// deadline a minute is allowed.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultReadyTimeout)
		defer cancel()
	}
	began := time.Now()

	if err := checkFixedPorts(opts); err != nil {
		return nil, err
	}
	ports, err := pickInternalPorts(opts)
	if err != nil {
		return nil, err
	}
	db := sqlConfig(opts)
	dbExisted, err := prepareDatabase(opts, db)
	if err != nil {
		return nil, err
	}
	level := &serverLevel{base: opts.ServerLogLevel}
	srvOpts, err := serverOptions(opts, ports, db, level)
	if err != nil {
		return nil, err
	}
	ts, err := temporal.NewServer(srvOpts...)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := ts.Start(); err != nil {
		// Some services may be running; stop them so their ports are free for a retry.
		return nil, errors.Join(fmt.Errorf("start temporal server: %w", err), ts.Stop())
	}

	s := &Server{
		opts:     opts,
		log:      opts.Logger.With("component", "devserver"),
		temporal: ts,
		level:    level,
		frontend: net.JoinHostPort(dialIP(opts.IP), strconv.Itoa(opts.Port)),
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, s.abort(err)
	}
	if opts.UIPort >= 0 {
		if err := s.startUI(ctx); err != nil {
			return nil, s.abort(err)
		}
	}
	s.log.Info("temporal dev server ready",
		"frontend", s.frontend, "http_port", ports.http, "ui", s.uiURL,
		"database", databaseLabel(opts.DatabaseFile), "database_reused", dbExisted,
		"namespaces", opts.Namespaces, "startup", time.Since(began).Round(time.Millisecond))
	return s, nil
}

// abort stops a half-started server so a failed Start leaves no listeners behind.
func (s *Server) abort(cause error) error {
	if err := s.Stop(); err != nil {
		return errors.Join(cause, fmt.Errorf("stop after failed start: %w", err))
	}
	return cause
}

// FrontendHostPort is the host:port to give client.Options.HostPort.
func (s *Server) FrontendHostPort() string { return s.frontend }

// UIURL is the Web UI's base URL, or "" when the server runs without the UI.
func (s *Server) UIURL() string { return s.uiURL }

// Stop stops the UI, then the server. It is safe to call more than once. With an in-memory
// database the state is gone afterwards; with DatabaseFile it is on disk for the next Start.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.level.stopping.Store(true)
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if err := s.temporal.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal server: %w", err)
		}
	})
	return s.stopErr
}

func databaseLabel(file string) string {
	if file == "" {
		return "in-memory"
	}
	return file
}
