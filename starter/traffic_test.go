package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// writeEnvironment adds env to the shared test lab's runbooks folder for the test's duration.
func writeEnvironment(t *testing.T, env *runbook.Environment) {
	t.Helper()
	b, err := yaml.Marshal(env)
	require.NoError(t, err)
	path := filepath.Join(sharedRunbooks, "environments", env.Name+".yaml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Cleanup(func() { _ = os.Remove(path) })
}

// TestFailoverWithRoute53WeightsFailsFastWithoutItsControlPlane: an environment that moves
// traffic with route53_weights (lab-weights); when Route 53's control plane holds every call (as it does while
// us-east-1 is impaired), the failover's pre-flight fails after one short probe, not retried,
// with the reason and the data-plane levers, and nothing moves. Before traffic.state the
// pre-flight's read waited as long as the control plane held it, then retried.
func TestFailoverWithRoute53WeightsFailsFastWithoutItsControlPlane(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	writeEnvironment(t, sharedLab.WeightsEnvironment("lab-weights"))
	_, err := sharedLab.Inject(context.Background(), lab.Fault{Kind: lab.FaultTimeout, Service: "route53", Delay: lab.Duration(10 * time.Minute)})
	require.NoError(t, err)

	res, err := runToEndIn(t, "lab-weights", "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
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
	writeEnvironment(t, sharedLab.WeightsEnvironment("lab-weights"))

	// Route 53's control plane lives in us-east-1, as the lab starts (resetLab puts it back).
	_, err := sharedLab.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)

	// route53_weights (environment lab-weights): refused at pre-flight, readably, and nothing moves.
	res, err := runToEndIn(t, "lab-weights", "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
	require.Error(t, err)
	probe := stepOf(res.Progress, "preflight/current_traffic")
	require.Equal(t, workflows.StatusFailed, probe.Status)
	require.Equal(t, 1, probe.Attempts, "not retried")
	require.Contains(t, probe.Error, "arc_routing_control")
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift").Status, "nothing moves")

	// arc_routing_control (environment lab, as shipped): the failover goes through.
	calls := observeRegionCalls(t)
	arcEastBefore := sharedLab.ARC().Requests(east)
	updatesBefore := len(sharedLab.ARC().Updates())
	res, err = runToEnd(t, "failover", "target="+west, "ungraceful=true", "auto_approve=true", "verify_window=30s")
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
