// Command worker runs Switchyard's Temporal worker: the runbook interpreter workflows and the
// activities that call MSK, OSI, OpenSearch, Route 53 and CloudWatch. It connects with Temporal's
// standard environment configuration, so the same binary serves the dev server and production.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/logging"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/slackapp"
	"github.com/switchyard-dr/switchyard/internal/telemetry"
	"github.com/switchyard-dr/switchyard/internal/temporalconn"
	"github.com/switchyard-dr/switchyard/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

type options struct {
	runbooks  string
	address   string
	logFormat string
	logLevel  string
	// metricsAddr serves Prometheus /metrics when set.
	metricsAddr string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.runbooks, "runbooks", envOr(getenv, "SWITCHYARD_RUNBOOKS", "runbooks"), "folder of runbook YAML files (env SWITCHYARD_RUNBOOKS)")
	fs.StringVar(&o.address, "address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS or localhost:7233)")
	fs.StringVar(&o.logFormat, "log-format", envOr(getenv, "SWITCHYARD_LOG_FORMAT", "text"), "text or json (env SWITCHYARD_LOG_FORMAT)")
	fs.StringVar(&o.logLevel, "log-level", envOr(getenv, "SWITCHYARD_LOG_LEVEL", "info"), "debug, info, warn or error (env SWITCHYARD_LOG_LEVEL)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", getenv("SWITCHYARD_METRICS_ADDR"), "serve Prometheus metrics on this address at /metrics, e.g. :9090 (env SWITCHYARD_METRICS_ADDR; default off)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	logger, err := logging.New(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	copts, err := temporalconn.Options(temporalconn.Env(getenv), o.address, logger)
	if err != nil {
		return err
	}
	// Metrics and traces of the client and of the worker built from it (workflow, activity and
	// Switchyard's own run, step and approval metrics).
	tel, err := telemetry.New(ctx, telemetry.Options{ServiceName: "switchyard-worker", Getenv: getenv, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx)
	}()
	tel.Instrument(&copts)
	if o.metricsAddr != "" {
		if _, err := tel.Serve(ctx, o.metricsAddr); err != nil {
			return err
		}
	}
	c, err := temporalconn.Dial(ctx, copts)
	if err != nil {
		return err
	}
	defer c.Close()
	if getenv(temporalconn.RequireGlobalNamespaceEnv) == "true" {
		if err := temporalconn.RequireGlobalNamespace(ctx, c, copts); err != nil {
			return err
		}
	}

	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	workflows.Register(w)
	// One store reads the runbooks folder for the engine and every catalog entry (a file is
	// parsed once per change); its reloads are exported with the other metrics.
	store := runbook.NewStore(o.runbooks)
	if err := tel.ObserveRunbookStore(func() telemetry.StoreCounts {
		s := store.Stats()
		return telemetry.StoreCounts{Reloads: s.Reloads, Parses: s.Parses}
	}); err != nil {
		return err
	}
	aopts := activities.Options{RunbookDir: o.runbooks, Store: store, Logger: logger}
	notifier, err := slackapp.NotifierFromEnv(getenv, "", copts.Namespace, logger)
	if err != nil {
		return err
	}
	if notifier != nil {
		aopts.Notifier = notifier
	}
	activities.RegisterAll(w, aopts)
	logger.Info("worker started", "task_queue", workflows.TaskQueue, "address", copts.HostPort, "namespace", copts.Namespace, "runbooks", o.runbooks, "metrics", orOff(o.metricsAddr), "otlp_traces", tel.ExportsTraces())
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
