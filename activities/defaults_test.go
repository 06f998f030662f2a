package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// route53.set_weights refuses a weight set that leaves every record of the group at 0 — Route 53
// would route to all of them with equal probability — before changing anything, whether the
// zeros are all given or complete the records' current weights.
func TestSetWeightsRefusesAnAllZeroGroup(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	l.takeCalls()

	_, err := c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 0, labWest: 0}})
	require.ErrorContains(t, err, "weights {us-east-1=0, us-west-2=0}: every weight of the record group would be 0")
	require.False(t, IsRetryable(err), "no retry can fix the weights: %v", err)
	require.Empty(t, l.takeCalls(), "refused before any call")

	// us-west-2 is at 0 already: zeroing us-east-1 alone zeroes the group.
	_, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 0}})
	require.ErrorContains(t, err, "weights {us-east-1=0} would leave the group at {us-east-1=0, us-west-2=0}")
	require.False(t, IsRetryable(err))
	require.Empty(t, l.twin.Route53ChangeLog(labHostedZoneID), "no change batch was sent")

	res, err := c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labEast: 0, labWest: 100}})
	require.NoError(t, err)
	require.True(t, res.Changed)
	res, err = c.SetRoute53Weights(ctx, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest, Weights: map[string]int64{labWest: 0, labEast: 100}})
	require.NoError(t, err, "one Region at 0 is a shift, not an all-zero group")
	require.True(t, res.Changed)
}

// In plan mode (the interpreter passes catalog.PlanArg) a soak reads the alarms once and says
// what it would watch, and a sleep does not sleep; the registry strips the flag, so no entry has
// to declare it. The deadline only guards against the old behaviour of sleeping through the soak.
func TestPlanModeReadsOnceInsteadOfWatching(t *testing.T) {
	l := newCloudLab(t)
	r := NewRegistry()
	RegisterCloud(r, l.cloud)
	RegisterCore(r, &Core{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	soak, ok := r.Func("cloudwatch.soak")
	require.True(t, ok)
	res, err := soak(ctx, map[string]any{"environment": labEnv, "region": labEast, "duration": "5m", catalog.PlanArg: true})
	require.NoError(t, err)
	require.Equal(t, true, res["ok"])
	require.Equal(t, float64(1), res["reads"])
	require.Equal(t, "would watch alarms lab-us-east-1-collection-unreachable, lab-us-east-1-pipeline-not-ingesting in us-east-1 for 5m; now: all OK", res["reason"])

	_, err = l.twin.SetAlarmState(labEast, "lab-us-east-1-pipeline-not-ingesting", "ALARM", "no documents")
	require.NoError(t, err)
	res, err = soak(ctx, map[string]any{"environment": labEnv, "region": labEast, "duration": "5m", catalog.PlanArg: true})
	require.NoError(t, err)
	require.Equal(t, false, res["ok"], "a soak that would fail at once says so in the plan")
	require.Contains(t, res["reason"], "now: in us-east-1: lab-us-east-1-pipeline-not-ingesting is ALARM")

	sleep, ok := r.Func("core.sleep")
	require.True(t, ok)
	res, err = sleep(ctx, map[string]any{"duration": "1h", catalog.PlanArg: true})
	require.NoError(t, err)
	require.Equal(t, "would pause 1h", res["summary"])

	// An entry that does nothing special in plan mode still decodes its arguments.
	alarms, _ := r.Func("cloudwatch.alarm_state")
	_, err = alarms(ctx, map[string]any{"environment": labEnv, "region": labWest, catalog.PlanArg: true})
	require.NoError(t, err)
}
