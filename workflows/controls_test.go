package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Operators' controls (issue 17), on the test server: each row of the decision table in
// controls.go that changes something, and the refusals that must change nothing.

type regionArgs struct {
	Name   string `json:"name" catalog:"required"`
	Region string `json:"region" catalog:"required"`
}

// newControlFixture is newFixture with a test.region entry (an action that names a Region, so a
// run switched to ungraceful can skip the calls into the source Region) and env extra appended
// to the test environment.
func newControlFixture(t *testing.T, runbooks map[string]string, envExtra string) *fixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "test.yaml"), []byte(testEnv+envExtra), 0o644))
	for name, src := range runbooks {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644))
	}
	f := &fixture{rec: &recorder{fail: map[string]bool{}, flaky: map[string]int{}}, notes: &noteRecorder{}}
	f.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	f.env = f.NewTestWorkflowEnvironment()
	reg := activities.NewCatalogRegistry(activities.Options{})
	activities.Register(reg, catalog.Spec{Name: "test.record", Kind: catalog.KindAction, Description: "record a call"}, f.rec.record)
	activities.Register(reg, catalog.Spec{Name: "test.region", Kind: catalog.KindAction, Description: "record a call into a Region"},
		func(ctx context.Context, in regionArgs) (recordResult, error) {
			return f.rec.record(ctx, recordArgs{Name: in.Name + "@" + in.Region})
		})
	// test.not_yet is a check that is not ok for its first calls (rec.flaky counts them down).
	activities.Register(reg, catalog.Spec{Name: "test.not_yet", Kind: catalog.KindCheck, ReadOnly: true, Description: "not ok at first"},
		func(ctx context.Context, in recordArgs) (activities.CheckResult, error) {
			f.rec.mu.Lock()
			defer f.rec.mu.Unlock()
			f.rec.calls = append(f.rec.calls, in.Name)
			if f.rec.flaky[in.Name] > 0 {
				f.rec.flaky[in.Name]--
				return activities.CheckResult{OK: false, Reason: "not yet"}, nil
			}
			return activities.CheckResult{OK: true, Reason: "ready"}, nil
		})
	reg.RegisterActivities(f.env)
	(&activities.Engine{RunbookDir: dir, Registry: reg, Notifier: f.notes}).Register(f.env)
	workflows.Register(f.env)
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.OperationID("test")})
	return f
}

type controlResult struct {
	applied *workflows.AppliedControl
	err     error
}

// control sends c as the control update after delay (workflow time).
func (f *fixture) control(id string, c workflows.Control, delay time.Duration) *controlResult {
	out := &controlResult{}
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(workflows.ControlUpdate, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					out.err = err
					return
				}
				a := v.(workflows.AppliedControl)
				out.applied = &a
			},
		}, c)
	}, delay)
	return out
}

// progressAt queries the run's progress at delay (workflow time).
func (f *fixture) progressAt(t *testing.T, delay time.Duration) *workflows.Progress {
	p := &workflows.Progress{}
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(workflows.ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(p))
	}, delay)
	return p
}

func (f *fixture) heal(name string, at time.Duration) {
	f.env.RegisterDelayedCallback(func() {
		f.rec.mu.Lock()
		defer f.rec.mu.Unlock()
		delete(f.rec.fail, name)
	}, at)
}

func stepIn(p *workflows.Progress, path string) workflows.StepState {
	for _, s := range p.Steps {
		if s.Path == path {
			return s
		}
	}
	return workflows.StepState{}
}

const pauseRunbook = `schema: switchyard/v1
name: pausing
steps:
  - id: shift
    action: test.record
    with: {name: shift}
    compensate:
      - id: unshift
        action: test.record
        with: {name: unshift}
  - id: verify
    action: test.record
    with: {name: verify}
    on_failure: pause
  - id: interlock
    action: test.record
    with: {name: interlock}
    on_failure: pause
    skippable: false
  - id: after
    action: test.record
    with: {name: "after-${{ steps.verify.status }}-${{ steps.verify.result == nil }}"}
`

