package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Operators' controls of a running failover (issue 17) on the embedded server and the lab,
// through the CLI. The environment lab-controls is the lab's with on_failure: pause (a failed
// step that would stop the run pauses it) and two on-call approvers: "tester" requests the runs
// and may not control them.

const controlsEnv = "lab-controls"

func controlsEnvironment(t *testing.T) string {
	t.Helper()
	resetLab(t)
	env := sharedLab.ARCEnvironment(controlsEnv)
	env.OnFailure = runbook.OnFailurePause
	env.Approvers = []string{"oncall-a", "oncall-b"}
	writeEnvironment(t, env)
	id := workflows.OperationID(controlsEnv)
	t.Cleanup(func() {
		ctx := context.Background()
		if desc, err := shared.client.DescribeWorkflowExecution(ctx, id, ""); err == nil &&
			desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			_ = shared.client.TerminateWorkflow(ctx, id, "", "test cleanup")
		}
		resetLab(t)
	})
	return id
}

// controlCLI runs a control command and returns what the run applied.
func controlCLI(t *testing.T, args ...string) (workflows.AppliedControl, error) {
	t.Helper()
	out, err := cli(t, append(args, "--json")...)
	var a workflows.AppliedControl
	if err == nil {
		require.NoError(t, json.Unmarshal([]byte(out), &a), out)
	}
	return a, err
}

func waitStep(t *testing.T, id, path string, status workflows.StepStatus) {
	t.Helper()
	waitLongSaying(t, path+" "+string(status), func() bool { return stepOf(progressOf(t, id), path).Status == status },
		func() string { out, _ := cli(t, "status", id); return out })
}

// TestFailoverPausesOnFailedWritesAndRetriesAfterHeal: pause and resume between steps (an
// outsider's pause is refused and changes nothing); the target's pipeline stops while the run is
// held, so verify_writes fails and pauses the run instead of rolling it back; the pipeline is
// started again and a retry of the step finishes the failover.
func TestFailoverPausesOnFailedWritesAndRetriesAfterHeal(t *testing.T) {
	id := controlsEnvironment(t)
	ctx := context.Background()
	require.Equal(t, id, startRunbookIn(t, controlsEnv, "failover", "target="+west, "verify_window=10s"))
	waitStep(t, id, "approve", workflows.StatusWaiting)

	_, err := controlCLI(t, "pause", id, "--as", "mallory", "--comment", "let me in")
	require.ErrorContains(t, err, "mallory may not control runs on environment lab-controls")
	_, err = controlCLI(t, "pause", id, "--as", "tester", "--comment", "no comment")
	require.ErrorContains(t, err, "tester may not control runs")
	p := progressOf(t, id)
	require.Nil(t, p.Hold, "refused controls change nothing")
	require.Empty(t, p.Controls)

	a, err := controlCLI(t, "pause", id, "--as", "oncall-a", "--comment", "hold before the shift")
	require.NoError(t, err)
	require.Equal(t, "run paused: no new step starts until resume", a.Result)
	_, err = cli(t, "approve", id, "--step", "approve", "--as", "oncall-b")
	require.NoError(t, err)
	waitStep(t, id, "approve", workflows.StatusSucceeded)
	p = progressOf(t, id)
	require.Equal(t, "oncall-a", p.Hold.By)
	require.Equal(t, workflows.StatusPending, stepOf(p, "shift").Status, "held: the shift does not start")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))

	// The target's pipeline stops: nothing written after the shift lands in its collection.
	_, err = sharedLab.Pipeline(west).Stop(ctx)
	require.NoError(t, err)
	_, err = controlCLI(t, "resume", id, "--as", "oncall-b", "--comment", "go")
	require.NoError(t, err)
	waitStep(t, id, "verify_writes", workflows.StatusPaused)
	p = progressOf(t, id)
	v := stepOf(p, "verify_writes")
	require.Equal(t, []string{"retry", "skip", "abort"}, v.Pause.Controls)
	require.NotEmpty(t, v.Error)
	require.Equal(t, []string{"verify_writes"}, p.Current)
	out, err := cli(t, "status", id)
	require.NoError(t, err)
	require.Contains(t, out, "decide: starter retry|skip|abort "+id+" --step verify_writes")

	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = sharedLab.Pipeline(west).Start(sctx)
	require.NoError(t, err)
	waitLong(t, "the target's pipeline ACTIVE", func() bool { return string(sharedLab.Pipeline(west).Status()) == "ACTIVE" })
	a, err = controlCLI(t, "retry", id, "--step", "verify_writes", "--as", "oncall-a", "--comment", "pipeline restarted")
	require.NoError(t, err)
	require.Equal(t, "step verify_writes runs again", a.Result)

	res, err := followToEnd(t, id)
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "verify_writes").Status)
	require.Equal(t, workflows.ControlRetry, stepOf(res.Progress, "verify_writes").Pause.Action)
	require.Len(t, res.Controls, 3)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	out, err = cli(t, "report", id)
	require.NoError(t, err)
	require.Contains(t, out, "## Controls")
	require.Contains(t, out, "pipeline restarted")
	recordHistory(t, id, "failover-paused-retried")
}

