package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/workflows"
)

// TestFailoverWithRoute53WeightsFailsFastWithoutItsControlPlane: the lab environment moves
// traffic with route53_weights; when Route 53's control plane holds every call (as it does while
// us-east-1 is impaired), the failover's pre-flight fails after one short probe, not retried,
// with the reason and the data-plane levers, and nothing moves. Before traffic.state the
// pre-flight's read waited as long as the control plane held it, then retried.
func TestFailoverWithRoute53WeightsFailsFastWithoutItsControlPlane(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	_, err := sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultTimeout, Service: "route53", Delay: lab.Duration(10 * time.Minute)})
	require.NoError(t, err)

	res, err := runToEnd(t, "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	probe := stepOf(res.Progress, "preflight/current_traffic")
	require.Equal(t, workflows.StatusFailed, probe.Status)
	require.Equal(t, 1, probe.Attempts, "not retried")
	for _, want := range []string{"Route 53's control plane did not answer", "us-east-1", "arc_routing_control", "health_check_metric"} {
		require.Contains(t, probe.Error, want)
	}
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift").Status, "nothing moves")
}

// The outage Switchyard is for: us-east-1 fully impaired, Route 53's control plane with it (it
// lives there), and the lab's ARC endpoint in us-east-1 too. With the lever route53_weights the
// failover's pre-flight refuses within one probe, naming the reason and the data-plane levers; with
// arc_routing_control the same ungraceful failover succeeds through the other Regions' ARC
// endpoints, DNS answers follow the routing controls, and nothing hosted in us-east-1 is called —
// the global Route 53 control plane included.
func TestUngracefulFailoverOutOfUSEast1ThroughTheDataPlane(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx := context.Background()
	arcEnv, err := yaml.Marshal(sharedLab.ARCEnvironment("lab-arc"))
	require.NoError(t, err)
	envPath := filepath.Join(sharedRunbooks, "environments", "lab-arc.yaml")
	require.NoError(t, os.WriteFile(envPath, arcEnv, 0o644))
	t.Cleanup(func() { _ = os.Remove(envPath) })

	sharedLab.SetGlobalControlPlaneInHomeRegion(true)
	_, err = sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)

	// route53_weights (environment lab): refused at pre-flight, readably, and nothing moves.
	res, err := runToEnd(t, "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
	require.Error(t, err)
	probe := stepOf(res.Progress, "preflight/current_traffic")
	require.Equal(t, workflows.StatusFailed, probe.Status)
	require.Equal(t, 1, probe.Attempts, "not retried")
	require.Contains(t, probe.Error, "arc_routing_control")
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift").Status, "nothing moves")

	// arc_routing_control (environment lab-arc): the failover goes through.
	calls := observeRegionCalls(t)
	arcEastBefore := sharedLab.ARC().Requests(east)
	updatesBefore := len(sharedLab.ARC().Updates())
	out, err := cli(t, "run", "failover", "--env", "lab-arc", "--as", "tester", "--json", "--param", "target="+west,
		"--param", "ungraceful=true", "--param", "auto_approve=true", "--param", "verify_window=30s")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	res, err = followToEnd(t, started.WorkflowID)
	calls.stop()
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, "shift").Status)
	require.Len(t, sharedLab.ARC().Updates(), updatesBefore+1, "one routing-control update")
	for range 20 {
		a, err := sharedLab.Router().Resolve(ctx)
		require.NoError(t, err)
		require.Equal(t, west, a.Region, "DNS answers us-west-2: its record is the only healthy one")
	}
	eastCalls, otherCalls := calls.counts()
	require.Zero(t, eastCalls, "no call into us-east-1, Route 53's control plane included")
	require.Positive(t, otherCalls)
	require.Equal(t, arcEastBefore, sharedLab.ARC().Requests(east), "no call to the ARC endpoint in us-east-1")
}
