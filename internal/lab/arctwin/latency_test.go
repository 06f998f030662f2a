package arctwin_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rc "github.com/aws/aws-sdk-go-v2/service/route53recoverycluster"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycluster/types"
	"github.com/stretchr/testify/require"
)

// An update held by the update latency is not applied while it waits, reads answer meanwhile
// with the old state, and a caller that gives up changes nothing; with no latency it applies.
func TestUpdateLatencyHoldsUpdatesNotReads(t *testing.T) {
	f := newFixture(t)
	f.c.SetUpdateLatency(time.Hour)
	require.Equal(t, time.Hour, f.c.UpdateLatency())
	update := func(ctx context.Context) error {
		_, err := f.good("us-west-2").UpdateRoutingControlState(ctx, &rc.UpdateRoutingControlStateInput{
			RoutingControlArn: aws.String(f.west), RoutingControlState: types.RoutingControlStateOn})
		return err
	}
	held := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { held <- update(ctx) }()
	// Cancelled before the cluster holds it, the request could still arrive after the latency
	// is set back to 0 below and be applied (the race detector's slowdown made that happen).
	require.Eventually(t, func() bool { return f.c.HeldUpdates() == 1 }, 30*time.Second, time.Millisecond, "the update is held")

	// While the update waits, a read answers with the state before it.
	got, err := f.good("eu-west-1").GetRoutingControlState(context.Background(), &rc.GetRoutingControlStateInput{RoutingControlArn: aws.String(f.west)})
	require.NoError(t, err)
	require.Equal(t, types.RoutingControlStateOff, got.RoutingControlState)

	cancel()
	require.Error(t, <-held)
	require.Empty(t, f.c.Updates(), "the abandoned update changed nothing")
	on, _ := f.c.RoutingControlState(f.west)
	require.False(t, on)

	f.c.SetUpdateLatency(0)
	require.NoError(t, update(context.Background()))
	on, _ = f.c.RoutingControlState(f.west)
	require.True(t, on)
	require.Len(t, f.c.Updates(), 1)
}
