package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// A runbook that gates on the backfill proof the way failback does: a workflow step, then a step
// that reads its figures.
const proofRunbook = `schema: switchyard/v1
name: proof
steps:
  - id: backfill
    workflow: backfill-verification
    with: {source: us-west-2, target: us-east-1, id_field: event_id, lookback: 1h, interval: 1m, timeout: 10m}
    milestone: backfill_verified
  - id: after
    check: core.assert
    with: {that: "${{ steps.backfill.ok && steps.backfill.result.missing == 0 }}", reason: "the proof's figures"}
`

// planVerify stands in for the backfill.verify check plan mode runs; it records its arguments.
type planVerify struct {
	mu   sync.Mutex
	args []activities.VerifyArgs
	// notYet, when set, is the reason of a not-ok pass.
	notYet string
}

func (p *planVerify) verify(_ context.Context, in activities.VerifyArgs) (activities.VerifyResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.args = append(p.args, in)
	if p.notYet != "" {
		return activities.VerifyResult{Reason: p.notYet, Missing: 3}, nil
	}
	return activities.VerifyResult{OK: true, Reason: "one pass: nothing missing"}, nil
}

type proofFixture struct {
	testsuite.WorkflowTestSuite
	env  *testsuite.TestWorkflowEnvironment
	sc   *backfillScript
	plan *planVerify
}

// newProofFixture runs RunbookWorkflow with the real loader and core catalog, the real
// BackfillVerificationWorkflow as the step's child, scripted gates and passes, and a recording
// backfill.verify.
func newProofFixture(t *testing.T, sc *backfillScript) *proofFixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "test.yaml"), []byte(testEnv), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proof.yaml"), []byte(proofRunbook), 0o644))
	f := &proofFixture{sc: sc, plan: &planVerify{}}
	f.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	f.env = f.NewTestWorkflowEnvironment()
	reg := activities.NewRegistry()
	activities.RegisterCore(reg, &activities.Core{})
	activities.Register(reg, catalog.Spec{Name: "backfill.verify", Kind: catalog.KindCheck, ReadOnly: true, Description: "scripted"}, f.plan.verify)
	reg.RegisterActivities(f.env)
	(&activities.Engine{RunbookDir: dir, Registry: reg}).Register(f.env)
	workflows.Register(f.env)
	b := activities.NewBackfill(activities.BackfillOptions{RunbookDir: dir})
	f.env.RegisterActivityWithOptions(b.Environment, activity.RegisterOptions{Name: workflows.BackfillEnvironmentActivity})
	f.env.RegisterActivityWithOptions(sc.gate, activity.RegisterOptions{Name: workflows.BackfillGatesActivity})
	f.env.RegisterActivityWithOptions(sc.compare, activity.RegisterOptions{Name: workflows.BackfillCompareActivity})
	f.env.SetStartTime(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.OperationID("test")})
	return f
}

func stepOf(res *workflows.Result, path string) workflows.StepState {
	for _, s := range res.Steps {
		if s.Path == path {
			return s
		}
	}
	return workflows.StepState{}
}

func (f *proofFixture) run(t *testing.T, mode workflows.Mode) (*workflows.Result, error) {
	t.Helper()
	ff := &fixture{env: f.env}
	return ff.run(t, workflows.RunInput{Runbook: "proof", Environment: "test", Mode: mode})
}

// The proof is BackfillVerificationWorkflow itself, started as the step's child: it waits for the
// gates, runs passes until nothing is missing, and its figures become the step's result.
func TestWorkflowStepRunsTheBackfillVerificationAsAChild(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateClosed, backfillGateOpen},
		passes: []backfill.Report{missingReport(5), missingReport(0)}}
	f := newProofFixture(t, sc)
	res, err := f.run(t, workflows.ModeExecute)
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	st := stepOf(res, "backfill")
	require.Equal(t, workflows.StatusSucceeded, st.Status)
	require.Equal(t, workflows.ChildID(workflows.OperationID("test"), "backfill"), st.ChildID, "the step names the verification's workflow")
	require.Contains(t, st.Summary, "us-east-1 holds every document of us-west-2")
	require.Equal(t, workflows.StatusSucceeded, stepOf(res, "after").Status)
	require.Len(t, sc.gateReqs, 3, "closed, then open before each of two passes")
	require.Len(t, sc.reqs, 2)
	require.Equal(t, "test", sc.reqs[0].Environment, "the run's environment")
	require.Equal(t, time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), sc.reqs[0].From, "lookback 1h before the start")
	require.NotNil(t, res.Measures)
	require.NotNil(t, res.Measures.MissingDocs, "the milestone's figures are the RPO evidence")
	require.Zero(t, *res.Measures.MissingDocs)
	require.Empty(t, f.plan.args, "a run does not use the plan check")
}

