package activities

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// TestSetWeightsHeartbeatsTheChangeTyped: route53.set_weights heartbeats the change it submitted
// as a typed value (change id and status), both right after Route 53 accepts it and while it waits
// for INSYNC; the value a real attempt heartbeated, handed to a retry as its heartbeat details, is
// what makes the retry wait for that change. Before, the heartbeat was a sentence that the retry
// parsed back ("change <id> is <status>").
func TestSetWeightsHeartbeatsTheChangeTyped(t *testing.T) {
	l := newCloudLab(t)
	c := l.cloud

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(c.SetRoute53Weights)
	var mu sync.Mutex
	var beats []route53ChangeHeartbeat
	var undecodable []error
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var hb route53ChangeHeartbeat
		err := details.Get(&hb)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			undecodable = append(undecodable, err)
			return
		}
		beats = append(beats, hb)
	})
	// The twin keeps the change PENDING for a while, so the wait heartbeats too (the SDK throttles
	// heartbeats, so how many reach the listener varies; every one must be typed).
	l.twin.SetRoute53ProcessingTime(100 * time.Millisecond)
	v, err := env.ExecuteActivity(c.SetRoute53Weights, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest,
		Weights: map[string]int64{labEast: 0, labWest: 100}, Wait: true, Interval: runbook.Duration(20 * time.Millisecond)})
	require.NoError(t, err)
	var res SetRoute53WeightsResult
	require.NoError(t, v.Get(&res))
	require.True(t, res.Changed)

	mu.Lock()
	require.Empty(t, undecodable, "every heartbeat is a route53ChangeHeartbeat")
	require.NotEmpty(t, beats, "the accepted change is heartbeated")
	for _, hb := range beats {
		require.Equal(t, res.ChangeID, hb.ChangeID)
	}
	require.Equal(t, "PENDING", beats[0].Status, "the first heartbeat is the accepted change")
	first := beats[0]
	mu.Unlock()

	// A retry of an attempt that set the same weights and died: it reads the change back from the
	// heartbeat and waits for it, submitting nothing.
	retry := s.NewTestActivityEnvironment()
	retry.RegisterActivity(c.SetRoute53Weights)
	retry.SetHeartbeatDetails(first)
	l.takeCalls()
	v, err = retry.ExecuteActivity(c.SetRoute53Weights, SetRoute53WeightsArgs{Environment: labEnv, Region: labWest,
		Weights: map[string]int64{labEast: 0, labWest: 100}, Wait: true, Interval: runbook.Duration(20 * time.Millisecond)})
	require.NoError(t, err)
	var again SetRoute53WeightsResult
	require.NoError(t, v.Get(&again))
	require.False(t, again.Changed)
	require.Equal(t, res.ChangeID, again.ChangeID, "the retry waited for the change its predecessor heartbeated")
	require.NotContains(t, l.takeCalls(), "ChangeResourceRecordSets")
}
