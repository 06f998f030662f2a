package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/telemetry"
	"github.com/switchyard-dr/switchyard/internal/telemetry/telemetrytest"
	"github.com/switchyard-dr/switchyard/workflows"
)

// slackSignature signs a request body as Slack does: v0=HMAC-SHA256(secret, "v0:ts:body").
func slackSignature(secret, ts, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// TestServeExposesIntakeMetrics runs `starter serve` in-process with Slack and an alarm queue and
// reads its /metrics: refused and accepted Slack requests, and the alarm intake's counters.
func TestServeExposesIntakeMetrics(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	twin := awstwin.New(awstwin.Options{Logger: quiet})
	aws := httptest.NewServer(twin.Handler("us-west-2"))
	t.Cleanup(aws.Close)
	t.Cleanup(twin.Close)
	require.NoError(t, twin.CreateQueue("us-west-2", lab.AlarmQueue))
	// A rule no lab alarm matches: the alarm is ignored, so this test never starts or signals a run
	// on the lab's lock id that other tests use, nor posts to Slack.
	dir := triggerDir(t, `schema: switchyard/v1
environment: lab
rules:
  - name: unmatched
    alarm: no-such-alarm-*
    runbook: demo
    policy: notify
`)
	httpPort, err := devserver.FreePort()
	require.NoError(t, err)
	metricsPort, err := devserver.FreePort()
	require.NoError(t, err)
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "metrics-test-secret"}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--address", shared.server.FrontendHostPort(), "--runbooks", dir,
			"--addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort),
			"--alarm-queue", "us-west-2=" + aws.URL + "/" + awstwin.DefaultAccountID + "/" + lab.AlarmQueue,
			"--log-level", "error"}, cmdIO{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, errOut.String())
	})
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	waitFor(t, "serve's metrics listener", func() bool { return telemetrytest.Scrape(metricsURL) != nil })

	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	post := func(body, secret string) int {
		ts := fmt.Sprint(time.Now().Unix())
		req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", slackSignature(secret, ts, body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	help := "command=%2Fswitchyard&text=help&user_id=U_ALICE"
	waitFor(t, "serve's intake listener", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	require.Equal(t, http.StatusOK, post(help, "metrics-test-secret"))
	require.Equal(t, http.StatusUnauthorized, post(help, "forged"))
	require.Equal(t, http.StatusUnauthorized, post(help, "forged"))

	at := time.Now().UTC().Truncate(time.Millisecond)
	_, err = twin.SendMessage("us-west-2", lab.AlarmQueue, string(alarmEvent("lab-us-west-2-pipeline-not-ingesting", "us-west-2", at)))
	require.NoError(t, err)
	_, err = twin.SendMessage("us-west-2", lab.AlarmQueue, "not an event")
	require.NoError(t, err)

	var fams map[string]*dto.MetricFamily
	waitFor(t, "both alarm messages counted", func() bool {
		fams = telemetrytest.Scrape(metricsURL)
		return telemetrytest.Value(fams, telemetry.MetricAlarmReceived, nil) == 2
	})
	require.Equal(t, 1.0, telemetrytest.Value(fams, telemetry.MetricAlarmResults, map[string]string{"result": "ignored"}))
	require.Equal(t, 1.0, telemetrytest.Value(fams, telemetry.MetricAlarmResults, map[string]string{"result": "invalid"}))
	require.Equal(t, 0.0, telemetrytest.Value(fams, telemetry.MetricAlarmResults, map[string]string{"result": "started"}))
	require.Equal(t, 1.0, telemetrytest.Value(fams, telemetry.MetricSlackAccepted, map[string]string{"kind": "command", "transport": "http"}))
	require.Equal(t, 2.0, telemetrytest.Value(fams, telemetry.MetricSlackRefused, map[string]string{"reason": "bad_signature", "transport": "http"}))
	// The intake's Temporal client is instrumented too (it checked the server when it connected).
	require.Greater(t, telemetrytest.Value(fams, "temporal_request_total", nil), 0.0)
}

// TestDevWorkerIsTracedAndMetered runs a runbook on a dev environment instrumented as
// `starter dev` instruments it: the start, the workflow and its activities are spans of one trace,
// and the worker's run and step metrics are served.
func TestDevWorkerIsTracedAndMetered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	spans := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(ctx, telemetry.Options{ServiceName: "test", Getenv: func(string) string { return "" },
		SpanProcessors: []sdktrace.SpanProcessor{spans}, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { shutdownTelemetry(tel) })
	addr, err := tel.Serve(ctx, "127.0.0.1:0")
	require.NoError(t, err)

	dir := t.TempDir()
	labEnv, err := os.ReadFile("../runbooks/environments/lab.yaml")
	require.NoError(t, err)
	labEnv = []byte(strings.Replace(string(labEnv), "slack:\n  channel: \"#switchyard-lab\"\n", "", 1))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), labEnv, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "traced.yaml"), []byte(`schema: switchyard/v1
name: traced
lock: none
steps:
  - id: one
    action: core.echo
    with: {message: "one"}
  - id: two
    action: core.echo
    with: {message: "two"}
`), 0o644))
	port, err := devserver.FreePort()
	require.NoError(t, err)
	env, err := startDev(ctx, devOptions{ip: "127.0.0.1", port: port, uiPort: -1, namespace: "default", runbooks: dir, telemetry: tel}, quiet)
	require.NoError(t, err)
	t.Cleanup(env.stop)

	wr, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("traced/%d", time.Now().UnixNano()), TaskQueue: workflows.TaskQueue},
		workflows.RunbookWorkflowType, workflows.RunInput{Runbook: "traced", Environment: "lab"})
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, wr.Get(ctx, &res))
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)

	// Spans end as their calls return; the workflow's own span ends with its last task.
	names := func() map[string][]string {
		byName := map[string][]string{}
		for _, s := range spans.Ended() {
			byName[s.Name()] = append(byName[s.Name()], s.SpanContext().TraceID().String())
		}
		return byName
	}
	waitFor(t, "the run's spans", func() bool {
		n := names()
		return len(n["RunWorkflow:"+workflows.RunbookWorkflowType]) > 0 && len(n["RunActivity:core.echo"]) == 2
	})
	n := names()
	require.Len(t, n["StartWorkflow:"+workflows.RunbookWorkflowType], 1)
	trace := n["StartWorkflow:"+workflows.RunbookWorkflowType][0]
	for _, name := range []string{"RunWorkflow:" + workflows.RunbookWorkflowType, "StartActivity:core.echo", "RunActivity:core.echo"} {
		require.NotEmpty(t, n[name], name)
		for _, id := range n[name] {
			require.Equal(t, trace, id, "%s is not in the start's trace", name)
		}
	}

	url := "http://" + addr.String() + telemetry.MetricsPath
	var fams map[string]*dto.MetricFamily
	waitFor(t, "the run's metrics", func() bool {
		fams = telemetrytest.Scrape(url)
		// The SDK counts the completed workflow after its last task is answered, which may come
		// after the run's own metrics (seen in CI): wait for both.
		return telemetrytest.Value(fams, workflows.MetricRunbookRuns, map[string]string{"runbook": "traced"}) > 0 &&
			telemetrytest.Value(fams, "temporal_workflow_completed_total", nil) > 0
	})
	require.Equal(t, 1.0, telemetrytest.Value(fams, workflows.MetricRunbookRuns, map[string]string{"runbook": "traced", "outcome": workflows.OutcomeSucceeded}))
	require.Equal(t, 2.0, telemetrytest.Value(fams, workflows.MetricStepDuration, map[string]string{"runbook": "traced", "kind": "action", "status": string(workflows.StatusSucceeded)}))
	require.Greater(t, telemetrytest.Value(fams, "temporal_workflow_completed_total", nil), 0.0)
}

// TestDevCommandServesMetrics runs `starter dev --metrics-addr` as a user would and scrapes the
// in-process worker's metrics.
func TestDevCommandServesMetrics(t *testing.T) {
	port, err := devserver.FreePort()
	require.NoError(t, err)
	metricsPort, err := devserver.FreePort()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--lab=false", "--port", fmt.Sprint(port), "--ui-port", "-1", "--runbooks", "../runbooks",
			"--log-level", "error", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort)},
			cmdIO{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, errOut.String())
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	var fams map[string]*dto.MetricFamily
	// The worker's pollers report as soon as it starts.
	waitFor(t, "the dev worker's metrics", func() bool {
		fams = telemetrytest.Scrape(url)
		return telemetrytest.Value(fams, "temporal_worker_start_total", map[string]string{"task_queue": workflows.TaskQueue}) > 0
	})
	require.Greater(t, telemetrytest.Value(fams, "temporal_request_total", nil), 0.0)
}
