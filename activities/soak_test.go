package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

func TestSoakHoldsWhileQuietAndEndsAtTheFirstAlarm(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	quiet, err := l.cloud.Soak(ctx, SoakArgs{Environment: labEnv, Region: labEast,
		Duration: runbook.Duration(300 * time.Millisecond), Interval: runbook.Duration(50 * time.Millisecond)})
	require.NoError(t, err)
	require.True(t, quiet.OK, quiet.Reason)
	require.GreaterOrEqual(t, quiet.Reads, 2, "a soak reads the alarms more than once")

	// An alarm that fires during a long soak ends it at once, not at the end.
	done := make(chan SoakResult, 1)
	go func() {
		res, err := l.cloud.Soak(ctx, SoakArgs{Environment: labEnv, Region: labEast,
			Duration: runbook.Duration(time.Hour), Interval: runbook.Duration(20 * time.Millisecond)})
		require.NoError(t, err)
		done <- res
	}()
	_, err = l.twin.SetAlarmState(labEast, "lab-us-east-1-pipeline-not-ingesting", "ALARM", "no documents")
	require.NoError(t, err)
	select {
	case res := <-done:
		require.False(t, res.OK)
		require.Equal(t, []string{"lab-us-east-1-pipeline-not-ingesting"}, res.Firing)
		require.Contains(t, res.Reason, "alarm fired")
	case <-time.After(time.Minute):
		t.Fatal("the soak did not end when the alarm fired")
	}

	_, err = l.cloud.Soak(ctx, SoakArgs{Environment: labEnv, Region: labEast, Duration: runbook.Duration(time.Second), Alarms: []string{"no-such-alarm"}})
	require.Error(t, err)
	require.False(t, IsRetryable(err), "a misspelt alarm must fail the soak at once")
}