// TestFailoverControlsSkipInterlockAbortRollback: skipping the pre-flight interlock is refused
// (the run stays paused on it), and an abort of a failover paused after its shift, with
// rollback, puts the writes back where they were.
func TestFailoverControlsSkipInterlockAbortRollback(t *testing.T) {
	id := controlsEnvironment(t)
	ctx := context.Background()

	// The target's pipeline API fails: the pre-flight verdict fails and pauses the run.
	_, err := sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultFail, Region: west, Service: "osis"})
	require.NoError(t, err)
	require.Equal(t, id, startRunbookIn(t, controlsEnv, "failover", "target="+west, "auto_approve=true"))
	waitStep(t, id, "healthy_target", workflows.StatusPaused)
	require.Equal(t, []string{"retry", "abort"}, stepOf(progressOf(t, id), "healthy_target").Pause.Controls)
	_, err = controlCLI(t, "skip", id, "--step", "healthy_target", "--as", "oncall-a", "--comment", "I know better")
	require.ErrorContains(t, err, "step healthy_target must not be skipped (skippable: false: it is an interlock); retry it, or abort the run")
	require.Equal(t, workflows.StatusPaused, stepOf(progressOf(t, id), "healthy_target").Status)
	_, err = controlCLI(t, "abort", id, "--as", "oncall-b", "--comment", "not today")
	require.NoError(t, err)
	res, err := followToEnd(t, id)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Contains(t, res.Error, "aborted by oncall-b (without rollback): not today")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	_, err = sharedLab.HealAll(ctx)
	require.NoError(t, err)

	// After the shift, the target's pipeline stops: verify_writes pauses; abort with rollback.
	require.Equal(t, id, startRunbookIn(t, controlsEnv, "failover", "target="+west, "verify_window=10s"))
	waitStep(t, id, "approve", workflows.StatusWaiting)
	_, err = sharedLab.Pipeline(west).Stop(ctx)
	require.NoError(t, err)
	_, err = cli(t, "approve", id, "--step", "approve", "--as", "oncall-b")
	require.NoError(t, err)
	waitStep(t, id, "verify_writes", workflows.StatusPaused)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t), "the shift happened")
	a, err := controlCLI(t, "abort", id, "--as", "oncall-a", "--comment", "writes do not land; back", "--rollback")
	require.NoError(t, err)
	require.Equal(t, "run aborted; rolling back the steps done so far", a.Result)
	res, err = followToEnd(t, id)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeRolledBack, res.Outcome)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "compensate/shift/shift_back").Status)
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t), "the weights are restored")
	recordHistory(t, id, "failover-aborted-rolled-back")
}

