package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, -3: 1, 0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 240: 500, 999: 1000, 1000: 1000} {
		require.Equal(t, want, NiceCeil(v), "NiceCeil(%g)", v)
	}
}

func TestDownsampleKeepsEachBucketsMaximum(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pts := []Point{{at(-5), 99}, {at(0), 1}, {at(1), 7}, {at(2), 3}, {at(5), 0}, {at(9), 4}, {at(10), 2}, {at(11), 50}}
	got := Downsample(pts, t0, at(10), 2)
	// [0, 5): 1, 7, 3 → 7 at its latest time 2 s; [5, 10]: 0, 4, 2 → 4 at 10 s; outside: dropped.
	require.Equal(t, []Point{{at(2), 7}, {at(10), 4}}, got)
	require.Nil(t, Downsample(pts, at(10), t0, 5), "an empty window")
	require.Len(t, Downsample(pts, t0, at(10), 100), 6, "fewer points than buckets: all of them")
}

func TestPlotScalesLinesIntoThePlotArea(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	to := t0.Add(time.Hour)
	c := Plot([]Line{
		{Label: "into us-east-1", Class: "a", Points: []Point{{t0, 0}, {to, 0}}},
		{Label: "into us-west-2", Class: "b", Points: []Point{{t0, 0}, {t0.Add(30 * time.Minute), 150}, {to, 40}}},
	}, t0, to, 400, 120)
	require.False(t, c.Empty)
	require.Equal(t, 200.0, c.YMax, "150 rounds up to 200")
	// Plot area x 44..392, y 8..100: lag 0 on the axis, 150 three quarters of the way up.
	require.Equal(t, "44.0,100.0 392.0,100.0", c.Lines[0].Points)
	require.Equal(t, "44.0,100.0 218.0,31.0 392.0,81.6", c.Lines[1].Points)
	require.Equal(t, 40.0, c.Lines[1].Last)
	require.Equal(t, []Tick{{Pos: 100, Label: "0"}, {Pos: 54, Label: "100"}, {Pos: 8, Label: "200"}}, c.YTicks)
	require.Equal(t, "start", c.XTicks[0].Anchor, "the first and last time labels stay inside the box")
	require.Equal(t, "end", c.XTicks[4].Anchor)
	require.Equal(t, "03:00", c.XTicks[0].Label)
	require.Equal(t, "04:00", c.XTicks[4].Label)
}

func TestPlotWithoutPointsIsEmptyAndOnePointStillShows(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	c := Plot([]Line{{Label: "x"}}, t0, t0.Add(time.Hour), 400, 120)
	require.True(t, c.Empty)
	require.Equal(t, 1.0, c.YMax)
	c = Plot([]Line{{Label: "x", Points: []Point{{t0.Add(time.Hour), 3}}}}, t0, t0.Add(time.Hour), 400, 120)
	require.False(t, c.Empty)
	require.Equal(t, 2, len(strings.Fields(c.Lines[0].Points)), "one point becomes a short segment")
}

func TestFormatCount(t *testing.T) {
	require.Equal(t, "0", FormatCount(0))
	require.Equal(t, "250", FormatCount(250))
	require.Equal(t, "1.5k", FormatCount(1500))
	require.Equal(t, "2M", FormatCount(2e6))
}
