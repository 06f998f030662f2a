package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/workflows"
)

// recorder is a test catalog entry that remembers the order of calls, so tests can assert
// sequencing (rollback order) from the activities' side, not from the workflow's own report.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]bool
	// flaky fails a name's first n calls with a retryable error.
	flaky map[string]int
	// failType fails a name's calls with a non-retryable error of that type.
	failType map[string]string
	// how says, per call, whether it ran as a local or a scheduled activity.
	how []string
}

type recordArgs struct {
	Name string `json:"name" catalog:"required"`
}

type recordResult struct {
	Summary string `json:"summary"`
	Name    string `json:"name"`
}

func (r *recorder) record(ctx context.Context, in recordArgs) (recordResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, in.Name)
	how := "scheduled"
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).IsLocalActivity {
		how = "local"
	}
	r.how = append(r.how, in.Name+":"+how)
	if r.fail[in.Name] {
		return recordResult{}, activities.Permanent(errors.New("injected failure of " + in.Name))
	}
	if typ := r.failType[in.Name]; typ != "" {
		return recordResult{}, temporal.NewNonRetryableApplicationError("injected "+typ+" failure of "+in.Name, typ, nil)
	}
	if r.flaky[in.Name] > 0 {
		r.flaky[in.Name]--
		return recordResult{}, errors.New("injected transient failure of " + in.Name)
	}
	return recordResult{Summary: "recorded " + in.Name, Name: in.Name}, nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

const testEnv = `schema: switchyard/v1
name: test
primary: us-east-1
secondary: us-west-2
topic: opensearch-data
index_pattern: application-logs-*
timestamp_field: timestamp
regions:
  us-east-1:
    role: primary
    msk_cluster_arn: arn:aws:kafka:us-east-1:000000000000:cluster/a/1
    inbound_replicator_arn: arn:aws:kafka:us-east-1:000000000000:replicator/b/1
    consumer_group: g1
    pipeline: p1
    opensearch: {kind: serverless, endpoint: "http://127.0.0.1:1"}
  us-west-2:
    role: secondary
    msk_cluster_arn: arn:aws:kafka:us-west-2:000000000000:cluster/c/1
    inbound_replicator_arn: arn:aws:kafka:us-west-2:000000000000:replicator/d/1
    consumer_group: g2
    pipeline: p2
    opensearch: {kind: serverless, endpoint: "http://127.0.0.1:2"}
approvers: [alice, bob, carol]
`

type fixture struct {
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	rec   *recorder
	notes *noteRecorder
}

// noteRecorder is a Notifier that keeps what a run posted, in order.
type noteRecorder struct {
	mu    sync.Mutex
	notes []workflows.Notification
}

func (n *noteRecorder) Notify(_ context.Context, note workflows.Notification) (workflows.NotifyResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, note)
	return workflows.NotifyResult{Channel: "C1", TS: fmt.Sprintf("ts-%d", len(n.notes))}, nil
}

func (n *noteRecorder) kinds() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.notes {
		out = append(out, x.Kind)
	}
	return out
}

// newFixture writes runbooks into a temporary folder and wires the real loader, the real core
// catalog and a recorder entry into a test workflow environment.
func newFixture(t *testing.T, runbooks map[string]string) *fixture {
	t.Helper()
	return newFixtureWith(t, runbooks, nil)
}

// newFixtureWith is newFixture with setup applied to the suite (logger, metrics handler) before
// the environment is created.
func newFixtureWith(t *testing.T, runbooks map[string]string, setup func(*fixture)) *fixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "test.yaml"), []byte(testEnv), 0o644))
	for name, src := range runbooks {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644))
	}
	f := &fixture{rec: &recorder{fail: map[string]bool{}}, notes: &noteRecorder{}}
	f.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if setup != nil {
		setup(f)
	}
	f.env = f.NewTestWorkflowEnvironment()
	reg := activities.NewCatalogRegistry(activities.Options{})
	activities.Register(reg, catalog.Spec{Name: "test.record", Kind: catalog.KindAction, Description: "record a call"}, f.rec.record)
	reg.RegisterActivities(f.env)
	(&activities.Engine{RunbookDir: dir, Registry: reg, Notifier: f.notes}).Register(f.env)
	workflows.Register(f.env)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.OperationID("test")})
	return f
}