func TestFailedStepPausesAndRetryAfterHealSucceeds(t *testing.T) {
	f := newControlFixture(t, map[string]string{"pausing": pauseRunbook}, "")
	f.rec.fail["verify"] = true
	paused := f.progressAt(t, time.Minute)
	early := f.control("r0", workflows.Control{Action: workflows.ControlRetry, Step: "verify", By: "bob"}, 2*time.Minute)
	f.heal("verify", 3*time.Minute)
	retry := f.control("r1", workflows.Control{Action: workflows.ControlRetry, Step: "verify", By: "bob", Comment: "the collection is back"}, 4*time.Minute)
	wrong := f.control("r2", workflows.Control{Action: workflows.ControlRetry, Step: "shift", By: "bob", Comment: "again"}, 150*time.Second)

	res, err := f.run(t, workflows.RunInput{Runbook: "pausing", RequestedBy: "alice"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)

	v := stepIn(paused, "verify")
	require.Equal(t, workflows.StatusPaused, v.Status, "a failed step with on_failure: pause pauses the run")
	require.Contains(t, v.Error, "injected failure of verify")
	require.Equal(t, []string{"retry", "skip", "abort"}, v.Pause.Controls)
	require.Equal(t, []string{"alice", "bob", "carol"}, v.Pause.Approvers)
	require.Equal(t, []string{"verify"}, paused.Current)
	require.Equal(t, workflows.StatusPending, stepIn(paused, "interlock").Status, "nothing after the paused step starts")

	require.ErrorContains(t, early.err, "a retry needs a comment")
	require.NoError(t, retry.err)
	require.Equal(t, "step verify runs again", retry.applied.Result)
	require.ErrorContains(t, wrong.err, `too late or wrong step: step "shift" is not paused on its failure nor a running action, check or wait (it is succeeded)`)
	require.Equal(t, []string{"shift", "verify", "verify", "interlock", "after-succeeded-false"}, f.rec.got())

	require.Len(t, res.Controls, 1, "refused controls are not recorded")
	require.Equal(t, "bob", res.Controls[0].By)
	require.Equal(t, workflows.ControlRetry, stepIn(&res.Progress, "verify").Pause.Action, "the step keeps the control that ended its pause")

	kinds := f.notes.kinds()
	require.Contains(t, kinds, workflows.NotifyPaused)
	require.Contains(t, kinds, workflows.NotifyPauseUpdate)
	for i, n := range f.notes.notes {
		if n.Kind == workflows.NotifyPaused {
			require.Equal(t, "verify", n.Step)
			require.Equal(t, []string{"retry", "skip", "abort"}, n.Pause.Controls)
			require.Equal(t, "ts-1", n.ThreadTS, "posted in the run's thread")
		}
		if n.Kind == workflows.NotifyPauseUpdate {
			require.Equal(t, "ts-"+strconv.Itoa(indexOfKind(f.notes.notes, workflows.NotifyPaused)+1), n.MessageTS, "the pause update edits the paused message (no stale buttons): note %d", i)
			require.Equal(t, "bob", n.Pause.By)
		}
	}
}

func indexOfKind(notes []workflows.Notification, kind string) int {
	for i, n := range notes {
		if n.Kind == kind {
			return i
		}
	}
	return -1
}

func TestSkipMarksTheStepSkippedWithANullResult(t *testing.T) {
	f := newControlFixture(t, map[string]string{"pausing": pauseRunbook}, "")
	f.rec.fail["verify"] = true
	skip := f.control("s1", workflows.Control{Action: workflows.ControlSkip, Step: "verify", By: "carol", Comment: "verified by hand", Source: "cli"}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "pausing"})
	require.NoError(t, err)
	require.NoError(t, skip.err)
	require.Equal(t, workflows.StatusSkipped, stepStatus(res, "verify"))
	require.Contains(t, stepIn(&res.Progress, "verify").Summary, "skipped by carol after it failed: verified by hand")
	require.Empty(t, stepIn(&res.Progress, "verify").Error)
	require.Equal(t, []string{"shift", "verify", "interlock", "after-skipped-true"}, f.rec.got(), "later steps see status skipped and a null result")
}

