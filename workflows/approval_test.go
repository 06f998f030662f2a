package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/workflows"
)

// An approval nobody decides in time ends the run expired: apart from rejected (someone said no,
// the run failed) in the outcome, the runs counter and the approval latency's decision label.
func TestApprovalTimeoutEndsExpiredNotRejected(t *testing.T) {
	rec := newMetricsRecorder()
	f := newFixtureWith(t, map[string]string{"appr": approvalBook("1", "abort")}, func(f *fixture) { f.SetMetricsHandler(rec) })
	res, err := f.run(t, workflows.RunInput{Runbook: "appr"})
	require.ErrorContains(t, err, "timed out after 30m")
	require.Equal(t, workflows.OutcomeExpired, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "gate"))
	require.Equal(t, map[string]int64{
		workflows.MetricRunbookRuns + "{environment=test,mode=execute,outcome=expired,runbook=appr}": 1,
	}, onlySwitchyard(rec.counts))
	require.Equal(t, []time.Duration{30 * time.Minute},
		rec.timings[workflows.MetricApprovalLatency+"{decision=expired,runbook=appr,step=gate}"])
	require.Empty(t, f.rec.got())

	rec = newMetricsRecorder()
	f = newFixtureWith(t, map[string]string{"appr": approvalBook("1", "abort")}, func(f *fixture) { f.SetMetricsHandler(rec) })
	f.update("r1", workflows.Decision{Step: "gate", Approve: false, By: "bob", Comment: "not now"}, time.Minute)
	res, err = f.run(t, workflows.RunInput{Runbook: "appr"})
	require.ErrorContains(t, err, "rejected by bob")
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Equal(t, map[string]int64{
		workflows.MetricRunbookRuns + "{environment=test,mode=execute,outcome=failed,runbook=appr}": 1,
	}, onlySwitchyard(rec.counts))
	require.Len(t, rec.timings[workflows.MetricApprovalLatency+"{decision=rejected,runbook=appr,step=gate}"], 1)
}

const shiftPlanRunbook = `schema: switchyard/v1
name: shiftplan
params:
  - {name: target, type: region, default: us-west-2}
steps:
  - id: approve
    approval: {message: "shift?", timeout: 30m}
  - id: start
    action: osi.start_pipeline
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
  - id: shift
    action: traffic.shift
    with: {environment: "${{ run.environment }}", region: "${{ params.target }}"}
  - id: unused
    if: "params.target == 'us-east-1'"
    action: test.record
    with: {name: never}
  - id: later
    action: test.record
    with: {name: "${{ steps.shift.result.lever }}"}
  - id: second
    approval: {message: "again?", timeout: 30m, on_timeout: proceed}
  - id: after
    action: test.record
    with: {name: after}
`

// The approval request carries the plan of the steps it lets run, up to the next approval, with
// the traffic and pipeline state read just before asking (with the steps' own Region) beside
// the state each step leaves.
func TestApprovalShowsCurrentAndDesiredState(t *testing.T) {
	f := newFixture(t, map[string]string{"shiftplan": shiftPlanRunbook})
	// The reads run as parallel activities (goroutines of the test environment): mu guards reads.
	var mu sync.Mutex
	var reads []map[string]any
	f.env.OnActivity("traffic.state", mock.Anything, mock.Anything).Return(
		activities.Func(func(_ context.Context, args map[string]any) (map[string]any, error) {
			mu.Lock()
			reads = append(reads, args)
			mu.Unlock()
			return map[string]any{"lever": "route53_weights", "states": map[string]any{"us-east-1": "in", "us-west-2": "out"},
				"weights": map[string]any{"us-east-1": 100, "us-west-2": 0}}, nil
		}))
	f.env.OnActivity("osi.pipeline_status", mock.Anything, mock.Anything).Return(
		activities.Func(func(_ context.Context, args map[string]any) (map[string]any, error) {
			mu.Lock()
			reads = append(reads, args)
			mu.Unlock()
			return map[string]any{"ok": false, "pipeline": "p2", "status": "STOPPED"}, nil
		}))
	res, err := f.run(t, workflows.RunInput{Runbook: "shiftplan"})
	require.ErrorContains(t, err, "timed out after 30m")
	require.Equal(t, workflows.OutcomeExpired, res.Outcome)

	var req *workflows.Notification
	for i := range f.notes.notes {
		if n := &f.notes.notes[i]; n.Kind == workflows.NotifyApprovalRequest {
			req = n
		}
	}
	require.NotNil(t, req)
	require.NotNil(t, req.Approval.PlanReadAt)
	type line struct{ step, summary, current, desired string }
	var got []line
	for _, p := range req.Approval.Plan {
		got = append(got, line{p.Step, p.Summary, p.Current, p.Desired})
	}
	require.Equal(t, []line{
		{"start", "would run osi.start_pipeline with environment=test region=us-west-2", "pipeline p2 STOPPED", "pipeline in us-west-2 ACTIVE"},
		{"shift", "would run traffic.shift with environment=test region=us-west-2",
			"us-east-1 in, us-west-2 out; weights us-east-1=100 us-west-2=0 (lever route53_weights)", "us-west-2 in, us-east-1 out"},
		{"unused", "skipped: condition false (params.target == 'us-east-1')", "", ""},
		{"later", "would run test.record (arguments known when it runs)", "", ""},
	}, got, "the plan stops at the next approval")
	require.Len(t, reads, 2)
	for _, args := range reads {
		require.Equal(t, "us-west-2", args["region"], "each state is read in the Region the step names")
	}
	// The progress (starter status, the UI) shows the same plan.
	for _, s := range res.Steps {
		if s.Path == "approve" {
			require.Equal(t, req.Approval.Plan, s.Approval.Plan)
		}
	}
}