func (f *fixture) run(t *testing.T, in workflows.RunInput) (*workflows.Result, error) {
	t.Helper()
	if in.Environment == "" {
		in.Environment = "test"
	}
	f.env.ExecuteWorkflow(workflows.RunbookWorkflowType, in)
	require.True(t, f.env.IsWorkflowCompleted())
	if err := f.env.GetWorkflowError(); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			var res workflows.Result
			require.NoError(t, appErr.Details(&res))
			return &res, err
		}
		return nil, err
	}
	var res workflows.Result
	require.NoError(t, f.env.GetWorkflowResult(&res))
	return &res, nil
}

func stepStatus(res *workflows.Result, path string) workflows.StepStatus {
	for _, s := range res.Steps {
		if s.Path == path {
			return s.Status
		}
	}
	return "absent"
}

const parallelRunbook = `schema: switchyard/v1
name: par
params:
  - {name: n, type: int, default: 3}
steps:
  - id: checks
    parallel:
      - id: a
        check: core.assert
        with: {that: "${{ params.n > 1 }}", reason: "n too small"}
      - id: b
        check: core.assert
        with: {that: "${{ params.n > 2 }}", reason: "n must exceed 2"}
      - id: c
        action: test.record
        with: {name: c}
  - id: after
    action: test.record
    with: {name: "after-${{ steps.c.result.name }}"}
`

func TestParallelBranchesAllRunAndResultsFlow(t *testing.T) {
	f := newFixture(t, map[string]string{"par": parallelRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "par"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, []string{"c", "after-c"}, f.rec.got())
	for _, p := range []string{"checks", "checks/a", "checks/b", "checks/c", "after"} {
		require.Equal(t, workflows.StatusSucceeded, stepStatus(res, p), p)
	}
}

func TestParallelReportsEveryFailingBranch(t *testing.T) {
	f := newFixture(t, map[string]string{"par": parallelRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "par", Params: map[string]any{"n": 1}})
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "checks/a"))
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "checks/b"))
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "checks/c"), "a failing branch must not cancel its siblings")
	require.Equal(t, workflows.StatusPending, stepStatus(res, "after"))
	require.Contains(t, res.Error, "n must exceed 2")
	require.Equal(t, []string{"c"}, f.rec.got())
}

const approvalRunbook = `schema: switchyard/v1
name: appr
steps:
  - id: gate
    approval:
      message: "go?"
      approvers: [alice, bob, carol]
      quorum: QUORUM
      timeout: 30m
      on_timeout: ONTIMEOUT
  - id: act
    action: test.record
    with: {name: act}
  - id: cooldown
    approval: {message: "keeps the run open", timeout: 1h, on_timeout: proceed}
`

func approvalBook(quorum, onTimeout string) string {
	return strings.NewReplacer("QUORUM", quorum, "ONTIMEOUT", onTimeout).Replace(approvalRunbook)
}

type updateResult struct {
	state *workflows.ApprovalState
	err   error
}

func (f *fixture) update(id string, d workflows.Decision, delay time.Duration) *updateResult {
	out := &updateResult{}
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(workflows.ApproveUpdate, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					out.err = err
					return
				}
				st := v.(workflows.ApprovalState)
				out.state = &st
			},
		}, d)
	}, delay)
	return out
}

func TestApprovalByUpdateWithQuorumAndTwoPersonRule(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("2", "abort")})
	self := f.update("u1", workflows.Decision{Step: "gate", Approve: true, By: "alice"}, time.Minute)
	outsider := f.update("u2", workflows.Decision{Step: "gate", Approve: true, By: "mallory"}, 2*time.Minute)
	first := f.update("u3", workflows.Decision{Step: "gate", Approve: true, By: "bob"}, 3*time.Minute)
	again := f.update("u4", workflows.Decision{Step: "gate", Approve: true, By: "bob"}, 4*time.Minute)
	second := f.update("u5", workflows.Decision{Step: "gate", Approve: true, By: "carol"}, 5*time.Minute)
	late := f.update("u6", workflows.Decision{Step: "gate", Approve: true, By: "alice"}, 10*time.Minute)

	res, err := f.run(t, workflows.RunInput{Runbook: "appr", RequestedBy: "alice"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)

	require.ErrorContains(t, self.err, "requested this run and cannot approve it")
	require.ErrorContains(t, outsider.err, "mallory is not an approver")
	require.NoError(t, first.err)
	require.Equal(t, workflows.ApprovalWaiting, first.state.Status, "one of two approvals is not a quorum")
	require.NoError(t, again.err)
	require.Len(t, again.state.Votes, 1, "a double click must not count twice")
	require.NoError(t, second.err)
	require.Equal(t, workflows.ApprovalApproved, second.state.Status)
	require.ErrorContains(t, late.err, "too late")
	require.Equal(t, []string{"act"}, f.rec.got())
}

