package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/guard"
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
	statusAddr  string
	alarmMaxAge time.Duration
	limits      intakeLimits
}

// intakeLimits bound what the intake's public endpoints accept (flags of `starter serve`).
type intakeLimits struct {
	slackMaxBody, alarmMaxBody int64
	readTimeout, writeTimeout  time.Duration
	// rate is requests per second per source on /slack/* and on /alarms/* (apart); 0 is no limit.
	rate  float64
	burst int
}

// slackBodyCap is slackapp's own bound on a request body (its maxBody): a larger flag could not
// let more through.
const slackBodyCap = 1 << 20

// Defaults of the intake's limits. The rate allows any team's people and any topic's alarm
// storm far more than they send (Slack answers within 3 s per click; an alarm storm is deduped
// and lands in one run), and turns a flood into 429s SNS retries later.
var defaultIntakeLimits = intakeLimits{slackMaxBody: slackBodyCap, alarmMaxBody: triggers.MaxSNSBody,
	readTimeout: 10 * time.Second, writeTimeout: 10 * time.Second, rate: 20, burst: 40}

func (l *intakeLimits) register(fs *flag.FlagSet) {
	d := defaultIntakeLimits
	fs.Int64Var(&l.slackMaxBody, "slack-max-body", d.slackMaxBody, "largest request body accepted on /slack/* in bytes (413 above; at most 1048576)")
	fs.Int64Var(&l.alarmMaxBody, "alarm-max-body", d.alarmMaxBody, "largest request body accepted on /alarms/* in bytes (413 above; at most 524288)")
	fs.DurationVar(&l.readTimeout, "read-timeout", d.readTimeout, "time allowed to read a whole request, body included")
	fs.DurationVar(&l.writeTimeout, "write-timeout", d.writeTimeout, "time allowed from the end of a request's headers to the end of its response")
	fs.Float64Var(&l.rate, "rate-limit", d.rate, "requests per second per source on /slack/* and /alarms/* (a verified Slack team or SNS topic, else the remote address); beyond it 429 with Retry-After; 0 turns it off")
	fs.IntVar(&l.burst, "rate-burst", d.burst, "requests a source may send at once above --rate-limit")
}

// validate explains a bad limit instead of serving with it.
func (l intakeLimits) validate() error {
	var errs []error
	if l.slackMaxBody <= 0 || l.slackMaxBody > slackBodyCap {
		errs = append(errs, fmt.Errorf("--slack-max-body %d: want 1 to %d bytes", l.slackMaxBody, slackBodyCap))
	}
	if l.alarmMaxBody <= 0 || l.alarmMaxBody > triggers.MaxSNSBody {
		errs = append(errs, fmt.Errorf("--alarm-max-body %d: want 1 to %d bytes", l.alarmMaxBody, triggers.MaxSNSBody))
	}
	if l.readTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--read-timeout %s: want a positive duration", l.readTimeout))
	}
	if l.writeTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--write-timeout %s: want a positive duration", l.writeTimeout))
	}
	if l.rate < 0 || math.IsNaN(l.rate) || math.IsInf(l.rate, 0) {
		errs = append(errs, fmt.Errorf("--rate-limit %v: want 0 (off) or a positive number of requests per second", l.rate))
	}
	if l.rate > 0 && l.burst < 1 {
		errs = append(errs, fmt.Errorf("--rate-burst %d: want at least 1", l.burst))
	}
	if len(errs) > 0 {
		return fmt.Errorf("serve: %w", errors.Join(errs...))
	}
	return nil
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
	fs.DurationVar(&o.alarmMaxAge, "alarm-max-age", triggers.DefaultMaxAge, "alarm events older than this (from the alarm's state change, or the SNS message's Timestamp when older) are recorded and not acted on; 0 acts on events of any age")
	o.limits.register(fs)
	fs.StringVar(&o.metricsAddr, "metrics-addr", cio.getenv("SWITCHYARD_METRICS_ADDR"), "serve Prometheus metrics (intake counters, Temporal client) on this address at /metrics, e.g. :9091; keep it off the public intake address (env SWITCHYARD_METRICS_ADDR; default off)")
	fs.StringVar(&o.statusAddr, "status-addr", envOr(cio.getenv, "SWITCHYARD_STATUS_ADDR", defaultServeStatusAddr), "serve the internal, read-only status page on this address (off: none); it has no authentication, so keep it on loopback or behind your own access control (env SWITCHYARD_STATUS_ADDR)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if err := o.limits.validate(); err != nil {
		return err
	}
	if o.alarmMaxAge < 0 {
		return fmt.Errorf("serve: --alarm-max-age %s: want 0 (any age) or a positive duration", o.alarmMaxAge)
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
			Queues: o.alarmQueues, SNSTopics: o.snsTopics, Poster: poster, Logger: logger, MaxAlarmAge: maxAge(o.alarmMaxAge)})
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
	if !statusPageOff(o.statusAddr) {
		addr, err := startStatusPage(ctx, statusPageOptions{addr: o.statusAddr, runbooks: o.runbooks, namespace: copts.Namespace, uiURL: cfg.UIBaseURL}, c, logger)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		fmt.Fprintf(cio.stdout, "Status page (internal, read-only) on http://%s/\n", addr)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.addr, err)
	}
	srv := newIntakeServer(slackHandler, alarmService, logger, o.limits, tel.Intake())
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
			Notified: s.Notified, Ignored: s.Ignored, Deduped: s.Deduped, Failed: s.Failed, Stale: s.Stale, RateLimited: s.RateLimited}
	}
}

