package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/workflows"
)

// TestFailoverIntoAServingTargetWarns: a target whose MSK cluster is HEALING and whose
// collection is UPDATING still takes writes (AWS documents both states as serving), so the
// failover goes ahead, and the run's status and report say what was found; a FAILED cluster is
// still refused.
func TestFailoverIntoAServingTargetWarns(t *testing.T) {
	resetLab(t)
	clear := func() {
		require.NoError(t, sharedLab.SetReportedState(west, lab.StateMSKCluster, ""))
		require.NoError(t, sharedLab.SetReportedState(west, lab.StateCollection, ""))
	}
	t.Cleanup(func() { clear(); resetLab(t) })

	require.NoError(t, sharedLab.SetReportedState(west, lab.StateMSKCluster, "FAILED"))
	res, err := runToEnd(t, "failover", "target="+west, "auto_approve=true")
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepOf(res.Progress, "preflight/target_cluster").Status)
	require.Contains(t, stepOf(res.Progress, "healthy_target").Error, "refusing to fail over into us-west-2")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))

	require.NoError(t, sharedLab.SetReportedState(west, lab.StateMSKCluster, "HEALING"))
	require.NoError(t, sharedLab.SetReportedState(west, lab.StateCollection, "UPDATING"))
	res, err = runToEnd(t, "failover", "target="+west, "auto_approve=true", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, map[string]int64{east: 0, west: 100}, labShares(t))
	cluster := stepOf(res.Progress, "preflight/target_cluster")
	require.Equal(t, workflows.StatusSucceeded, cluster.Status)
	require.Len(t, cluster.Warnings, 1)
	require.Contains(t, cluster.Summary, "MSK cluster lab-msk-secondary in us-west-2 is HEALING")
	require.Contains(t, stepOf(res.Progress, "preflight/target_collection").Summary, "is UPDATING")

	status, err := cli(t, "status", workflows.OperationID("lab"))
	require.NoError(t, err)
	require.Contains(t, status, "is HEALING", "`starter status` shows the warning in the step's summary")
	md, err := cli(t, "report", workflows.OperationID("lab"))
	require.NoError(t, err)
	require.Contains(t, md, "## Warnings")
	require.Contains(t, md, "- `preflight/target_cluster`: MSK cluster lab-msk-secondary in us-west-2 is HEALING")
	require.Contains(t, md, "- `preflight/target_collection`: collection lab-opensearch-secondary in us-west-2 is UPDATING")
}