// TestFailoverSwitchedToUngracefulStopsCallingTheSource: a graceful failover waiting for its
// approval is switched to ungraceful; from then on nothing calls into the source Region (counted
// in the lab's control plane), the graceful-only drain is skipped, and skipping a skippable step
// that failed lets the run go on.
func TestFailoverSwitchedToUngracefulStopsCallingTheSource(t *testing.T) {
	id := controlsEnvironment(t)
	ctx := context.Background()
	require.Equal(t, id, startRunbookIn(t, controlsEnv, "failover", "target="+west, "verify_window=10s"))
	waitStep(t, id, "approve", workflows.StatusWaiting)

	calls := observeRegionCalls(t)
	a, err := controlCLI(t, "ungraceful", id, "--as", "oncall-a", "--comment", "us-east-1 is going down")
	require.NoError(t, err)
	require.Equal(t, "from now on steps that call the source Region us-east-1 are skipped", a.Result)
	_, err = sharedLab.Pipeline(west).Stop(ctx)
	require.NoError(t, err)
	_, err = cli(t, "approve", id, "--step", "approve", "--as", "oncall-b")
	require.NoError(t, err)
	waitStep(t, id, "verify_writes", workflows.StatusPaused)
	_, err = controlCLI(t, "skip", id, "--step", "verify_writes", "--as", "oncall-b", "--comment", "checked the collection by hand")
	require.NoError(t, err)
	res, err := followToEnd(t, id)
	calls.stop()
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.True(t, res.Ungraceful)
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "verify_writes").Status)
	require.Equal(t, workflows.StatusSkipped, stepOf(res.Progress, "drain").Status)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "traffic_after").Status)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	eastCalls, otherCalls := calls.counts()
	require.Zero(t, eastCalls, "no call into us-east-1 after the switch")
	require.Positive(t, otherCalls)
	recordHistory(t, id, "failover-switched-ungraceful")
}

// TestControlCommandsRefuseBadFlagsBeforeSending: what the CLI can tell alone it tells before
// reaching the server; --with values are read as YAML scalars, as in a runbook's with:.
func TestControlCommandsRefuseBadFlagsBeforeSending(t *testing.T) {
	_, err := cli(t, "skip", "some-run", "--as", "oncall-a", "--comment", "c", "--with", "window=30s")
	require.ErrorContains(t, err, "--with goes with retry only")
	_, err = cli(t, "pause", "some-run", "--as", "oncall-a", "--comment", "c", "--rollback")
	require.ErrorContains(t, err, "--rollback goes with abort only")
	_, err = cli(t, "retry", "some-run", "--as", "oncall-a")
	require.ErrorContains(t, err, "starter retry needs --comment")
	_, err = cli(t, "abort", "--as", "oncall-a", "--comment", "c")
	require.ErrorContains(t, err, "usage: starter abort ID")

	w := withFlag{}
	for _, kv := range []string{"max_message_lag=5", "window=30s", "wait=true", "comment=a=b"} {
		require.NoError(t, w.Set(kv))
	}
	require.Equal(t, withFlag{"max_message_lag": 5, "window": "30s", "wait": true, "comment": "a=b"}, w)
	require.Error(t, w.Set("novalue"))
}

// TestControlOfANestedRunbooksStep: a drill's nested failover pauses on its failed write check;
// the operator names the drill and the step, and the CLI sends the skip to the nested run that is
// paused on it. Then the drill itself is aborted.
func TestControlOfANestedRunbooksStep(t *testing.T) {
	id := controlsEnvironment(t)
	ctx := context.Background()
	require.Equal(t, id, startRunbookIn(t, controlsEnv, "drill", "target="+west, "verify_window=10s", "pause=1s"))
	child := workflows.ChildID(id, "failover")
	waitLong(t, "the nested failover", func() bool { return stepOf(progressOf(t, id), "failover").Status == workflows.StatusRunning })
	waitStep(t, child, "approve", workflows.StatusWaiting)
	_, err := sharedLab.Pipeline(west).Stop(ctx)
	require.NoError(t, err)
	_, err = cli(t, "approve", child, "--step", "approve", "--as", "oncall-b")
	require.NoError(t, err)
	waitStep(t, child, "verify_writes", workflows.StatusPaused)

	out, err := cli(t, "skip", id, "--step", "verify_writes", "--as", "oncall-a", "--comment", "checked by hand")
	require.NoError(t, err)
	require.Contains(t, out, "step verify_writes is in the nested run "+child+": sent there")
	waitStep(t, id, "failover", workflows.StatusSucceeded)
	require.Equal(t, workflows.StatusSkipped, stepOf(progressOf(t, child), "verify_writes").Status)

	_, err = controlCLI(t, "abort", id, "--as", "oncall-b", "--comment", "enough for today")
	require.NoError(t, err)
	res, err := followToEnd(t, id)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Contains(t, res.Error, "aborted by oncall-b (without rollback): enough for today")
}
