package telemetry

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func newTest(t *testing.T) *Telemetry {
	t.Helper()
	tel, err := New(context.Background(), Options{ServiceName: "test", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

// scrape fetches url and parses the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s: %s", url, resp.Status, b)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// sample returns the metric of family name whose labels include want, or nil.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func TestMetricsEndpointServesSDKAndIntakeMetrics(t *testing.T) {
	tel := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := tel.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// What the Temporal SDK and workflow.GetMetricsHandler do with the handler.
	h := tel.MetricsHandler().WithTags(map[string]string{"runbook": "failover", "outcome": "succeeded"})
	h.Counter("switchyard_runbook_runs_total").Inc(2)
	h.Timer("switchyard_runbook_run_duration_seconds").Record(90 * time.Second)
	h.Timer("switchyard_runbook_run_duration_seconds").Record(30 * time.Millisecond)
	tel.MetricsHandler().Counter("temporal_request").Inc(1)

	in := tel.Intake()
	in.SlackAccepted("command", "http")
	in.SlackAccepted("command", "http")
	in.SlackRefused("bad_signature", "http")
	counts := AlarmCounts{Received: 5, Started: 1, Attached: 3, Ignored: 1, Deduped: 1}
	if err := in.ObserveAlarms(func() AlarmCounts { return counts }); err != nil {
		t.Fatal(err)
	}
	var nilIntake *Intake
	nilIntake.SlackAccepted("command", "http") // must not panic

	url := "http://" + addr.String() + MetricsPath
	fams := scrape(t, url)

	if m := sample(fams, "switchyard_runbook_runs_total", map[string]string{"runbook": "failover", "outcome": "succeeded"}); m == nil || m.GetCounter().GetValue() != 2 {
		t.Errorf("switchyard_runbook_runs_total{runbook=failover,outcome=succeeded} = %v, want a counter of 2", m)
	}
	m := sample(fams, "switchyard_runbook_run_duration_seconds", map[string]string{"runbook": "failover"})
	if m == nil || m.GetHistogram().GetSampleCount() != 2 {
		t.Fatalf("switchyard_runbook_run_duration_seconds = %v, want a histogram of 2 samples", m)
	}
	// The seconds buckets apply: 30 ms lands at or below 0.05 s, 90 s above 60 s.
	var le05, le60 uint64
	for _, b := range m.GetHistogram().GetBucket() {
		switch b.GetUpperBound() {
		case 0.05:
			le05 = b.GetCumulativeCount()
		case 60:
			le60 = b.GetCumulativeCount()
		}
	}
	if le05 != 1 || le60 != 1 {
		t.Errorf("buckets le=0.05: %d, le=60: %d; want 1 and 1 (%v)", le05, le60, m.GetHistogram().GetBucket())
	}
	if m := sample(fams, "temporal_request_total", nil); m == nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("temporal_request_total = %v, want 1 (SDK counters are monotonic)", m)
	}
	if m := sample(fams, "switchyard_slack_requests_accepted_total", map[string]string{"kind": "command", "transport": "http"}); m == nil || m.GetCounter().GetValue() != 2 {
		t.Errorf("slack accepted = %v, want 2", m)
	}
	if m := sample(fams, "switchyard_slack_requests_refused_total", map[string]string{"reason": "bad_signature"}); m == nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("slack refused = %v, want 1", m)
	}
	if m := sample(fams, "switchyard_alarm_events_received_total", nil); m == nil || m.GetCounter().GetValue() != 5 {
		t.Errorf("alarm received = %v, want 5", m)
	}
	for result, want := range map[string]float64{"started": 1, "attached": 3, "ignored": 1, "deduped": 1, "failed": 0} {
		if m := sample(fams, "switchyard_alarm_events_total", map[string]string{"result": result}); m == nil || m.GetCounter().GetValue() != want {
			t.Errorf("alarm events result=%s = %v, want %v", result, m, want)
		}
	}
	// Observed counters are read at each scrape.
	counts.Received, counts.Attached = 9, 7
	fams = scrape(t, url)
	if m := sample(fams, "switchyard_alarm_events_total", map[string]string{"result": "attached"}); m == nil || m.GetCounter().GetValue() != 7 {
		t.Errorf("after more alarms: attached = %v, want 7", m)
	}
	if fams["go_goroutines"] == nil {
		t.Error("go runtime metrics missing")
	}
	// A second listener on the same address is refused at once.
	if _, err := tel.Serve(ctx, addr.String()); err == nil {
		t.Error("Serve on a busy address did not fail")
	}
	cancel()
	waitUntil(t, "the metrics listener closes", func() bool {
		_, err := http.Get(url)
		return err != nil
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := newTest(t), newTest(t)
	a.Intake().SlackAccepted("command", "socket")
	srv := &http.Server{Handler: b.Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	fams := scrape(t, "http://"+ln.Addr().String())
	if m := sample(fams, "switchyard_slack_requests_accepted_total", nil); m != nil {
		t.Errorf("b serves a's counter: %v", m)
	}
}

func TestOTLPOnlyWhenConfigured(t *testing.T) {
	tel := newTest(t)
	if tel.ExportsTraces() {
		t.Error("exports traces with no OTLP endpoint set")
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
	tel2, err := New(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if !tel2.ExportsTraces() {
		t.Error("does not export traces with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tel2.Shutdown(ctx) // nothing listens there; shutdown must still return
	if ctx.Err() != nil {
		t.Error("shutdown with an unreachable collector did not return before its deadline")
	}
}