func TestApprovalBySignalIgnoresUnauthorised(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("1", "abort")})
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(workflows.ApproveSignal, workflows.Decision{Step: "gate", Approve: true, By: "mallory", Source: "ui"})
	}, time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(workflows.ApproveSignal, workflows.Decision{Step: "gate", Approve: true, By: "bob", Source: "ui"})
	}, 2*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "appr", RequestedBy: "alice"})
	require.NoError(t, err)
	require.Len(t, res.Ignored, 1)
	require.Contains(t, res.Ignored[0], "mallory")
	var gate workflows.StepState
	for _, s := range res.Steps {
		if s.Path == "gate" {
			gate = s
		}
	}
	require.Equal(t, workflows.ApprovalApproved, gate.Approval.Status)
	require.Equal(t, "bob", gate.Approval.Votes[0].By)
	require.Equal(t, []string{"act"}, f.rec.got())
}

func TestApprovalTimeoutAppliesDefault(t *testing.T) {
	for _, tc := range []struct {
		onTimeout string
		wantErr   bool
		wantCalls []string
	}{
		{"abort", true, nil},
		{"proceed", false, []string{"act"}},
	} {
		t.Run(tc.onTimeout, func(t *testing.T) {
			f := newFixture(t, map[string]string{"appr": approvalBook("1", tc.onTimeout)})
			res, err := f.run(t, workflows.RunInput{Runbook: "appr"})
			if tc.wantErr {
				require.ErrorContains(t, err, "timed out after 30m")
				require.Equal(t, workflows.StatusFailed, stepStatus(res, "gate"))
			} else {
				require.NoError(t, err)
				require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "gate"))
			}
			require.Equal(t, tc.wantCalls, f.rec.got())
		})
	}
}

func TestApprovalEscalatesThenEditsTheRequestInPlace(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("1", "abort")})
	_, err := f.run(t, workflows.RunInput{Runbook: "appr"})
	require.Error(t, err)
	require.Equal(t, []string{
		workflows.NotifyRunStarted, workflows.NotifyApprovalRequest, workflows.NotifyApprovalEscalation,
		workflows.NotifyApprovalUpdate, workflows.NotifySummary,
	}, f.notes.kinds())
	update := f.notes.notes[3]
	require.Equal(t, "ts-2", update.MessageTS, "the timeout must edit the request message, leaving no live buttons")
	require.Equal(t, "ts-1", update.ThreadTS, "every message goes in the run's thread")
	require.Equal(t, workflows.ApprovalTimedOut, update.Approval.Status)
}

func TestRejectionStopsTheRun(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("1", "proceed")})
	noReason := f.update("r0", workflows.Decision{Step: "gate", Approve: false, By: "bob"}, time.Minute)
	rej := f.update("r1", workflows.Decision{Step: "gate", Approve: false, By: "bob", Comment: "source is fine"}, 2*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "appr"})
	require.ErrorContains(t, noReason.err, "needs a reason")
	require.NoError(t, rej.err)
	require.ErrorContains(t, err, "rejected by bob: source is fine")
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Empty(t, f.rec.got())
}

const rollbackRunbook = `schema: switchyard/v1
name: rb
steps:
  - id: one
    action: test.record
    with: {name: one}
    compensate:
      - id: undo_one
        action: test.record
        with: {name: undo-one}
  - id: two
    action: test.record
    with: {name: two}
    compensate:
      - id: undo_two
        action: test.record
        with: {name: "undo-${{ steps.two.result.name }}"}
  - id: soft
    action: test.record
    with: {name: soft}
    on_failure: continue
  - id: three
    action: test.record
    with: {name: three}
    on_failure: rollback
  - id: never
    action: test.record
    with: {name: never}
`

func TestRollbackRunsCompensationsNewestFirst(t *testing.T) {
	f := newFixture(t, map[string]string{"rb": rollbackRunbook})
	f.rec.fail["soft"] = true
	f.rec.fail["three"] = true
	res, err := f.run(t, workflows.RunInput{Runbook: "rb"})
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeRolledBack, res.Outcome)
	require.Equal(t, []string{"one", "two", "soft", "three", "undo-two", "undo-one"}, f.rec.got())
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "soft"))
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "compensate/two/undo_two"))
	require.Equal(t, workflows.StatusPending, stepStatus(res, "never"))
}