// A proof that never converges fails the step with the verification's reason, and the run stops
// there: nothing after it runs.
func TestWorkflowStepFailsWhenTheProofDoesNotConverge(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(3)}}
	f := newProofFixture(t, sc)
	res, err := f.run(t, workflows.ModeExecute)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	st := stepOf(res, "backfill")
	require.Equal(t, workflows.StatusFailed, st.Status)
	require.Contains(t, st.Error, "not verified within 10m0s: 3 documents still missing from us-east-1")
	require.Equal(t, workflows.StatusPending, stepOf(res, "after").Status)
}

// A plan does not start the verification (it may wait for hours): it runs backfill.verify once
// with the step's arguments, minus the ones that only say how the workflow polls.
func TestWorkflowStepInAPlanRunsThePlanCheckOnce(t *testing.T) {
	sc := &backfillScript{gates: []workflows.GateResult{backfillGateOpen}, passes: []backfill.Report{missingReport(0)}}
	f := newProofFixture(t, sc)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "plan-proof"})
	res, err := f.run(t, workflows.ModePlan)
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	st := stepOf(res, "backfill")
	require.Equal(t, workflows.StatusSucceeded, st.Status)
	require.Empty(t, st.ChildID, "no child workflow in a plan")
	require.Equal(t, "one pass: nothing missing", st.Summary)
	require.Empty(t, sc.gateReqs)
	require.Len(t, f.plan.args, 1)
	require.Equal(t, activities.VerifyArgs{Environment: "test", Source: "us-west-2", Target: "us-east-1", IDField: "event_id", Lookback: 60 * 60e9}, f.plan.args[0])
}

// The arguments a workflow step may give are fields of the workflow's input and, but for the
// poll-only ones, of the plan check's arguments: the three lists cannot drift apart.
func TestBackfillVerificationArgsFitTheWorkflowAndThePlanCheck(t *testing.T) {
	jsonNames := func(v any) map[string]bool {
		out := map[string]bool{}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			out[strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]] = true
		}
		return out
	}
	input, check := jsonNames(workflows.BackfillInput{}), jsonNames(activities.VerifyArgs{})
	w, ok := runbook.LookupChildWorkflow(runbook.WorkflowBackfillVerification)
	require.True(t, ok)
	for _, a := range w.Args {
		require.True(t, input[a.Name], "BackfillInput has no field %q", a.Name)
		if !slices.Contains(w.PollArgs, a.Name) {
			require.True(t, check[a.Name], "backfill.verify has no argument %q", a.Name)
		}
	}
	require.False(t, input["environment"] && slices.ContainsFunc(w.Args, func(f catalog.Field) bool { return f.Name == "environment" }),
		"the environment is always the run's")
}

// A pass that is not converged yet is what the run would wait for: the plan says so and does not
// count it as a failed step (as a wait_until's plan does).
func TestWorkflowStepInAPlanWouldWaitWhenNotConvergedYet(t *testing.T) {
	f := newProofFixture(t, &backfillScript{})
	f.plan.notYet = "3 documents missing from us-east-1 (tolerance 0)"
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "plan-proof"})
	res, err := f.run(t, workflows.ModePlan)
	require.NoError(t, err)
	st := stepOf(res, "backfill")
	require.Equal(t, workflows.StatusPlanned, st.Status)
	require.Equal(t, "would wait up to 10m for backfill-verification; now: not yet: 3 documents missing from us-east-1 (tolerance 0)", st.Summary)
	require.EqualValues(t, 3, st.Result["missing"], "what the pass saw")
}
