package activities

import (
	"testing"
	"time"

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

func TestPrescaleWindowsLeaveTheirMinutesOut(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	to := t0.Add(10 * time.Minute)
	ws := []prescaleWindow{{From: t0, To: &to}}
	require.False(t, inWindows(ws, t0.Add(-2*time.Minute), time.Minute), "a minute before")
	require.True(t, inWindows(ws, t0.Add(-30*time.Second), time.Minute), "a minute that overlaps the start")
	require.True(t, inWindows(ws, t0.Add(5*time.Minute), time.Minute))
	require.False(t, inWindows(ws, to, time.Minute), "the minute starting at the end")
	require.True(t, inWindows([]prescaleWindow{{From: time.Now().Add(-time.Hour)}}, time.Now().Add(-time.Minute), time.Minute), "a window still in effect")

	old := t0.Add(-8 * 24 * time.Hour)
	kept := recentWindows([]prescaleWindow{{From: old.Add(-time.Hour), To: &old}, {From: t0, To: &to}, {From: to}}, t0.Add(time.Hour))
	require.Len(t, kept, 2, "a window that ended more than a week ago is forgotten")
}
