package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
