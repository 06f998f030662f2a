package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/logging"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/slackapp"
	"github.com/switchyard-dr/switchyard/internal/telemetry"
	"github.com/switchyard-dr/switchyard/internal/temporalconn"
	"github.com/switchyard-dr/switchyard/internal/triggers"
)

// serveOptions are the flags of `starter serve`.
type serveOptions struct {
	clientOptions
	runbooksOptions
	addr        string
	socketMode  bool
	logLevel    string
	alarmQueues multiFlag
	snsTopics   multiFlag
	metricsAddr string
}

// runServe runs the starter's intake: Slack's interactivity and slash-command requests over HTTP
// (and, with --socket-mode, over an outbound Socket Mode connection), and CloudWatch alarms from
// SQS queues (--alarm-queue) and SNS (POST /alarms/sns) when the runbook folder has trigger rules.
// It holds no state of its own — approvals and runs live in Temporal, and the alarm cooldown is
// read from Temporal — so it can be restarted or run twice without losing a click or an alarm.
func runServe(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("serve", cio)
	var o serveOptions
	o.clientOptions.register(fs)
	o.runbooksOptions.register(fs, cio, "runbook folder; alarms are matched against its triggers/*.yaml")
	fs.StringVar(&o.addr, "addr", envOr(cio.getenv, "SWITCHYARD_ADDR", "127.0.0.1:8080"), "HTTP listen address for POST /slack/interactions and /slack/commands")
	fs.BoolVar(&o.socketMode, "socket-mode", false, "also take Slack requests over Socket Mode (needs SLACK_APP_TOKEN)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Var(&o.alarmQueues, "alarm-queue", "SQS queue of EventBridge alarm events to poll: an AWS queue URL, or REGION=URL (repeatable; env SWITCHYARD_ALARM_QUEUES, comma-separated)")
	fs.Var(&o.snsTopics, "sns-topic", "SNS topic ARN accepted by POST /alarms/sns, besides the rules files' sns_topics (repeatable)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", cio.getenv("SWITCHYARD_METRICS_ADDR"), "serve Prometheus metrics (intake counters, Temporal client) on this address at /metrics, e.g. :9091; keep it off the public intake address (env SWITCHYARD_METRICS_ADDR; default off)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if len(o.alarmQueues) == 0 {
		if v := cio.getenv("SWITCHYARD_ALARM_QUEUES"); v != "" {
			o.alarmQueues = strings.Split(v, ",")
		}
	}
	logger, err := logging.New(cio.stderr, "text", o.logLevel)
	if err != nil {
		return err
	}
	cfg := slackapp.ConfigFromEnv(cio.getenv)
	// Alarms are served when the runbook folder has trigger rules; Slack when it is configured.
	// Either alone is a valid intake.
	alarms := len(o.alarmQueues) > 0 || len(o.snsTopics) > 0 || hasTriggerRules(o.runbooks)
	if !cfg.Enabled() && !alarms {
		return errors.New("serve: nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see docs/slack/README.md), or add trigger rules (runbooks/triggers/) and --alarm-queue")
	}
	if cfg.Enabled() && !o.socketMode && cfg.SigningSecret == "" {
		return errors.New("serve: SLACK_SIGNING_SECRET is required to verify requests from Slack over HTTP")
	}
	tel, err := telemetry.New(ctx, telemetry.Options{ServiceName: "switchyard-intake", Getenv: cio.getenv, Logger: logger})
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel)
	copts, err := o.options(cio, logger)
	if err != nil {
		return err
	}
	tel.Instrument(&copts)
	c, err := temporalconn.Dial(ctx, copts)
	if err != nil {
		return err
	}
	defer c.Close()
	var slackHandler *slackapp.Handler
	if cfg.Enabled() {
		slackHandler, err = slackapp.NewHandler(slackapp.HandlerOptions{Config: cfg, Temporal: c, Logger: logger, Metrics: tel.Intake()})
		if err != nil {
			return err
		}
		defer slackHandler.Wait()
	}
	var alarmService *triggers.Service
	if alarms {
		var poster triggers.Poster = activities.LogNotifier{Logger: logger}
		if cfg.Enabled() {
			if n, err := slackapp.NewNotifier(slackapp.NotifierOptions{Config: cfg, Logger: logger}); err == nil {
				poster = n
			} else {
				logger.Warn("serve: notify rules will only be logged", "err", err)
			}
		}
		alarmService, err = triggers.NewService(ctx, triggers.ServiceOptions{RunbookDir: o.runbooks, Temporal: c,
			Queues: o.alarmQueues, SNSTopics: o.snsTopics, Poster: poster, Logger: logger})
		if err != nil {
			return fmt.Errorf("serve: alarm intake: %w", err)
		}
		if err := tel.Intake().ObserveAlarms(alarmCounts(alarmService.Intake())); err != nil {
			return err
		}
	}
	if o.metricsAddr != "" {
		if _, err := tel.Serve(ctx, o.metricsAddr); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.addr, err)
	}
	srv := newIntakeServer(slackHandler, alarmService, logger)
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	var routes []string
	if slackHandler != nil {
		routes = append(routes, "POST /slack/interactions", "/slack/commands")
		if o.socketMode {
			go func() { errc <- slackHandler.RunSocketMode(ctx, cfg.AppToken) }()
		}
	}
	if alarmService != nil {
		routes = append(routes, "POST /alarms/sns")
		go func() { errc <- alarmService.Run(ctx) }()
	}
	fmt.Fprintf(cio.stdout, "Switchyard intake listening on http://%s (%s)\n", ln.Addr(), strings.Join(routes, ", "))
	if len(o.alarmQueues) > 0 {
		fmt.Fprintf(cio.stdout, "polling alarm queues: %s\n", strings.Join(o.alarmQueues, ", "))
	}
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

// alarmCounts reads the alarm intake's counters for /metrics.
func alarmCounts(in *triggers.Intake) func() telemetry.AlarmCounts {
	return func() telemetry.AlarmCounts {
		s := in.Stats()
		return telemetry.AlarmCounts{Received: s.Received, Invalid: s.Invalid, Started: s.Started, Attached: s.Attached,
			Notified: s.Notified, Ignored: s.Ignored, Deduped: s.Deduped, Failed: s.Failed}
	}
}

// hasTriggerRules reports whether the runbook folder has trigger rules files.
func hasTriggerRules(runbooks string) bool {
	// An unreadable folder counts as having rules: the intake then starts and says why it cannot
	// read them, instead of starting without alarms and saying nothing.
	files, err := runbook.YAMLFiles(filepath.Join(runbooks, triggers.Dir))
	return err != nil || len(files) > 0
}

// newIntakeServer routes Slack's requests to slack and alarms to alarms (either may be nil).
// Timeouts are short because Slack itself gives up after 3 seconds, SNS after 15, and bodies are
// small.
func newIntakeServer(slack *slackapp.Handler, alarms *triggers.Service, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	if slack != nil {
		mux.Handle("POST /slack/", slack)
	}
	if alarms != nil {
		mux.Handle("POST /alarms/sns", alarms.SNSHandler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// shutdownTelemetry flushes spans on the way out; a collector that is down must not hold the
// process.
func shutdownTelemetry(t *telemetry.Telemetry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.Shutdown(ctx)
}
