package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/workflows"
)

// backfillScript plays scripted gate and pass results, and records the requests it saw.
type backfillScript struct {
	mu       sync.Mutex
	gates    []workflows.GateResult // the last one repeats
	passes   []backfill.Report      // the last one repeats
	passErr  error
	gateReqs []workflows.GateRequest
	reqs     []workflows.CompareRequest
}

func (s *backfillScript) gate(_ context.Context, req workflows.GateRequest) (workflows.GateResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gateReqs = append(s.gateReqs, req)
	g := s.gates[min(len(s.gateReqs), len(s.gates))-1]
	return g, nil
}

func (s *backfillScript) compare(_ context.Context, req workflows.CompareRequest) (workflows.CompareResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	if s.passErr != nil {
		return workflows.CompareResult{}, s.passErr
	}
	r := s.passes[min(len(s.reqs), len(s.passes))-1]
	r.Scope = req.Scope
	return workflows.CompareResult{Converged: r.Converged(req.Tolerance), Report: r}, nil
}

var (
	backfillGateOpen   = workflows.GateResult{OK: true, Reason: "drained", Replicator: workflows.ReplicatorGate{OK: true}, ConsumerLag: workflows.ConsumerLagGate{OK: true}, DLQ: workflows.DLQGate{OK: true}}
	backfillGateClosed = workflows.GateResult{Reason: "replicator MessageLag 40", Replicator: workflows.ReplicatorGate{Reason: "MessageLag 40"}, ConsumerLag: workflows.ConsumerLagGate{OK: true}, DLQ: workflows.DLQGate{OK: true}}
)

func missingReport(n int64) backfill.Report {
	return backfill.Report{Scope: backfill.Scope{IDField: "event_id"}, Missing: backfill.IDList{Total: n}, SourceDocs: 1000, TargetDocs: 1000 - n,
		BucketsChecked: 60, DocsCompared: 1000, LeavesDivergent: n, Requests: backfill.Requests{Source: 3, Target: 4}}
}

type backfillFixture struct {
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	sc  *backfillScript
}

func newBackfillFixture(t *testing.T, sc *backfillScript) *backfillFixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "test.yaml"), []byte(testEnv), 0o644))
	f := &backfillFixture{sc: sc}
	f.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	f.env = f.NewTestWorkflowEnvironment()
	f.env.RegisterWorkflowWithOptions(workflows.BackfillVerificationWorkflow, workflow.RegisterOptions{Name: workflows.BackfillVerificationType})
	b := activities.NewBackfill(activities.BackfillOptions{RunbookDir: dir})
	f.env.RegisterActivityWithOptions(b.Environment, activity.RegisterOptions{Name: workflows.BackfillEnvironmentActivity})
	f.env.RegisterActivityWithOptions(sc.gate, activity.RegisterOptions{Name: workflows.BackfillGatesActivity})
	f.env.RegisterActivityWithOptions(sc.compare, activity.RegisterOptions{Name: workflows.BackfillCompareActivity})
	f.env.SetStartTime(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	return f
}

func backfillInput() workflows.BackfillInput {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return workflows.BackfillInput{Environment: "test", Source: "us-west-2", Target: "us-east-1", IDField: "event_id",
		ImpairmentStart: &start, Interval: 1 * 60e9, Timeout: 30 * 60e9}
}

func (f *backfillFixture) run(t *testing.T, in workflows.BackfillInput) (*workflows.BackfillResult, error) {
	t.Helper()
	f.env.ExecuteWorkflow(workflows.BackfillVerificationType, in)
	require.True(t, f.env.IsWorkflowCompleted())
	if err := f.env.GetWorkflowError(); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			var res workflows.BackfillResult
			require.NoError(t, appErr.Details(&res))
			return &res, err
		}
		return nil, err
	}
	var res workflows.BackfillResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	return &res, nil
}

