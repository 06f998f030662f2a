// Package telemetry gives Switchyard's long-running processes (the worker, `starter serve` and
// `starter dev`) their metrics and traces.
//
// Why it is shaped this way:
//
//   - One OpenTelemetry MeterProvider per process feeds everything: the Temporal SDK's own client
//     and worker metrics (through the SDK's OpenTelemetry MetricsHandler), Switchyard's runbook,
//     step and approval metrics (recorded by workflow code through workflow.GetMetricsHandler,
//     which drops them during replay, so a replayed run is never counted twice), and the intake
//     counters. It is exported in the Prometheus text format on a registry of its own, so nothing
//     registered globally by a library leaks into /metrics and tests can build several side by side.
//   - Durations are histograms in seconds with buckets from 5 ms to 4 h: a step is a call of a few
//     hundred milliseconds, a wait or an approval takes minutes, a failover tens of minutes. The
//     OpenTelemetry default buckets (0 to 10,000 in the unit) would lump every step into one bucket.
//   - Tracing is the SDK's OpenTelemetry interceptor set on the client, which the SDK also applies
//     to workers built from that client: a run's start, workflow, activities and child runbooks
//     share one trace, and workflow and activity log lines carry TraceID and SpanID. Spans are
//     exported over OTLP/gRPC only when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; otherwise they are created and propagated but not
//     exported, which costs little and keeps the ids in the logs.
//   - Metrics are served on a listener of their own (--metrics-addr), never on the intake's public
//     port: Slack and SNS reach the intake from the internet, Prometheus should not have to.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// DurationBuckets are the histogram bucket bounds, in seconds, of every duration metric.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}

// MetricsPath is where Handler is mounted by Serve.
const MetricsPath = "/metrics"

// Options configure New.
type Options struct {
	// ServiceName is the service.name of the process's spans (switchyard-worker, ...).
	ServiceName string
	// Getenv reads the OTLP settings; nil means os.Getenv.
	Getenv func(string) string
	// SpanProcessors receive every span besides the OTLP exporter (tests record spans with one).
	SpanProcessors []sdktrace.SpanProcessor
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Telemetry is a process's metrics and tracing.
type Telemetry struct {
	registry *prometheus.Registry
	meters   *sdkmetric.MeterProvider
	tracers  *sdktrace.TracerProvider
	handler  client.MetricsHandler
	tracing  interceptor.Interceptor
	intake   *Intake
	logger   *slog.Logger
	otlp     bool
}

// New builds the providers. Call Shutdown when the process ends, to flush spans.
func New(ctx context.Context, opts Options) (*Telemetry, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "switchyard"
	}
	name := resource.NewSchemaless(attribute.String("service.name", opts.ServiceName))
	res, err := resource.Merge(resource.Default(), name)
	if err != nil {
		res = name // only a schema URL conflict; the name is what matters
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets}})
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithResource(res), sdkmetric.WithView(seconds))

	t := &Telemetry{registry: reg, meters: meters, logger: opts.Logger}
	t.handler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: meters.Meter("temporal-sdk-go"),
		// A metrics error must never take a worker down (the default panics).
		OnError:              func(err error) { opts.Logger.Warn("telemetry: metric error", "err", err) },
		UseMonotonicCounters: true,
	})
	t.intake, err = newIntake(meters.Meter("switchyard-intake"))
	if err != nil {
		_ = meters.Shutdown(ctx)
		return nil, err
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, sp := range opts.SpanProcessors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
	}
	if opts.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || opts.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		// The exporter reads the rest of the standard OTEL_EXPORTER_OTLP_* settings itself
		// (headers, TLS, timeout), so a collector is configured the way every OTel SDK is.
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			_ = meters.Shutdown(ctx)
			return nil, fmt.Errorf("telemetry: OTLP trace exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		t.otlp = true
	}
	t.tracers = sdktrace.NewTracerProvider(tpOpts...)
	t.tracing, err = temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: t.tracers.Tracer("switchyard")})
	if err != nil {
		_ = t.Shutdown(ctx)
		return nil, fmt.Errorf("telemetry: tracing interceptor: %w", err)
	}
	return t, nil
}

// ExportsTraces reports whether spans are exported over OTLP.
func (t *Telemetry) ExportsTraces() bool { return t.otlp }

// MetricsHandler is the Temporal SDK's metrics handler (client.Options.MetricsHandler); workers
// built from the client record through it, and so does workflow.GetMetricsHandler.
func (t *Telemetry) MetricsHandler() client.MetricsHandler { return t.handler }

// TracingInterceptor is the OpenTelemetry tracing interceptor (client.Options.Interceptors).
func (t *Telemetry) TracingInterceptor() interceptor.Interceptor { return t.tracing }

// Intake returns the intake counters.
func (t *Telemetry) Intake() *Intake { return t.intake }

// Instrument sets the metrics handler and adds the tracing interceptor to client options, so that
// the client and every worker built from it are instrumented.
func (t *Telemetry) Instrument(opts *client.Options) {
	opts.MetricsHandler = t.handler
	opts.Interceptors = append(opts.Interceptors, t.tracing)
}

// Handler serves the metrics in the Prometheus exposition format.
func (t *Telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(t.logger.Handler(), slog.LevelWarn)})
}

// Serve listens on addr at once (so a port clash fails the process at start) and serves
// GET /metrics there until ctx ends. It returns the bound address (addr may ask for port 0).
func (t *Telemetry) Serve(ctx context.Context, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, t.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(t.logger.Handler(), slog.LevelWarn)}
	t.logger.Info("metrics listening", "url", "http://"+ln.Addr().String()+MetricsPath)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.logger.Error("telemetry: metrics server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), nil
}

// Shutdown flushes pending spans and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.tracers != nil {
		errs = append(errs, t.tracers.Shutdown(ctx))
	}
	errs = append(errs, t.meters.Shutdown(ctx))
	return errors.Join(errs...)
}

// attrs is a shorthand for an attribute set option.
func attrs(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(kv...))
}