func TestSkipOfAnInterlockIsRefusedAndAbortWithRollbackCompensates(t *testing.T) {
	f := newControlFixture(t, map[string]string{"pausing": pauseRunbook}, "")
	f.rec.fail["interlock"] = true
	skip := f.control("s1", workflows.Control{Action: workflows.ControlSkip, Step: "interlock", By: "bob", Comment: "just go"}, time.Minute)
	paused := f.progressAt(t, 2*time.Minute)
	abort := f.control("a1", workflows.Control{Action: workflows.ControlAbort, By: "bob", Comment: "give up", Rollback: true}, 3*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "pausing"})
	require.Error(t, err)
	require.ErrorContains(t, skip.err, "step interlock must not be skipped (skippable: false: it is an interlock); retry it, or abort the run")
	require.Equal(t, []string{"retry", "abort"}, stepIn(paused, "interlock").Pause.Controls, "no skip is offered for an interlock")
	require.Equal(t, workflows.StatusPaused, stepIn(paused, "interlock").Status, "the refused skip changed nothing")
	require.NoError(t, abort.err)
	require.Equal(t, workflows.OutcomeRolledBack, res.Outcome)
	require.Contains(t, res.Error, "aborted by bob (with rollback): give up")
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "interlock"))
	require.Equal(t, workflows.StatusPending, stepStatus(res, "after"))
	require.Equal(t, []string{"shift", "verify", "interlock", "unshift"}, f.rec.got())
}

func TestAbortWithoutRollbackLeavesWhatWasDone(t *testing.T) {
	f := newControlFixture(t, map[string]string{"pausing": pauseRunbook}, "")
	f.rec.fail["verify"] = true
	f.control("a1", workflows.Control{Action: workflows.ControlAbort, Step: "verify", By: "bob", Comment: "stop here"}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "pausing"})
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Contains(t, res.Error, "aborted by bob (without rollback): stop here")
	require.Equal(t, []string{"shift", "verify"}, f.rec.got())
	require.Equal(t, workflows.ControlAbort, stepIn(&res.Progress, "verify").Pause.Action)
}

// TestEnvironmentPauseAndRetryWithChangedValues: the environment's on_failure: pause pauses a
// DR runbook's step whose own policy would stop the run; a retry with: values is checked
// against the catalog (an unknown argument or a wrong type is refused) and runs the step with
// them.
func TestEnvironmentPauseAndRetryWithChangedValues(t *testing.T) {
	book := `schema: switchyard/v1
name: envpause
steps:
  - id: soft
    action: test.record
    with: {name: soft}
    on_failure: continue
  - id: act
    action: test.record
    with: {name: act}
  - id: done
    action: test.record
    with: {name: done}
`
	f := newControlFixture(t, map[string]string{"envpause": book}, "on_failure: pause\n")
	f.rec.fail["soft"] = true
	f.rec.fail["act"] = true
	unknown := f.control("w0", workflows.Control{Action: workflows.ControlRetry, Step: "act", By: "bob", Comment: "other name", With: map[string]any{"nme": "x"}}, time.Minute)
	wrongType := f.control("w1", workflows.Control{Action: workflows.ControlRetry, Step: "act", By: "bob", Comment: "other name", With: map[string]any{"name": 42}}, 2*time.Minute)
	ok := f.control("w2", workflows.Control{Action: workflows.ControlRetry, Step: "act", By: "bob", Comment: "other name", With: map[string]any{"name": "act-v2"}}, 3*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "envpause"})
	require.NoError(t, err)
	require.ErrorContains(t, unknown.err, "with.nme: not an argument of test.record (its arguments: name)")
	require.ErrorContains(t, wrongType.err, "with.name: want string, got")
	require.NoError(t, ok.err)
	require.Equal(t, "step act runs again with name=act-v2", ok.applied.Result)
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "soft"), "continue is not turned into a pause")
	require.Equal(t, []string{"soft", "act", "act-v2", "done"}, f.rec.got())
}

const holdRunbook = `schema: switchyard/v1
name: holding
requires_two: true
steps:
  - id: gate
    approval: {message: "go?", timeout: 1h, on_timeout: proceed, quorum: QUORUM}
  - id: next
    action: test.record
    with: {name: next}
`

func holdBook(quorum string) string {
	return strings.NewReplacer("QUORUM", quorum, "requires_two: true\n", "").Replace(holdRunbook)
}

