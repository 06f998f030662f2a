package activities

import (
	"context"
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
	a := l.arcLever(t)
	cluster := a.cluster

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
