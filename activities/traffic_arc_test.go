package activities

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
)

// With ARC endpoints down: two of five down, traffic.state and traffic.shift go through the
// others; all five refusing connections, a non-retryable error naming every endpoint tried (not
// a retry loop); one of them answering with a throttle, retryable (ARC answered, busy).
func TestARCEndpointsDown(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	cluster, err := arctwin.New(arctwin.Options{Account: "111122223333", Logger: c.opts.Logger})
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	panel := cluster.AddControlPanel("switchyard")
	east, err := cluster.AddRoutingControl(panel, "east", true)
	require.NoError(t, err)
	west, err := cluster.AddRoutingControl(panel, "west", false)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("  lever: arc_routing_control\n  arc:\n    cluster_arn: " + cluster.ClusterARN() + "\n    endpoints:\n")
	for r, u := range cluster.Endpoints() {
		b.WriteString("      " + r + ": " + u + "\n")
	}
	b.WriteString("    routing_controls:\n      us-east-1: " + east + "\n      us-west-2: " + west + "\n")
	l.leverEnv(t, "arc", b.String())

	require.NoError(t, cluster.SetImpairment("eu-west-1", arctwin.Refuse))
	require.NoError(t, cluster.SetImpairment("ap-northeast-1", arctwin.Unavailable))
	res, err := c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labWest})
	require.NoError(t, err)
	require.True(t, res.Changed)
	u := cluster.Updates()
	require.Len(t, u, 1)
	require.NotContains(t, []string{"eu-west-1", "ap-northeast-1"}, u[0].Region, "an impaired endpoint took the update")

	for _, r := range arctwin.DefaultRegions {
		require.NoError(t, cluster.SetImpairment(r, arctwin.Refuse))
	}
	_, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "arc", Region: labWest})
	requireNonRetryable(t, err, ErrARCUnreachable, append(arctwin.DefaultRegions, "no endpoint of the cluster answered")...)
	for _, u := range cluster.Endpoints() {
		require.Contains(t, err.Error(), u, "the error names each endpoint tried")
	}
	_, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labEast})
	requireNonRetryable(t, err, ErrARCUnreachable, "read routing controls")

	require.NoError(t, cluster.SetImpairment("us-west-2", arctwin.Throttle))
	_, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "arc", Region: labWest})
	requireRetryable(t, err)
}