func TestPauseAndResumeBetweenSteps(t *testing.T) {
	f := newControlFixture(t, map[string]string{"holding": holdBook("1")}, "")
	pause := f.control("p1", workflows.Control{Action: workflows.ControlPause, By: "bob", Comment: "wait for the vendor call"}, time.Minute)
	again := f.control("p2", workflows.Control{Action: workflows.ControlPause, By: "carol", Comment: "me too"}, 2*time.Minute)
	f.update("d1", workflows.Decision{Step: "gate", Approve: true, By: "carol"}, 3*time.Minute)
	held := f.progressAt(t, 30*time.Minute)
	resume := f.control("p3", workflows.Control{Action: workflows.ControlResume, By: "bob", Comment: "vendor says go"}, 2*time.Hour)
	res, err := f.run(t, workflows.RunInput{Runbook: "holding"})
	require.NoError(t, err)
	require.NoError(t, pause.err)
	require.ErrorContains(t, again.err, "already paused by bob: wait for the vendor call")
	require.NoError(t, resume.err)
	require.Equal(t, workflows.StatusSucceeded, stepIn(held, "gate").Status)
	require.Equal(t, workflows.StatusPending, stepIn(held, "next").Status, "no step starts while the run is held")
	require.Equal(t, "bob", held.Hold.By)
	require.Nil(t, res.Hold)
	require.Equal(t, []string{"next"}, f.rec.got())
	require.Equal(t, []string{"pause", "resume"}, []string{res.Controls[0].Action, res.Controls[1].Action})
	require.True(t, stepIn(&res.Progress, "next").StartedAt.Sub(res.StartedAt) >= 2*time.Hour, "next started after the resume")
}

// TestUnauthorisedAndSelfControlsAreRefused: the environment's approvers decide who may control
// a run, and a runbook that asks for two people keeps its requester from controlling it; refused
// controls (by update or signal) change nothing.
func TestUnauthorisedAndSelfControlsAreRefused(t *testing.T) {
	f := newControlFixture(t, map[string]string{"holding": holdBook("2")}, "")
	outsider := f.control("c1", workflows.Control{Action: workflows.ControlAbort, By: "mallory", Comment: "stop"}, time.Minute)
	self := f.control("c2", workflows.Control{Action: workflows.ControlAbort, By: "alice", Comment: "stop"}, 2*time.Minute)
	grouped := f.control("c3", workflows.Control{Action: workflows.ControlPause, By: "dave", Groups: []string{"carol"}, Comment: "on behalf of the carol group"}, 3*time.Minute)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(workflows.ControlSignal, workflows.Control{Action: workflows.ControlAbort, By: "mallory", Comment: "by signal", Source: "ui"})
	}, 4*time.Minute)
	resume := f.control("c4", workflows.Control{Action: workflows.ControlResume, By: "bob", Comment: "go"}, 5*time.Minute)
	f.update("d1", workflows.Decision{Step: "gate", Approve: true, By: "bob"}, 6*time.Minute)
	f.update("d2", workflows.Decision{Step: "gate", Approve: true, By: "carol"}, 7*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "holding", RequestedBy: "alice"})
	require.NoError(t, err, "no refused abort stopped the run")
	require.ErrorContains(t, outsider.err, "mallory may not control runs on environment test (its approvers: [alice bob carol])")
	require.ErrorContains(t, self.err, "alice requested this run and cannot control it")
	require.NoError(t, grouped.err)
	require.NoError(t, resume.err)
	require.Len(t, res.Ignored, 1)
	require.Contains(t, res.Ignored[0], "control abort by \"mallory\"")
	require.Len(t, res.Controls, 2)
	require.Equal(t, []string{"next"}, f.rec.got())
}

// TestRetryNowCutsARetryBackoffShort: an action failing transiently waits in its (Temporal
// activity) retry backoff of an hour; retry now cancels it and runs the step at once.
func TestRetryNowCutsARetryBackoffShort(t *testing.T) {
	book := `schema: switchyard/v1
name: backoff
steps:
  - id: act
    action: test.record
    with: {name: act}
    local: false
    retry: {attempts: 5, backoff: 1h}
`
	f := newControlFixture(t, map[string]string{"backoff": book}, "")
	f.rec.flaky["act"] = 1
	now := f.control("n1", workflows.Control{Action: workflows.ControlRetry, Step: "act", By: "bob", Comment: "the throttle is lifted"}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "backoff"})
	require.NoError(t, err)
	require.NoError(t, now.err)
	require.Equal(t, "step act tried again now", now.applied.Result)
	act := stepIn(&res.Progress, "act")
	require.Less(t, act.EndedAt.Sub(*act.StartedAt), time.Hour, "the hour of backoff was cut short")
	require.Equal(t, []string{"act", "act"}, f.rec.got())
}

