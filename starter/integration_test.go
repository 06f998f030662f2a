package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/workflows"
)

var updateHistories = flag.Bool("update-histories", false, "record workflow histories into workflows/testdata/histories for replay tests")

// shared is one embedded server + worker for the whole package: starting a Temporal server takes
// seconds, and every test uses its own workflow ids.
var shared *devEnv

// sharedLab is the lab every runbook test of the package drives; tests run one at a time and
// put it back as they found it (healed, writes to the primary).
var sharedLab *lab.Lab

// sharedRunbooks is the worker's runbook folder (a copy of ../runbooks bound to sharedLab).
var sharedRunbooks string

func TestMain(m *testing.M) {
	if os.Getenv(serverProcessDB) != "" {
		os.Exit(runServerProcess()) // this binary is a Temporal server for TestServerCrashDuringDrill
	}
	flag.Parse()
	code := func() int {
		ctx := context.Background()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		// One lab for the package, on free ports, with short delays so drills take seconds.
		p, err := startPrivateLab(ctx, lab.Options{ProducerRate: 40, WithEventIDs: true, TestID: "starter-tests",
			PipelineStartDelay: 500 * time.Millisecond, PipelineStopDelay: 300 * time.Millisecond,
			Route53ChangeDelay: 200 * time.Millisecond, ReplicatorFailAfter: 3 * time.Second,
			MetricsInterval: 250 * time.Millisecond, AlarmWindow: 2 * time.Second}, "../runbooks", nil, quiet)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start the lab and the dev environment:", err)
			return 1
		}
		defer p.close()
		sharedLab, shared, sharedRunbooks = p.lab, p.dev, p.dir
		return m.Run()
	}()
	os.Exit(code)
}

// cli runs a starter command in-process against the shared server.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--address", shared.server.FrontendHostPort())
	// The CLI reads the worker's folder, as under `starter dev`: its pre-checks (an unknown
	// environment, a param's type) must see the environments tests add there.
	env := map[string]string{"SWITCHYARD_RUNBOOKS": cmp.Or(sharedRunbooks, "../runbooks")}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	err := run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil && errOut.Len() > 0 {
		err = fmt.Errorf("%w\nstderr: %s", err, errOut.String())
	}
	return out.String(), err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func progressOf(t *testing.T, id string) workflows.Progress {
	t.Helper()
	out, err := cli(t, "status", id, "--json")
	require.NoError(t, err)
	var p workflows.Progress
	require.NoError(t, json.Unmarshal([]byte(out), &p))
	return p
}

func stepOf(p workflows.Progress, path string) workflows.StepState { return stepAt(&p, path) }

func TestDemoRunbookStartedAndApprovedOnEmbeddedServer(t *testing.T) {
	out, err := cli(t, "run", "demo", "--env", "lab", "--param", "require_approval=true", "--as", "alice", "--json")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	require.True(t, strings.HasPrefix(started.WorkflowID, "switchyard/lab/demo/"), started.WorkflowID)

	waitFor(t, "the approval step to wait", func() bool {
		return stepOf(progressOf(t, started.WorkflowID), "approve").Status == workflows.StatusWaiting
	})
	p := progressOf(t, started.WorkflowID)
	require.Equal(t, workflows.StatusSucceeded, stepOf(p, "preflight/target_known").Status)
	require.Equal(t, "would move traffic from us-east-1 to us-west-2", stepOf(p, "plan").Summary)

	_, err = cli(t, "approve", started.WorkflowID, "--step", "nope", "--as", "bob")
	require.ErrorContains(t, err, `step "nope" is not a step of this run`)

	out, err = cli(t, "approve", started.WorkflowID, "--step", "approve", "--as", "bob", "--comment", "lgtm")
	require.NoError(t, err)
	require.Contains(t, out, "step approve: approved")

	out, err = cli(t, "status", started.WorkflowID, "--follow", "--json")
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, "bob", stepOf(res.Progress, "approve").Approval.Votes[0].By)
	require.Len(t, res.SHA256, 64)

	out, err = cli(t, "status", started.WorkflowID)
	require.NoError(t, err)
	require.Contains(t, out, "succeeded")
	require.Contains(t, out, "soak")

	recordHistory(t, started.WorkflowID, "demo-approved")
}

func TestPlanModeOnEmbeddedServer(t *testing.T) {
	out, err := cli(t, "run", "demo", "--env", "lab", "--mode", "plan", "--follow", "--json")
	require.NoError(t, err)
	var res workflows.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "preflight/target_known").Status)
	require.Equal(t, workflows.StatusPlanned, stepOf(res.Progress, "done").Status)
}

func startJSON(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, append(args, "--json")...)
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	return started.WorkflowID
}

func TestFailedRunReportsWhy(t *testing.T) {
	// The CLI refuses a Region of no environment before starting anything; a run started
	// elsewhere (the UI's form, Slack, an alarm) fails at once, saying why and what would do.
	_, err := cli(t, "run", "demo", "--env", "lab", "--param", "target=eu-west-1")
	require.ErrorContains(t, err, `param "target": "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`)

	ctx := context.Background()
	in := workflows.RunInput{Runbook: "demo", Environment: "lab", Params: map[string]any{"target": "eu-west-1"}, RequestedBy: "ui-user"}
	run, err := shared.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "demo-failed-" + time.Now().UTC().Format("150405.000000"),
		TaskQueue: workflows.TaskQueue}, workflows.RunbookWorkflowType, in)
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.ErrorContains(t, err, `invalid params for runbook "demo": param "target": "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`)
}

func TestSecondDROperationOnEnvironmentIsRefused(t *testing.T) {
	// The interlock is the server's: whichever run holds switchyard/<env>, a second start under
	// that id is refused and the CLI explains who holds it.
	c := shared.client
	ctx := context.Background()
	in := workflows.RunInput{Runbook: "demo", Environment: "lab", Params: map[string]any{"require_approval": true}}
	opts := client.StartWorkflowOptions{ID: workflows.OperationID("lab"), TaskQueue: workflows.TaskQueue, WorkflowExecutionErrorWhenAlreadyStarted: true}
	first, err := c.ExecuteWorkflow(ctx, opts, workflows.RunbookWorkflowType, in)
	require.NoError(t, err)
	defer func() { _ = c.CancelWorkflow(ctx, first.GetID(), first.GetRunID()) }()

	_, err = cli(t, "run", "demo", "--env", "lab", "--id", workflows.OperationID("lab"))
	require.ErrorContains(t, err, "environment lab already has a DR operation running")
	require.ErrorContains(t, err, "starter cancel switchyard/lab")
}

// recordHistory writes a run's history as JSON for the replay tests in workflows/.
func recordHistory(t *testing.T, id, name string) {
	t.Helper()
	if !*updateHistories {
		return
	}
	ctx := context.Background()
	iter := shared.client.GetWorkflowHistory(ctx, id, "", false, 0)
	var h historypb.History
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	require.NoError(t, err)
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
