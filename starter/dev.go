//go:build !nodev

package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/logging"
	"github.com/switchyard-dr/switchyard/internal/slackapp"
	"github.com/switchyard-dr/switchyard/internal/telemetry"
	"github.com/switchyard-dr/switchyard/workflows"
)

// devOptions are the flags of `starter dev`.
type devOptions struct {
	ip, dbFile, runbooks, namespace string
	port, uiPort                    int
	logLevel                        string
	// withLab starts the lab on its default ports (runbooks/environments/lab.yaml) beside the
	// server; labRate is its producers' events per second.
	withLab bool
	labRate float64
	// interceptors wrap the worker (benchmarks time the activities with one).
	interceptors []interceptor.WorkerInterceptor
	// getenv reads SLACK_* settings; nil means Slack is off (tests).
	getenv func(string) string
	// metricsAddr serves the worker's and client's metrics at /metrics when set.
	metricsAddr string
	// statusAddr serves the status page (statuspage.go); "off" or "" serves none.
	statusAddr string
	// telemetry instruments the client and worker (metrics, tracing); nil leaves them bare.
	telemetry *telemetry.Telemetry
}

// runDev runs everything a laptop needs in one process: the Temporal server with its Web UI, and a
// worker. It blocks until interrupted.
func runDev(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("dev", cio)
	var o devOptions
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "address to listen on")
	fs.IntVar(&o.port, "port", 7233, "Temporal frontend gRPC port")
	fs.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port (-1: no UI)")
	fs.StringVar(&o.dbFile, "db-file", "", "SQLite file to keep runs across restarts (default: in memory)")
	fs.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	var folder runbooksOptions
	folder.register(fs, cio, "runbook folder")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.withLab, "lab", true, "also run the lab (two Regions on the ports of runbooks/environments/lab.yaml)")
	fs.Float64Var(&o.labRate, "lab-rate", 20, "events per second the lab's producers write (0: none)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", cio.getenv("SWITCHYARD_METRICS_ADDR"), "serve Prometheus metrics of the in-process worker on this address at /metrics, e.g. :9090 (env SWITCHYARD_METRICS_ADDR; default off)")
	fs.StringVar(&o.statusAddr, "status-addr", envOr(cio.getenv, "SWITCHYARD_STATUS_ADDR", defaultDevStatusAddr), "serve the internal, read-only status page on this address (off: none; env SWITCHYARD_STATUS_ADDR)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	o.getenv, o.runbooks = cio.getenv, folder.runbooks
	logger, err := logging.New(cio.stderr, "text", o.logLevel)
	if err != nil {
		return err
	}
	if o.telemetry, err = telemetry.New(ctx, telemetry.Options{ServiceName: "switchyard-dev", Getenv: cio.getenv, Logger: logger}); err != nil {
		return err
	}
	defer shutdownTelemetry(o.telemetry)
	if o.metricsAddr != "" {
		if _, err := o.telemetry.Serve(ctx, o.metricsAddr); err != nil {
			return err
		}
	}
	// With the lab, the status page shows the lab's environment only: the folder's other
	// environments (example.yaml) name real accounts this machine cannot read.
	var pageEnvs []string
	if o.withLab {
		// The lab first: the worker's activities talk to it from the first run on.
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		l, err := lab.Start(lctx, lab.Options{Logger: logger.With("component", "lab"), ProducerRate: o.labRate, WithEventIDs: true})
		cancel()
		if err != nil {
			return fmt.Errorf("start the lab (is another lab or `starter dev` running? --lab=false runs without it): %w", err)
		}
		defer l.Close()
		pageEnvs = []string{l.Environment().Name}
		printEndpoints(cio.stdout, l.Endpoints(), o.labRate)
		fmt.Fprintln(cio.stdout)
	}
	env, err := startDev(ctx, o, logger)
	if err != nil {
		return err
	}
	defer env.stop()
	if o.withLab {
		startLabReadiness(ctx, env.client, logger) // readiness.go: the lab's schedule and a first evaluation
	}
	if !statusPageOff(o.statusAddr) {
		addr, err := startStatusPage(ctx, statusPageOptions{addr: o.statusAddr, runbooks: o.runbooks, namespace: o.namespace, uiURL: env.server.UIURL(), environments: pageEnvs}, env.client, logger)
		if err != nil {
			return err
		}
		fmt.Fprintf(cio.stdout, "Status page (internal, read-only): http://%s/\n", addr)
	}
	fmt.Fprintf(cio.stdout, `Switchyard dev environment is up.
  Temporal UI:       %s
  Temporal frontend: %s (namespace %s)
  Task queue:        %s
Start a runbook from the UI (Start Workflow: task queue %q, workflow type %q) or:
  go run ./starter run demo --env lab --follow
  go run ./starter run failover --env lab --param target=us-west-2 --follow
Break the lab with: go run ./starter lab fault impair-region --region us-east-1
Press Ctrl-C to stop.
`, orNone(env.server.UIURL()), env.server.FrontendHostPort(), o.namespace, workflows.TaskQueue, workflows.TaskQueue, workflows.RunbookWorkflowType)
	<-ctx.Done()
	return nil
}

// devEnv is a running dev environment.
type devEnv struct {
	server *devserver.Server
	client client.Client
	worker worker.Worker
}

func (e *devEnv) stop() {
	if e.worker != nil {
		e.worker.Stop()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.server != nil {
		_ = e.server.Stop()
	}
}

func startDev(ctx context.Context, o devOptions, logger *slog.Logger) (*devEnv, error) {
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		IP: o.ip, Port: o.port, UIPort: o.uiPort, DatabaseFile: o.dbFile,
		Namespaces: []string{o.namespace}, SearchAttributes: sa, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	env := &devEnv{server: srv}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	copts := client.Options{HostPort: srv.FrontendHostPort(), Namespace: o.namespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "worker"))}
	if o.telemetry != nil {
		o.telemetry.Instrument(&copts)
	}
	c, err := client.DialContext(dctx, copts)
	if err != nil {
		env.stop()
		return nil, fmt.Errorf("connect to dev server: %w", err)
	}
	env.client = c
	w := worker.New(c, workflows.TaskQueue, worker.Options{Interceptors: o.interceptors})
	workflows.Register(w)
	aopts := activities.Options{RunbookDir: o.runbooks, Logger: logger}
	if o.getenv != nil {
		notifier, err := slackapp.NotifierFromEnv(o.getenv, srv.UIURL(), o.namespace, logger)
		if err != nil {
			env.stop()
			return nil, fmt.Errorf("slack: %w", err)
		}
		if notifier != nil {
			aopts.Notifier = notifier
		}
	}
	activities.RegisterAll(w, aopts)
	if err := w.Start(); err != nil {
		env.stop()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	env.worker = w
	logger.Info("dev environment started", "frontend", srv.FrontendHostPort(), "ui", srv.UIURL())
	return env, nil
}