const ungracefulRunbook = `schema: switchyard/v1
name: fo
target_region: params.target
params:
  - {name: target, type: region, required: true}
  - {name: ungraceful, type: bool, default: false}
steps:
  - id: gate
    approval: {message: "go?", timeout: 1h, on_timeout: proceed}
  - id: drain
    if: "!params.ungraceful"
    action: test.region
    with: {name: drain, region: "${{ params.target }}"}
  - id: source_read
    action: test.region
    with: {name: read, region: "${{ peer(params.target) }}"}
  - id: target_write
    action: test.region
    with: {name: "write-${{ params.ungraceful }}", region: "${{ params.target }}"}
`

func TestSwitchToUngracefulSkipsSourceRegionCalls(t *testing.T) {
	f := newControlFixture(t, map[string]string{"fo": ungracefulRunbook, "pausing": pauseRunbook}, "")
	sw := f.control("u1", workflows.Control{Action: workflows.ControlUngraceful, By: "bob", Comment: "us-east-1 is gone"}, time.Minute)
	again := f.control("u2", workflows.Control{Action: workflows.ControlUngraceful, By: "bob", Comment: "twice"}, 2*time.Minute)
	f.update("d1", workflows.Decision{Step: "gate", Approve: true, By: "bob"}, 3*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "fo", Params: map[string]any{"target": "us-west-2"}})
	require.NoError(t, err)
	require.NoError(t, sw.err)
	require.Equal(t, "from now on steps that call the source Region us-east-1 are skipped", sw.applied.Result)
	require.ErrorContains(t, again.err, "already ungraceful")
	require.True(t, res.Ungraceful)
	require.Equal(t, "us-east-1", res.SourceRegion)
	require.Equal(t, []string{"write-true@us-west-2"}, f.rec.got(), "no call into us-east-1 after the switch")
	require.Equal(t, workflows.StatusSkipped, stepStatus(res, "drain"))
	require.Equal(t, workflows.StatusSkipped, stepStatus(res, "source_read"))

	// A runbook with no ungraceful mode refuses the switch.
	g := newControlFixture(t, map[string]string{"pausing": pauseRunbook}, "")
	g.rec.fail["verify"] = true
	no := g.control("u3", workflows.Control{Action: workflows.ControlUngraceful, By: "bob", Comment: "x"}, time.Minute)
	g.control("a", workflows.Control{Action: workflows.ControlAbort, By: "bob", Comment: "done"}, 2*time.Minute)
	_, err = g.run(t, workflows.RunInput{Runbook: "pausing"})
	require.Error(t, err)
	require.ErrorContains(t, no.err, "runbook pausing has no ungraceful mode")
}

// TestUngracefulReachesARunningNestedRunbook: a parent switched to ungraceful signals the
// nested runbook it is running (its step passes ungraceful), which skips its source-Region calls
// from then on; a nested run started later gets params.ungraceful from the parent's scope.
func TestUngracefulReachesARunningNestedRunbook(t *testing.T) {
	parent := `schema: switchyard/v1
name: outer
target_region: params.target
params:
  - {name: target, type: region, required: true}
  - {name: ungraceful, type: bool, default: false}
steps:
  - id: first
    runbook: fo
    with: {target: "${{ params.target }}", ungraceful: "${{ params.ungraceful }}"}
  - id: second
    runbook: fo
    with: {target: "${{ params.target }}", ungraceful: "${{ params.ungraceful }}"}
`
	f := newControlFixture(t, map[string]string{"outer": parent, "fo": ungracefulRunbook}, "")
	sw := f.control("u1", workflows.Control{Action: workflows.ControlUngraceful, By: "bob", Comment: "source down"}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "outer", Params: map[string]any{"target": "us-west-2"}})
	require.NoError(t, err)
	require.True(t, res.Ungraceful)
	require.NoError(t, sw.err)
	require.Contains(t, sw.applied.Result, "nested switchyard/test/first switched too")
	// Both nested runs: no drain, no read of us-east-1, and the write says ungraceful.
	require.Equal(t, []string{"write-true@us-west-2", "write-true@us-west-2"}, f.rec.got())
}