func TestAbortDoesNotCompensate(t *testing.T) {
	f := newFixture(t, map[string]string{"rb": strings.Replace(rollbackRunbook, "on_failure: rollback", "on_failure: abort", 1)})
	f.rec.fail["three"] = true
	res, err := f.run(t, workflows.RunInput{Runbook: "rb"})
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Equal(t, []string{"one", "two", "soft", "three"}, f.rec.got())
}

func TestPlanModeRunsOnlyReadOnlySteps(t *testing.T) {
	f := newFixture(t, map[string]string{"rb": rollbackRunbook, "par": parallelRunbook, "appr": approvalBook("1", "abort")})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "plan-1"})
	res, err := f.run(t, workflows.RunInput{Runbook: "par", Mode: workflows.ModePlan})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	require.Empty(t, f.rec.got(), "a plan must not run mutating actions")
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "checks/a"), "checks run in a plan")
	require.Equal(t, workflows.StatusPlanned, stepStatus(res, "checks/c"))
	require.Equal(t, workflows.StatusPlanned, stepStatus(res, "after"))
}

const waitPlanRunbook = `schema: switchyard/v1
name: waitplan
lock: none
steps:
  - id: drained
    wait_until:
      check: core.assert
      with: {that: false, reason: "3 records behind"}
      timeout: 1h
  - id: after
    check: core.assert
    with: {that: true}
`

// In a plan a wait checks once. A condition that does not hold yet is what the run would wait
// for (a busy topic's lag is rarely 0 at the moment of one read), so it is planned, with what it
// saw, and not a failed step of the plan.
func TestPlanModeReportsAWaitNotYetMetAsPlanned(t *testing.T) {
	f := newFixture(t, map[string]string{"waitplan": waitPlanRunbook})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "plan-3"})
	res, err := f.run(t, workflows.RunInput{Runbook: "waitplan", Mode: workflows.ModePlan})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomePlanned, res.Outcome)
	require.Equal(t, workflows.StatusPlanned, stepStatus(res, "drained"))
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "after"))
	for _, s := range res.Steps {
		if s.Path == "drained" {
			require.Equal(t, "would wait up to 1h for core.assert; now: not yet: 3 records behind", s.Summary)
		}
	}
}

func TestPlanModeSkipsApprovals(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("1", "abort")})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "plan-2"})
	res, err := f.run(t, workflows.RunInput{Runbook: "appr", Mode: workflows.ModePlan})
	require.NoError(t, err)
	require.Equal(t, workflows.StatusPlanned, stepStatus(res, "gate"))
	require.Empty(t, f.rec.got())
}

const parentRunbook = `schema: switchyard/v1
name: parent
steps:
  - id: first
    action: test.record
    with: {name: parent-first}
  - id: nested
    runbook: child
    with: {who: parent}
  - id: last
    action: test.record
    with: {name: "last-${{ steps.nested.result.steps.greet.name }}"}
`

const childRunbook = `schema: switchyard/v1
name: child
params:
  - {name: who, type: string, required: true}
steps:
  - id: greet
    action: test.record
    with: {name: "child-of-${{ params.who }}"}
`

func TestNestedRunbookRunsAsChildWorkflow(t *testing.T) {
	f := newFixture(t, map[string]string{"parent": parentRunbook, "child": childRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "parent"})
	require.NoError(t, err)
	require.Equal(t, []string{"parent-first", "child-of-parent", "last-child-of-parent"}, f.rec.got())
	for _, s := range res.Steps {
		if s.Path == "nested" {
			require.Equal(t, workflows.ChildID(workflows.OperationID("test"), "nested"), s.ChildID)
		}
	}
}

func TestDROperationRequiresLockID(t *testing.T) {
	f := newFixture(t, map[string]string{"rb": rollbackRunbook})
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "my-own-id"})
	_, err := f.run(t, workflows.RunInput{Runbook: "rb"})
	require.ErrorContains(t, err, `start it with workflow id "switchyard/test"`)
	require.Empty(t, f.rec.got())
}

// TestStepErrorTypesAreMatchedExactly: a run refused for its workflow id ends with that refusal
// alone (ErrWrongWorkflow), but a step failing with another error type that merely starts with
// "Wrong" is a failed step like any other: the run fails with StepFailed and carries its report.
// The interpreter used to match the refusal by prefix and dropped this run's report.
func TestStepErrorTypesAreMatchedExactly(t *testing.T) {
	f := newFixture(t, map[string]string{"wrong": `schema: switchyard/v1
name: wrong
steps:
  - id: a
    action: test.record
    with: {name: a}
`})
	f.rec.failType = map[string]string{"a": "WrongRegion"}
	res, err := f.run(t, workflows.RunInput{Runbook: "wrong"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, workflows.ErrStepFailed, appErr.Type())
	require.NotNil(t, res, "the failed run carries its report")
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "a"))
	require.Contains(t, res.Error, "injected WrongRegion failure of a")
}