func (f *backfillFixture) progress(t *testing.T) workflows.BackfillProgress {
	t.Helper()
	v, err := f.env.QueryWorkflow(workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.BackfillProgress
	require.NoError(t, v.Get(&p))
	return p
}

func TestBackfillWaitsForGatesThenConverges(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateClosed, backfillGateOpen}, passes: []backfill.Report{missingReport(5), missingReport(0)}}
	f := newBackfillFixture(t, sc)
	var during []workflows.BackfillProgress
	for _, at := range []time.Duration{30 * time.Second, 90 * time.Second} {
		f.env.RegisterDelayedCallback(func() { during = append(during, f.progress(t)) }, at)
	}
	res, err := f.run(t, backfillInput())
	require.NoError(t, err)
	require.True(t, res.Converged, res.Reason)
	require.Equal(t, 2, res.Passes)
	require.Equal(t, int64(14), res.Requests)
	require.Len(t, sc.gateReqs, 3)
	require.Len(t, sc.reqs, 2)

	// The window starts at the impairment minus the default 15m margin and ends 2m before each pass.
	req := sc.reqs[0]
	require.Equal(t, time.Date(2026, 11, 20, 8, 45, 0, 0, time.UTC), req.From)
	require.True(t, time.Date(2026, 11, 20, 11, 59, 0, 0, time.UTC).Equal(req.To), "first pass at 12:01 ends its window at 11:59, got %s", req.To)
	require.Equal(t, backfill.Scope{Pattern: "application-logs-*", TimeField: "timestamp", IDField: "event_id"}, req.Scope)
	require.Equal(t, "us-east-1", req.Target)
	require.Equal(t, "g1", sc.gateReqs[0].TargetRegion.ConsumerGroup, "the gates look at the target's pipeline")
	require.Equal(t, "us-west-2", req.Source)

	require.Len(t, during, 2)
	require.Equal(t, workflows.BackfillWaiting, during[0].Phase)
	require.Zero(t, during[0].Passes)
	require.Equal(t, "replicator MessageLag 40", during[0].LastGates.Reason)
	require.Equal(t, 1, during[1].Passes)
	require.Equal(t, int64(5), during[1].Missing)
	require.Equal(t, int64(5), during[1].DivergentNow)
	require.Equal(t, int64(1000), during[1].DocsCompared)
	require.Equal(t, int64(60), during[1].BucketsChecked)
	require.Equal(t, workflows.BackfillConverged, f.progress(t).Phase)
}

func TestBackfillToleranceAndDuplicates(t *testing.T) {
	r := missingReport(3)
	r.TargetDuplicates = backfill.DupList{IDs: 500, ExtraCopies: 500}
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{r}}
	f := newBackfillFixture(t, sc)
	in := backfillInput()
	in.Tolerance = 3
	res, err := f.run(t, in)
	require.NoError(t, err)
	require.True(t, res.Converged, "duplicates never block, and 3 missing are within tolerance")
	require.Contains(t, res.Reason, "500 duplicated ids")
	require.Equal(t, int64(500), res.Report.TargetDuplicates.IDs)
}

func TestBackfillTimesOutNotConverged(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(12)}}
	f := newBackfillFixture(t, sc)
	res, err := f.run(t, backfillInput())
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, workflows.ErrBackfillNotConverged, appErr.Type())
	require.False(t, res.Converged)
	require.Contains(t, res.Reason, "12 documents still missing")
	require.Equal(t, int64(12), res.Report.Missing.Total)
	require.GreaterOrEqual(t, len(sc.reqs), 25, "passes kept running on durable timers until the timeout")
	require.LessOrEqual(t, len(sc.reqs), 31)
}

func TestBackfillGatesNeverOpen(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateClosed}, passes: []backfill.Report{missingReport(0)}}
	f := newBackfillFixture(t, sc)
	res, err := f.run(t, backfillInput())
	require.Error(t, err)
	require.False(t, res.Converged)
	require.Contains(t, res.Reason, "gates still closed")
	require.Empty(t, sc.reqs, "no pass runs while the pipeline is still draining")
}

