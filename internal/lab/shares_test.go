package lab

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Shares follow what DNS answers, whatever moved it: weights, routing controls through
// RECOVERY_CONTROL health checks, and Route 53's fail-open when every record is unhealthy.
func TestSharesFollowWeightsAndHealthChecks(t *testing.T) {
	l := startTestLab(t, func(o *Options) { o.InitialWeights = map[string]int64{east: 100, west: 0} })
	ctx := context.Background()
	controls := l.RoutingControls()
	set := func(east, west bool) {
		t.Helper()
		require.NoError(t, l.ARC().SetRoutingControlState(controls["us-east-1"], east))
		require.NoError(t, l.ARC().SetRoutingControlState(controls["us-west-2"], west))
	}
	shares := func() map[string]int64 {
		t.Helper()
		s, err := l.Router().Shares(ctx)
		require.NoError(t, err)
		return s
	}
	for _, c := range []struct {
		name       string
		weights    map[string]int64
		east, west bool
		want       map[string]int64
	}{
		{"every control On: the weights decide", map[string]int64{east: 100, west: 0}, true, true, map[string]int64{east: 100, west: 0}},
		{"the only weighted record unhealthy: the zero-weighted one answers", map[string]int64{east: 100, west: 0}, false, true, map[string]int64{east: 0, west: 100}},
		{"both unhealthy: fail open, by weight", map[string]int64{east: 100, west: 0}, false, false, map[string]int64{east: 100, west: 0}},
		{"split weights", map[string]int64{east: 10, west: 90}, true, true, map[string]int64{east: 10, west: 90}},
		{"all weights 0: equal probability", map[string]int64{east: 0, west: 0}, true, true, map[string]int64{east: 50, west: 50}},
		{"split weights, one unhealthy", map[string]int64{east: 50, west: 50}, true, false, map[string]int64{east: 100, west: 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			setWeights(t, l, c.weights)
			set(c.east, c.west)
			require.Equal(t, c.want, shares())
		})
	}
}

// setWeights sets the weighted records' weights in the twin, without a change batch.
func setWeights(t *testing.T, l *Lab, weights map[string]int64) {
	t.Helper()
	sets, err := l.Twin().RecordSets(HostedZoneID)
	require.NoError(t, err)
	for _, rs := range sets {
		if w, ok := weights[rs.SetIdentifier]; ok && rs.Weight != nil {
			rs.Weight = &w
			require.NoError(t, l.Twin().UpsertRecordSet(HostedZoneID, rs))
		}
	}
}