// TestRetryNowCutsACheckWaitShort: a check not ok yet waits its backoff (an hour) before the next
// attempt; retry now, sent by the control signal (the Temporal UI's path), runs the next attempt
// at once.
func TestRetryNowCutsACheckWaitShort(t *testing.T) {
	book := `schema: switchyard/v1
name: checking
steps:
  - id: ready
    check: test.not_yet
    with: {name: ready}
    retry: {attempts: 3, backoff: 1h}
`
	f := newControlFixture(t, map[string]string{"checking": book}, "")
	f.rec.flaky["ready"] = 1
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(workflows.ControlSignal, workflows.Control{Action: workflows.ControlRetry, Step: "ready", By: "carol", Comment: "it is ready now", Source: "ui"})
	}, time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "checking"})
	require.NoError(t, err)
	st := stepIn(&res.Progress, "ready")
	require.Equal(t, 2, st.Attempts)
	require.Less(t, st.EndedAt.Sub(*st.StartedAt), time.Hour, "the hour between attempts was cut short")
	require.Len(t, res.Controls, 1)
	require.Equal(t, "ui", res.Controls[0].Source)
	require.Empty(t, res.Ignored)
}

// TestUngracefulDoesNotImplyForce: the pre-flight interlock wants ungraceful and force; switching
// a run paused on it to ungraceful and retrying does not get past it (force is the requester's,
// given at start), and it still may not be skipped.
func TestUngracefulDoesNotImplyForce(t *testing.T) {
	book := `schema: switchyard/v1
name: interlocked
target_region: params.target
params:
  - {name: target, type: region, required: true}
  - {name: ungraceful, type: bool, default: false}
  - {name: force, type: bool, default: false}
steps:
  - id: healthy_target
    check: core.assert
    with: {that: "${{ params.ungraceful && params.force }}", reason: "pre-flight failed; ungraceful=${{ params.ungraceful }} force=${{ params.force }}"}
    on_failure: pause
    skippable: false
  - id: shift
    action: test.record
    with: {name: shift}
`
	f := newControlFixture(t, map[string]string{"interlocked": book}, "")
	sw := f.control("u", workflows.Control{Action: workflows.ControlUngraceful, By: "bob", Comment: "source down"}, time.Minute)
	retry := f.control("r", workflows.Control{Action: workflows.ControlRetry, Step: "healthy_target", By: "bob", Comment: "now ungraceful"}, 2*time.Minute)
	again := f.progressAt(t, 3*time.Minute)
	skip := f.control("s", workflows.Control{Action: workflows.ControlSkip, Step: "healthy_target", By: "bob", Comment: "go anyway"}, 4*time.Minute)
	f.control("a", workflows.Control{Action: workflows.ControlAbort, By: "bob", Comment: "no force, no failover"}, 5*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "interlocked", Params: map[string]any{"target": "us-west-2"}})
	require.Error(t, err)
	require.NoError(t, sw.err)
	require.NoError(t, retry.err)
	st := stepIn(again, "healthy_target")
	require.Equal(t, workflows.StatusPaused, st.Status, "the retry failed again")
	require.Contains(t, st.Error, "ungraceful=true force=false")
	require.ErrorContains(t, skip.err, "must not be skipped")
	require.Empty(t, f.rec.got(), "nothing moved")
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
}

// TestAbortOfAHeldRun: a run held between steps and aborted starts no further step.
func TestAbortOfAHeldRun(t *testing.T) {
	f := newControlFixture(t, map[string]string{"holding": holdBook("1")}, "")
	f.control("p", workflows.Control{Action: workflows.ControlPause, By: "bob", Comment: "hold"}, time.Minute)
	f.update("d", workflows.Decision{Step: "gate", Approve: true, By: "carol"}, 2*time.Minute)
	abort := f.control("a", workflows.Control{Action: workflows.ControlAbort, By: "carol", Comment: "called off"}, time.Hour)
	res, err := f.run(t, workflows.RunInput{Runbook: "holding"})
	require.Error(t, err)
	require.NoError(t, abort.err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Contains(t, res.Error, "aborted by carol (without rollback): called off")
	require.Equal(t, workflows.StatusPending, stepStatus(res, "next"))
	require.Empty(t, f.rec.got())
}