// hasTriggerRules reports whether the runbook folder has trigger rules files.
func hasTriggerRules(runbooks string) bool {
	// An unreadable folder counts as having rules: the intake then starts and says why it cannot
	// read them, instead of starting without alarms and saying nothing.
	files, err := runbook.YAMLFiles(filepath.Join(runbooks, triggers.Dir))
	return err != nil || len(files) > 0
}

// maxAge maps --alarm-max-age to triggers.Options.MaxAge, where 0 means the default and a
// negative age no check.
func maxAge(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// newIntakeServer routes Slack's requests to slack and alarms to alarms (either may be nil),
// each behind its body limit and its own per-source rate limit (internal/guard). Timeouts are
// short because Slack itself gives up after 3 seconds, SNS after 15, and bodies are small; a
// client that sends its request slower than --read-timeout is cut off. slackMetrics (may be nil)
// counts the Slack requests the guard refuses, as the handler counts its own refusals.
func newIntakeServer(slack *slackapp.Handler, alarms *triggers.Service, logger *slog.Logger, limits intakeLimits, slackMetrics slackapp.Metrics) *http.Server {
	mux := http.NewServeMux()
	if slack != nil {
		mux.Handle("POST /slack/", guard.Wrap(slack, guard.Options{MaxBody: limits.slackMaxBody, Logger: logger,
			Limiter: guard.NewLimiter(limits.rate, limits.burst, nil),
			Source:  func(r *http.Request, body []byte) string { return slack.RequestSource(r.Header, body) },
			OnRefuse: func(_ *http.Request, _, reason string) {
				if slackMetrics != nil {
					slackMetrics.SlackRefused(reason, "http")
				}
			}}))
	}
	if alarms != nil {
		in := alarms.Intake()
		mux.Handle("POST /alarms/sns", guard.Wrap(alarms.SNSHandler(), guard.Options{MaxBody: limits.alarmMaxBody, Logger: logger,
			Limiter: guard.NewLimiter(limits.rate, limits.burst, nil), Source: alarms.SNSSource,
			OnRefuse: func(r *http.Request, source, reason string) {
				if reason == guard.RefusedRateLimited {
					in.RateLimited(source)
					return
				}
				in.Invalid(fmt.Errorf("request body over %d bytes", limits.alarmMaxBody), "remote", r.RemoteAddr)
			}}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return &http.Server{Handler: mux, ReadHeaderTimeout: min(5*time.Second, limits.readTimeout), ReadTimeout: limits.readTimeout,
		WriteTimeout: limits.writeTimeout, IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// shutdownTelemetry flushes spans on the way out; a collector that is down must not hold the
// process.
func shutdownTelemetry(t *telemetry.Telemetry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.Shutdown(ctx)
}
