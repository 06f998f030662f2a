package activities

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func f64(v float64) *float64 { return &v }

func TestSurvivorNeedIsTheFactorOfTheSumOfPeaksRoundedUp(t *testing.T) {
	peaks := []RegionPeak{
		{Region: "us-east-1", PipelineUnits: f64(3), IndexingOCU: f64(6), SearchOCU: f64(1)},
		{Region: "us-west-2", PipelineUnits: f64(2), IndexingOCU: f64(4.5), SearchOCU: nil},
	}
	need := SurvivorNeed(peaks, 1.2, Capacity{MinUnits: 1})
	// 1.2 × 5 = 6 exactly (not 7 from 6.000000000000001); 1.2 × 10.5 = 12.6 → 13; search 1.2 × 1
	// = 1.2 → 2, also OpenSearch Serverless's minimum limit.
	require.Equal(t, Capacity{MinUnits: 6, MaxUnits: 6, MaxIndexingOCU: 13, MaxSearchOCU: 2}, need)

	// A pipeline without datapoints counts as the floor (it runs at least its MinUnits).
	need = SurvivorNeed([]RegionPeak{{PipelineUnits: f64(4)}, {}}, 1.5, Capacity{MinUnits: 2})
	require.Equal(t, 9, need.MinUnits)
}

func TestPrescaleNeverLowersAndKeepsMaxAboveMin(t *testing.T) {
	now := Capacity{MinUnits: 1, MaxUnits: 4, MaxIndexingOCU: 10, MaxSearchOCU: 10}
	require.Equal(t, Capacity{MinUnits: 6, MaxUnits: 6, MaxIndexingOCU: 13, MaxSearchOCU: 10},
		prescaleTo(now, Capacity{MinUnits: 6, MaxUnits: 6, MaxIndexingOCU: 13, MaxSearchOCU: 2}))
	require.Equal(t, Capacity{MinUnits: 3, MaxUnits: 4, MaxIndexingOCU: 10, MaxSearchOCU: 10},
		prescaleTo(now, Capacity{MinUnits: 3, MaxUnits: 3, MaxIndexingOCU: 2, MaxSearchOCU: 2}), "MaxUnits 4 stays: room to autoscale")
	require.Equal(t, now, prescaleTo(now, Capacity{MinUnits: 1, MaxUnits: 1, MaxIndexingOCU: 2, MaxSearchOCU: 2}), "enough already: nothing changes")
}

func TestArnAccount(t *testing.T) {
	require.Equal(t, "000000000000", arnAccount("arn:aws:kafka:us-east-1:000000000000:cluster/a/1"))
	require.Equal(t, "", arnAccount("not-an-arn"))
}
