package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/internal/telemetry/telemetrytest"
	"github.com/switchyard-dr/switchyard/workflows"
)

// observedRunbook has two steps around an approval, so a run records three step durations and one
// approval latency.
const observedRunbook = `schema: switchyard/v1
name: observed
lock: none
steps:
  - id: one
    action: core.echo
    with: {message: "one"}
  - id: gate
    approval: {message: "go?", approvers: [bob], timeout: 10m}
  - id: two
    action: core.echo
    with: {message: "two"}
`

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWorkerServesMetricsAndLogsRunIDs runs the worker's main against an embedded server with
// --metrics-addr and --log-format json, runs a runbook with an approval through it, and reads
// what an operator would: the Prometheus endpoint and the JSON log lines.
func TestWorkerServesMetricsAndLogsRunIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	lab, err := os.ReadFile("../runbooks/environments/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// No Slack: the run posts nothing, and needs no token.
	lab = []byte(strings.Replace(string(lab), "slack:\n  channel: \"#switchyard-lab\"\n", "", 1))
	mustWrite(t, filepath.Join(dir, "environments", "lab.yaml"), lab)
	mustWrite(t, filepath.Join(dir, "observed.yaml"), []byte(observedRunbook))

	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	srv, err := devserver.Start(ctx, devserver.Options{Port: port, UIPort: -1, SearchAttributes: sa,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	metricsPort, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	var logs syncBuffer
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(wctx, []string{"--address", srv.FrontendHostPort(), "--runbooks", dir, "--log-format", "json",
			"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort)}, func(string) string { return "" }, &logs)
	}()
	defer func() {
		stopWorker()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()

	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Logger: discardLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := fmt.Sprintf("observed/%d", time.Now().UnixNano())
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.RunbookWorkflowType, workflows.RunInput{Runbook: "observed", Environment: "lab", RequestedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the approval step waits", func() bool {
		v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
		if err != nil {
			return false
		}
		var p workflows.Progress
		if v.Get(&p) != nil {
			return false
		}
		for _, s := range p.Steps {
			if s.ID == "gate" {
				return s.Status == workflows.StatusWaiting
			}
		}
		return false
	})
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.ApproveUpdate,
		Args: []any{workflows.Decision{Step: "gate", Approve: true, By: "bob", Source: "cli"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var res workflows.Result
	if err := wr.Get(ctx, &res); err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("outcome %s, want succeeded", res.Outcome)
	}

	// Metrics are recorded before the workflow task completes; the scrape may still race the
	// worker's completion bookkeeping, hence the deadline.
	var fams map[string]*dto.MetricFamily
	eventually(t, "the run's metrics are served", func() bool {
		fams = telemetrytest.Scrape(metricsURL)
		return telemetrytest.Value(fams, workflows.MetricRunbookRuns, map[string]string{"runbook": "observed"}) > 0 &&
			telemetrytest.Value(fams, "temporal_workflow_completed_total", map[string]string{"workflow_type": workflows.RunbookWorkflowType}) > 0
	})
	if v := telemetrytest.Value(fams, workflows.MetricRunbookRuns, map[string]string{"runbook": "observed", "environment": "lab", "outcome": "succeeded", "mode": "execute"}); v != 1 {
		t.Errorf("%s{runbook=observed,outcome=succeeded} = %v, want 1", workflows.MetricRunbookRuns, v)
	}
	if v := telemetrytest.Value(fams, workflows.MetricRunbookRunDuration, map[string]string{"runbook": "observed"}); v != 1 {
		t.Errorf("%s count = %v, want 1", workflows.MetricRunbookRunDuration, v)
	}
	if v := telemetrytest.Value(fams, workflows.MetricStepDuration, map[string]string{"runbook": "observed"}); v != float64(len(res.Steps)) || v != 3 {
		t.Errorf("%s count = %v, want one per step (%d)", workflows.MetricStepDuration, v, len(res.Steps))
	}
	if v := telemetrytest.Value(fams, workflows.MetricStepDuration, map[string]string{"runbook": "observed", "kind": "action", "status": "succeeded"}); v != 2 {
		t.Errorf("%s{kind=action} count = %v, want 2", workflows.MetricStepDuration, v)
	}
	if v := telemetrytest.Value(fams, workflows.MetricApprovalLatency, map[string]string{"runbook": "observed", "step": "gate", "decision": "approved"}); v != 1 {
		t.Errorf("%s{decision=approved} count = %v, want 1", workflows.MetricApprovalLatency, v)
	}
	// The SDK's own client and worker metrics share the endpoint.
	for _, name := range []string{"temporal_request_total", "temporal_workflow_endtoend_latency_seconds", "temporal_workflow_task_execution_latency_seconds"} {
		if telemetrytest.Value(fams, name, nil) <= 0 {
			t.Errorf("SDK metric %s missing or zero", name)
		}
	}

	// The run's end is logged as JSON with the ids the SDK's slog logger adds.
	var ended bool
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		if line["WorkflowID"] != id {
			continue
		}
		if line["RunID"] != wr.GetRunID() {
			t.Errorf("log line of %s has RunID %v, want %s: %s", id, line["RunID"], wr.GetRunID(), sc.Text())
		}
		if line["msg"] == "runbook run ended" {
			ended = line["outcome"] == workflows.OutcomeSucceeded
		}
	}
	if !ended {
		t.Errorf("no JSON line \"runbook run ended\" with WorkflowID %s and outcome succeeded in:\n%s", id, logs.String())
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type discardLogger struct{}

func (discardLogger) Debug(string, ...any) {}
func (discardLogger) Info(string, ...any)  {}
func (discardLogger) Warn(string, ...any)  {}
func (discardLogger) Error(string, ...any) {}
