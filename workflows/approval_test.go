package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
