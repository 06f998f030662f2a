package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// watcher is a catalog check whose duration bounds its run time, like cloudwatch.soak; it
// remembers the start-to-close timeout each call got and whether it was told it runs in a plan.
type watcher struct {
	mu       sync.Mutex
	timeouts []time.Duration
	plans    []bool
}

type watchArgs struct {
	Duration runbook.Duration `json:"duration" catalog:"duration,required,bounds"`
}

func (w *watcher) watch(ctx context.Context, _ watchArgs) (activities.CheckResult, error) {
	info := activity.GetInfo(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timeouts = append(w.timeouts, info.Deadline.Sub(info.StartedTime).Round(time.Second))
	w.plans = append(w.plans, activities.InPlan(ctx))
	return activities.CheckResult{OK: true, Reason: "watched"}, nil
}

// newWatchFixture is newFixture with test.watch in the worker's catalog, so that the loader
// validates runbooks naming it and fills in its bounds.
func newWatchFixture(t *testing.T, runbooks map[string]string) (*fixture, *watcher) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "test.yaml"), []byte(testEnv), 0o644))
	for name, src := range runbooks {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644))
	}
	w := &watcher{}
	f := &fixture{rec: &recorder{fail: map[string]bool{}}, notes: &noteRecorder{}}
	f.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	f.env = f.NewTestWorkflowEnvironment()
	reg := activities.NewRegistry()
	activities.Register(reg, catalog.Spec{Name: "test.watch", Kind: catalog.KindCheck, ReadOnly: true, Description: "watch for a while"}, w.watch)
	reg.RegisterActivities(f.env)
	(&activities.Engine{RunbookDir: dir, Registry: reg, Notifier: f.notes}).Register(f.env)
	workflows.Register(f.env)
	return f, w
}

const watchRunbook = `schema: switchyard/v1
name: watch
lock: none
params:
  - {name: soak, type: duration, default: 5m}
steps:
  - id: soak
    check: test.watch
    with: {duration: "${{ params.soak }}"}
  - id: short
    check: test.watch
    with: {duration: 10s}
  - id: explicit
    check: test.watch
    with: {duration: 1m}
    timeout: 10m
`

// A step without a timeout gets at least its entry's bound plus the margin (a 5m soak under the
// 2m default timed out, retried and timed out again); a short bound keeps the default, and an
// explicit timeout is kept.
func TestStepTimeoutIsDerivedFromTheEntrysBound(t *testing.T) {
	f, w := newWatchFixture(t, map[string]string{"watch": watchRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "watch"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, []time.Duration{5*time.Minute + catalog.BoundMargin, 2 * time.Minute, 10 * time.Minute}, w.timeouts)
	require.Equal(t, []bool{false, false, false}, w.plans)
}

// In plan mode every call carries the plan flag, which the registry turns into InPlan; the
// step's recorded arguments stay as written.
func TestPlanModeTellsEntriesTheyRunInAPlan(t *testing.T) {
	f, w := newWatchFixture(t, map[string]string{"watch": watchRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "watch", Mode: workflows.ModePlan})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	require.Equal(t, []bool{true, true, true}, w.plans)
	for _, s := range res.Steps {
		require.NotContains(t, s.Args, catalog.PlanArg, s.Path)
	}
}

// An explicit timeout that the run's own values outgrow is refused when the run starts, before
// any step, as a readable non-retryable input error naming the step's position.
func TestRunStartRefusesATimeoutTheValuesOutgrow(t *testing.T) {
	src := strings.Replace(watchRunbook, "with: {duration: \"${{ params.soak }}\"}\n", "with: {duration: \"${{ params.soak }}\"}\n    timeout: 10m\n", 1)
	f, w := newWatchFixture(t, map[string]string{"watch": src})
	_, err := f.run(t, workflows.RunInput{Runbook: "watch", Params: map[string]any{"soak": "15m"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, workflows.ErrInvalidInput, appErr.Type())
	require.Contains(t, appErr.Message(), `watch.yaml:10:14: step "soak": timeout 10m cannot cover duration 15m (params.soak)`)
	require.Empty(t, w.timeouts, "nothing ran")
}

const regionRunbook = `schema: switchyard/v1
name: region
lock: none
params:
  - {name: target, type: region, required: true}
steps:
  - id: go
    action: test.record
    with: {name: "${{ params.target }}"}
`

// A region param that is not a Region of the environment is refused when the run starts, for
// every way a run starts (the UI, Slack and alarms reach the workflow without the CLI's check).
func TestRegionParamMustBeARegionOfTheEnvironment(t *testing.T) {
	f := newFixture(t, map[string]string{"region": regionRunbook})
	_, err := f.run(t, workflows.RunInput{Runbook: "region", Params: map[string]any{"target": "us-east-9"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	require.True(t, appErr.NonRetryable())
	require.Equal(t, workflows.ErrInvalidInput, appErr.Type())
	require.Contains(t, appErr.Message(), `param "target": "us-east-9" is not a Region of environment test (its Regions: us-east-1, us-west-2)`)
	require.Empty(t, f.rec.got(), "nothing ran")

	f = newFixture(t, map[string]string{"region": regionRunbook})
	_, err = f.run(t, workflows.RunInput{Runbook: "region", Params: map[string]any{"target": "us-west-2"}})
	require.NoError(t, err)
}

// A run whose write window is shorter than the environment's DNS TTL allows starts, with the
// warning in its progress and its first message.
func TestRunStartReportsWarnings(t *testing.T) {
	env := strings.Replace(testEnv, "name: test\n", "name: ttl\n", 1) + `traffic:
  hosted_zone_id: Z1
  record_name: ingest.example.com
  record_type: CNAME
  ttl: 60
  set_identifiers: {us-east-1: us-east-1, us-west-2: us-west-2}
`
	book := `schema: switchyard/v1
name: verify
lock: none
steps:
  - id: verify_writes
    check: opensearch.ingesting
    if: "false"
    with: {environment: "${{ run.environment }}", region: us-west-2, window: 30s}
`
	f := newFixture(t, map[string]string{"verify": book, "environments/ttl": env})
	res, err := f.run(t, workflows.RunInput{Runbook: "verify", Environment: "ttl"})
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	require.Contains(t, res.Warnings[0], `verify.yaml:8:78: warning: step "verify_writes": window 30s of opensearch.ingesting is shorter than the 1m TTL of environment ttl's record ingest.example.com plus 20s`)
	require.Contains(t, f.notes.notes[0].Text, res.Warnings[0], "the run's first message carries it")
}
