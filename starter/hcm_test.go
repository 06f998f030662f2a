package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/workflows"
)

// TestUngracefulFailoverOutOfUSEast1WithHealthCheckMetric: the lever of a team without an ARC
// cluster. The lab's records carry CLOUDWATCH_METRIC health checks on takes-traffic alarms kept
// in the other Region; with us-east-1 fully impaired, Route 53's control plane included, the
// failover writes us-east-1's metric (0) in us-west-2, CloudWatch there fires the alarm by
// evaluating it, the health check turns unhealthy and DNS answers us-west-2 — with zero calls
// into us-east-1.
func TestUngracefulFailoverOutOfUSEast1WithHealthCheckMetric(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) }) // puts the RECOVERY_CONTROL checks back on the records
	ctx := context.Background()
	require.NoError(t, sharedLab.SetRecordHealthChecks(lab.RecordChecksCloudWatchMetric))
	hcmEnv, err := yaml.Marshal(sharedLab.HealthCheckMetricEnvironment("lab-hcm"))
	require.NoError(t, err)
	envPath := filepath.Join(sharedRunbooks, "environments", "lab-hcm.yaml")
	require.NoError(t, os.WriteFile(envPath, hcmEnv, 0o644))
	t.Cleanup(func() { _ = os.Remove(envPath) })

	sharedLab.SetGlobalControlPlaneInHomeRegion(true)
	_, err = sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)

	calls := observeRegionCalls(t)
	out, err := cli(t, "run", "failover", "--env", "lab-hcm", "--as", "tester", "--json", "--param", "target="+west,
		"--param", "ungraceful=true", "--param", "auto_approve=true", "--param", "verify_window=30s")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	res, err := followToEnd(t, started.WorkflowID)
	calls.stop()
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "shift").Status)

	// us-east-1's takes-traffic alarm, in us-west-2, fired by evaluation of the datapoint.
	alarmState := func() string {
		for _, a := range sharedLab.Twin().Alarms(west) {
			if a.Name == "lab-"+east+"-takes-traffic" {
				return a.State
			}
		}
		return "missing"
	}
	waitLong(t, "us-east-1's takes-traffic alarm in ALARM", func() bool { return alarmState() == "ALARM" })
	for range 20 {
		a, err := sharedLab.Router().Resolve(ctx)
		require.NoError(t, err)
		require.Equal(t, west, a.Region, "DNS answers us-west-2: us-east-1's health check is unhealthy")
	}
	eastCalls, otherCalls := calls.counts()
	require.Zero(t, eastCalls, "no call into us-east-1, Route 53's control plane included")
	require.Positive(t, otherCalls)
}