func TestBackfillUnreachableRegionFailsNeverConverged(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(0)},
		passErr: temporal.NewApplicationError("us-east-1 (http://127.0.0.1:9200): count application-logs-*: unreachable: connection refused", workflows.ErrRegionUnreachable)}
	f := newBackfillFixture(t, sc)
	res, err := f.run(t, backfillInput())
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, workflows.ErrRegionUnreachable, appErr.Type())
	require.Contains(t, err.Error(), "us-east-1")
	require.Contains(t, err.Error(), "unreachable")
	require.False(t, res.Converged)
	require.Zero(t, res.Passes)
	require.Len(t, sc.reqs, 5, "retried by the activity retry policy, then failed")
	require.Equal(t, workflows.BackfillFailed, f.progress(t).Phase)
}

func TestBackfillContinuesAsNewCarryingState(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(2)}}
	f := newBackfillFixture(t, sc)
	in := backfillInput()
	in.Timeout = 10 * 60 * 60e9 // 10h: more iterations than one run holds
	f.env.ExecuteWorkflow(workflows.BackfillVerificationType, in)
	require.True(t, f.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(f.env.GetWorkflowError(), &can), "%v", f.env.GetWorkflowError())
	require.Equal(t, workflows.BackfillVerificationType, can.WorkflowType.Name)
	var next workflows.BackfillInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	require.Equal(t, 100, next.State.Passes)
	require.Equal(t, 1, next.State.Runs)
	require.Equal(t, int64(700), next.State.Requests)
	require.Equal(t, time.Date(2026, 11, 20, 8, 45, 0, 0, time.UTC), next.State.Plan.From)
	require.Equal(t, time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC), next.State.Deadline)

	// The next run picks up the state: no environment reload, same deadline, passes keep counting.
	sc2 := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(0)}}
	f2 := newBackfillFixture(t, sc2)
	f2.env.SetStartTime(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	res, err := f2.run(t, next)
	require.NoError(t, err)
	require.True(t, res.Converged)
	require.Equal(t, 101, res.Passes)
	require.Equal(t, time.Date(2026, 11, 20, 8, 45, 0, 0, time.UTC), sc2.reqs[0].From)
}

func TestBackfillContinuesAsNewWhenSuggested(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(1)}}
	f := newBackfillFixture(t, sc)
	f.env.SetContinueAsNewSuggested(true)
	f.env.ExecuteWorkflow(workflows.BackfillVerificationType, backfillInput())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(f.env.GetWorkflowError(), &can))
	require.Empty(t, sc.reqs)
}

func TestBackfillInvalidInput(t *testing.T) {
	for _, tc := range []struct {
		in   workflows.BackfillInput
		want string
	}{
		{workflows.BackfillInput{Environment: "test", Source: "us-east-1", Target: "us-east-1"}, "both"},
		{workflows.BackfillInput{Source: "us-east-1"}, `"environment" is required`},
		{workflows.BackfillInput{Environment: "test", Source: "us-east-1", Target: "eu-west-1"}, "must be among them"},
		{workflows.BackfillInput{Environment: "nope", Source: "us-east-1", Target: "us-west-2"}, `no environment "nope"`},
	} {
		f := newBackfillFixture(t, &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(0)}})
		_, err := f.run(t, tc.in)
		require.ErrorContains(t, err, tc.want)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr))
		require.True(t, appErr.NonRetryable())
	}
}

func TestBackfillCountOnlyAndFixedWindow(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{{MissingEstimate: 0}}}
	f := newBackfillFixture(t, sc)
	since := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	until := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	res, err := f.run(t, workflows.BackfillInput{Environment: "test", Source: "us-east-1", Target: "us-west-2", IDField: "-", Since: &since, Until: &until})
	require.NoError(t, err)
	require.True(t, res.Converged)
	require.Equal(t, since, sc.reqs[0].From)
	require.Equal(t, until, sc.reqs[0].To)
	require.Empty(t, sc.reqs[0].Scope.IDField)
}
