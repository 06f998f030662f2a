package statuspage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The lag chart: pure functions from points to SVG coordinates, so the page's pictures are
// tested without a browser. The SVG itself is written by the page's template.

// Point is one value at one time.
type Point struct {
	At    time.Time
	Value float64
}

// Line is one series to draw: a replicator's lag, say.
type Line struct {
	Label string
	// Class is the CSS class of its stroke (lag-east, lag-west).
	Class  string
	Points []Point
}

// Chart is what the template draws: coordinates in a Width × Height box whose plot area is
// inset by the margins, with the y axis from 0 to YMax.
type Chart struct {
	Width, Height int
	// Plot area.
	Left, Top, Right, Bottom float64
	YMax                     float64
	YTicks, XTicks           []Tick
	Lines                    []PlotLine
	// Empty: no line has a point in the window (the template says so instead of drawing).
	Empty bool
}

// PlotLine is one line in SVG coordinates.
type PlotLine struct {
	Label, Class string
	// Points is the polyline's points attribute: "x1,y1 x2,y2 ...".
	Points string
	// Last is the newest value, shown in the legend; HasLast is false without points.
	Last    float64
	HasLast bool
}

// Tick is one axis label at a coordinate.
type Tick struct {
	Pos   float64
	Label string
	// Anchor is the label's text-anchor on the x axis: the first and last labels sit inside the
	// box (start, end), the others are centred.
	Anchor string
}

// Chart margins: room for the y labels on the left and the time labels below.
const (
	marginLeft   = 44.0
	marginRight  = 8.0
	marginTop    = 8.0
	marginBottom = 20.0
)

// Plot lays lines out over [from, to] in a w × h box. Each line is first reduced to at most one
// point per pixel column (Downsample keeps each bucket's maximum, so a short spike of lag stays
// visible); the y axis runs from 0 to NiceCeil of the largest value, so lag 0 lies on the axis.
func Plot(lines []Line, from, to time.Time, w, h int) Chart {
	c := Chart{Width: w, Height: h, Left: marginLeft, Top: marginTop, Right: float64(w) - marginRight, Bottom: float64(h) - marginBottom}
	cols := max(int(c.Right-c.Left), 1)
	var maxV float64
	reduced := make([][]Point, len(lines))
	for i, l := range lines {
		reduced[i] = Downsample(l.Points, from, to, cols)
		for _, p := range reduced[i] {
			maxV = math.Max(maxV, p.Value)
		}
	}
	c.YMax = NiceCeil(maxV)
	c.Empty = true
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 {
		if span <= 0 {
			return c.Left
		}
		return c.Left + (c.Right-c.Left)*t.Sub(from).Seconds()/span
	}
	y := func(v float64) float64 { return c.Bottom - (c.Bottom-c.Top)*v/c.YMax }
	for i, l := range lines {
		pl := PlotLine{Label: l.Label, Class: l.Class}
		var b strings.Builder
		for j, p := range reduced[i] {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s,%s", coord(x(p.At)), coord(y(p.Value)))
		}
		if n := len(reduced[i]); n > 0 {
			pl.Last, pl.HasLast = reduced[i][n-1].Value, true
			c.Empty = false
			if n == 1 {
				// One point is no line: draw it as a short flat segment so it shows.
				p := reduced[i][0]
				fmt.Fprintf(&b, " %s,%s", coord(math.Min(x(p.At)+2, c.Right)), coord(y(p.Value)))
			}
		}
		pl.Points = b.String()
		c.Lines = append(c.Lines, pl)
	}
	for _, v := range []float64{0, c.YMax / 2, c.YMax} {
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: FormatCount(v)})
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, Tick{Pos: x(t), Label: t.UTC().Format("15:04"), Anchor: anchor})
	}
	return c
}

// Downsample keeps the points within [from, to], in time order, reduced to at most buckets
// points: the window is cut into equal buckets and each bucket with points becomes one point at
// its latest time with its largest value.
func Downsample(points []Point, from, to time.Time, buckets int) []Point {
	if buckets < 1 || !to.After(from) {
		return nil
	}
	span := to.Sub(from)
	out := make([]Point, 0, min(len(points), buckets))
	last := -1
	for _, p := range points {
		if p.At.Before(from) || p.At.After(to) {
			continue
		}
		b := int(float64(p.At.Sub(from)) / float64(span) * float64(buckets))
		b = min(b, buckets-1)
		if b == last && len(out) > 0 {
			q := &out[len(out)-1]
			q.Value = math.Max(q.Value, p.Value)
			if p.At.After(q.At) {
				q.At = p.At
			}
			continue
		}
		out = append(out, p)
		last = b
	}
	return out
}

// NiceCeil is the smallest of 1, 2 or 5 × 10^n at or above v (1 for v ≤ 0): a y axis that ends on
// a round number.
func NiceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if n := m * exp; n >= v*(1-1e-12) {
			return n
		}
	}
	return 10 * exp
}

// FormatCount prints a count for an axis: 0, 250, 1.5k, 2M.
func FormatCount(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