func TestBadInputFailsNonRetryably(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   workflows.RunInput
		want string
	}{
		{"no runbook", workflows.RunInput{Environment: "test"}, `"runbook" is required`},
		{"bad mode", workflows.RunInput{Runbook: "par", Environment: "test", Mode: "yolo"}, `"mode" must be`},
		{"unknown runbook", workflows.RunInput{Runbook: "nope", Environment: "test"}, `no runbook "nope"`},
		{"unknown env", workflows.RunInput{Runbook: "par", Environment: "prod"}, `no environment "prod"`},
		{"bad param", workflows.RunInput{Runbook: "par", Environment: "test", Params: map[string]any{"n": "three"}}, `invalid params`},
		{"unknown param", workflows.RunInput{Runbook: "par", Environment: "test", Params: map[string]any{"m": 1}}, `invalid params`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"par": parallelRunbook})
			_, err := f.run(t, tc.in)
			require.ErrorContains(t, err, tc.want)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr))
			require.True(t, appErr.NonRetryable(), "bad input must not be retried")
		})
	}
}

func TestAlarmsDuringARunAttachAndAreCounted(t *testing.T) {
	f := newFixture(t, map[string]string{"appr": approvalBook("1", "abort")})
	for i, name := range []string{"pipeline-not-ingesting", "pipeline-not-ingesting", "collection-unreachable", "pipeline-not-ingesting"} {
		f.env.RegisterDelayedCallback(func() {
			f.env.SignalWorkflow(workflows.AlarmSignal, workflows.Trigger{Kind: "alarm", Alarm: name})
		}, time.Duration(i+1)*time.Second)
	}
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(workflows.ApproveSignal, workflows.Decision{Step: "gate", Approve: true, By: "bob", Source: "ui"})
	}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "appr", RequestedBy: "alice"})
	require.NoError(t, err)
	require.Len(t, res.Alarms, 2)
	require.Equal(t, "pipeline-not-ingesting", res.Alarms[0].Alarm)
	require.Equal(t, 3, res.Alarms[0].Count)
	require.Equal(t, "collection-unreachable", res.Alarms[1].Alarm)
	require.Equal(t, 1, res.Alarms[1].Count)
	require.Equal(t, []string{"act"}, f.rec.got(), "attached alarms start nothing")
}

func TestLocalStepsRunAsLocalActivities(t *testing.T) {
	f := newFixture(t, map[string]string{"loc": `schema: switchyard/v1
name: loc
lock: none
steps:
  - id: fast
    action: test.record
    local: true
    with: {name: fast}
  - id: scheduled
    action: test.record
    with: {name: scheduled}
  - id: gate
    check: core.assert
    local: true
    with: {that: "${{ steps.fast.result.name == 'fast' }}", reason: local results flow}
`})
	var local, scheduled []string
	f.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		local = append(local, info.ActivityType.Name)
	})
	f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		scheduled = append(scheduled, info.ActivityType.Name)
	})
	res, err := f.run(t, workflows.RunInput{Runbook: "loc"})
	require.NoError(t, err)
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "gate"))
	require.Equal(t, []string{"fast", "scheduled"}, f.rec.got())
	require.Contains(t, local, "test.record")
	require.Contains(t, local, "core.assert")
	require.Equal(t, 1, count(scheduled, "test.record"), "only the step without local: true is scheduled")
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// A local step tries once locally, then as a scheduled activity with the step's retries; a
// failure that retrying cannot fix (AccessDenied and the like) ends the step after one call.
func TestLocalStepsFallBackToScheduledOnlyWhenRetryingHelps(t *testing.T) {
	f := newFixture(t, map[string]string{"localfirst": `schema: switchyard/v1
name: localfirst
description: local first
steps:
  - id: a
    action: test.record
    with: {name: a}
    local: true
  - id: b
    action: test.record
    with: {name: b}
    local: true
    on_failure: continue
`})
	f.rec.flaky = map[string]int{"a": 1}
	f.rec.fail["b"] = true
	res, err := f.run(t, workflows.RunInput{Runbook: "localfirst"})
	require.NoError(t, err)
	require.Equal(t, workflows.StatusSucceeded, stepStatus(res, "a"))
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "b"))
	require.Equal(t, []string{"a:local", "a:scheduled", "b:local"}, f.rec.how)
}
