package report

import (
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Timeline geometry, in SVG user units. The label column is wide enough for indented step ids;
// the right padding leaves room for the labels of markers near the end of the run.
const (
	svgLabelW   = 280.0
	svgChartW   = 720.0
	svgRightPad = 130.0
	svgRowH     = 22.0
	svgBarH     = 14.0
	svgRTOY     = 16.0
	svgLaneY0   = 34.0
	svgLaneH    = 14.0
	svgLanes    = 3
	svgTop      = svgLaneY0 + svgLanes*svgLaneH
	svgIndent   = 14.0
	svgCharW    = 6.4 // rough width of one character at font-size 11, for fitting labels
)

// statusColors are the bar fills; the HTML legend and status pills use the same colours, so a
// reader learns them once.
var statusColors = map[string]string{
	"succeeded":        "#2f9e5b",
	"failed":           "#d0373f",
	"running":          "#2f6fd0",
	"waiting_approval": "#e0a21b",
	"canceled":         "#8a8f98",
	"skipped":          "#c3c7ce",
	"planned":          "#9bb7e0",
	"pending":          "#dfe2e6",
}

func statusColor(s string) string {
	if c, ok := statusColors[s]; ok {
		return c
	}
	return "#8a8f98"
}

// row is one step in display order: children under their parents, whatever order the workflow
// recorded them in.
type row struct {
	Step
	Depth int
	// Label is the path relative to the nearest ancestor that is itself a step, so
	// "compensate/shift_10/restore_weights" keeps its whole path when no "compensate" step exists.
	Label string
}

// rows orders the steps as a tree by path, keeping the recorded order among siblings.
func (r *Report) rows() []row {
	index := make(map[string]int, len(r.Steps))
	for i, s := range r.Steps {
		if _, dup := index[s.Path]; !dup {
			index[s.Path] = i
		}
	}
	parent := make([]int, len(r.Steps))
	children := map[int][]int{}
	for i, s := range r.Steps {
		parent[i] = -1
		parts := strings.Split(s.Path, "/")
		for n := len(parts) - 1; n >= 1; n-- {
			if j, ok := index[strings.Join(parts[:n], "/")]; ok && j != i {
				parent[i] = j
				break
			}
		}
		children[parent[i]] = append(children[parent[i]], i)
	}
	out := make([]row, 0, len(r.Steps))
	seen := make([]bool, len(r.Steps))
	var walk func(p, depth int)
	walk = func(p, depth int) {
		for _, i := range children[p] {
			if seen[i] {
				continue
			}
			seen[i] = true
			label := r.Steps[i].Path
			if p >= 0 {
				label = strings.TrimPrefix(label, r.Steps[p].Path+"/")
			}
			out = append(out, row{Step: r.Steps[i], Depth: depth, Label: label})
			walk(i, depth+1)
		}
	}
	walk(-1, 0)
	return out
}

// marker is a point in time drawn as a vertical line over the bars.
type marker struct {
	Kind  string // trigger, alarm, vote, milestone
	At    time.Time
	Label string
	Title string
	Attrs [][2]string
	Class string
}

func (r *Report) markers() []marker {
	var ms []marker
	if r.Trigger.Kind != "" || r.Trigger.At != nil {
		at := r.StartedAt
		if r.Trigger.At != nil && !r.Trigger.At.IsZero() {
			at = *r.Trigger.At
		}
		title := "trigger: " + orDash(r.Trigger.Kind)
		if r.Trigger.Alarm != "" {
			title += " (" + r.Trigger.Alarm + ")"
		}
		if r.Trigger.Policy != "" {
			title += ", policy " + r.Trigger.Policy
		}
		title += " at " + stamp(at)
		ms = append(ms, marker{Kind: "trigger", At: at, Label: "trigger", Title: title, Class: "trigger"})
	}
	for _, a := range r.Alarms {
		title := fmt.Sprintf("alarm %s: first %s, last %s, %d notification(s)", a.Alarm, stamp(a.First), stamp(a.Last), a.Count)
		if a.Detail != "" {
			title += ": " + a.Detail
		}
		ms = append(ms, marker{Kind: "alarm", At: a.First, Label: "alarm " + shortAlarm(a.Alarm), Title: title, Class: "alarm",
			Attrs: [][2]string{{"data-alarm", a.Alarm}}})
	}
	for _, a := range r.Approvals {
		for _, v := range a.Votes {
			d, sign, class := "rejected", "✗", "vote reject"
			if v.Approve {
				d, sign, class = "approved", "✓", "vote approve"
			}
			title := fmt.Sprintf("%s %s %s via %s at %s", v.By, d, a.Step, orDash(v.Source), stamp(v.At))
			if v.Comment != "" {
				title += ": " + v.Comment
			}
			ms = append(ms, marker{Kind: "vote", At: v.At, Label: sign + " " + v.By, Title: title, Class: class,
				Attrs: [][2]string{{"data-by", v.By}, {"data-step", a.Step}, {"data-decision", d}}})
		}
	}
	for _, s := range r.Steps {
		if s.Milestone == "" || s.EndedAt == nil {
			continue
		}
		title := fmt.Sprintf("%s: step %s %s at %s", s.Milestone, s.Path, s.Status, stamp(*s.EndedAt))
		ms = append(ms, marker{Kind: "milestone", At: *s.EndedAt, Label: s.Milestone, Title: title, Class: "milestone",
			Attrs: [][2]string{{"data-milestone", s.Milestone}, {"data-step", s.Path}}})
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].At.Before(ms[j].At) })
	return ms
}

func shortAlarm(a string) string {
	// An ARN's last segment is the alarm name; the full ARN stays in the tooltip.
	if i := strings.LastIndex(a, ":alarm:"); i >= 0 {
		return a[i+len(":alarm:"):]
	}
	return a
}

// timeScale maps instants to x positions. Offsets are seconds from the run start, so the trigger
// of an alarm-started run sits left of zero.
type timeScale struct {
	start      time.Time // run start: offset 0
	min, max   float64   // domain, seconds from start
	pxPerSec   float64
	tickStepS  float64
	firstTickS float64
}

func (r *Report) scale(rows []row, ms []marker) timeScale {
	sc := timeScale{start: r.StartedAt}
	lo, hi := 0.0, 0.0
	see := func(t *time.Time) {
		if t == nil || t.IsZero() {
			return
		}
		o := t.Sub(r.StartedAt).Seconds()
		lo, hi = math.Min(lo, o), math.Max(hi, o)
	}
	see(r.EndedAt)
	for _, rw := range rows {
		see(rw.StartedAt)
		see(rw.EndedAt)
	}
	for i := range ms {
		see(&ms[i].At)
	}
	if r.RTOSeconds != nil {
		from := r.rtoFrom()
		to := from.Add(time.Duration(*r.RTOSeconds * float64(time.Second)))
		see(&from)
		see(&to)
	}
	if hi-lo <= 0 {
		hi = lo + 1
	}
	sc.min, sc.max = lo, hi
	sc.pxPerSec = svgChartW / (hi - lo)
	sc.tickStepS = niceStep(hi - lo)
	sc.firstTickS = math.Ceil(lo/sc.tickStepS) * sc.tickStepS
	return sc
}

func (sc timeScale) x(t time.Time) float64 {
	return sc.xs(t.Sub(sc.start).Seconds())
}

func (sc timeScale) xs(offset float64) float64 {
	return svgLabelW + (offset-sc.min)*sc.pxPerSec
}

// niceStep picks a tick interval that gives at most ten ticks on a span of seconds.
func niceStep(span float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
		if span/s <= 10 {
			return s
		}
	}
	return math.Ceil(span/10/86400) * 86400
}

func tickLabel(offset, step float64) string {
	sign := ""
	if offset > 0 {
		sign = "+"
	}
	switch {
	case step < 60:
		return sign + strconv.FormatFloat(offset, 'f', -1, 64) + "s"
	case step < 3600:
		return sign + strconv.FormatFloat(offset/60, 'f', -1, 64) + "m"
	default:
		return sign + strconv.FormatFloat(offset/3600, 'f', -1, 64) + "h"
	}
}

func (r *Report) rtoFrom() time.Time {
	if r.RTOFrom == "trigger" && r.Trigger.At != nil && !r.Trigger.At.IsZero() {
		return *r.Trigger.At
	}
	return r.StartedAt
}

// svgWriter writes SVG elements; every attribute value and text goes through xml.EscapeText, so
// step ids, summaries and comments cannot break out of the markup.
type svgWriter struct{ b strings.Builder }

func (w *svgWriter) open(name string, attrs ...string) {
	w.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b.WriteString(" " + attrs[i] + `="`)
		w.esc(attrs[i+1])
		w.b.WriteString(`"`)
	}
	w.b.WriteString(">")
}

func (w *svgWriter) empty(name string, attrs ...string) {
	w.open(name, attrs...)
	w.b.WriteString("</" + name + ">")
}

func (w *svgWriter) close(name string) { w.b.WriteString("</" + name + ">") }

func (w *svgWriter) text(s string) { w.esc(s) }

// elem writes <name attrs>text</name>.
func (w *svgWriter) elem(name, text string, attrs ...string) {
	w.open(name, attrs...)
	w.esc(text)
	w.close(name)
}

func (w *svgWriter) esc(s string) {
	// EscapeText writes to a strings.Builder, which never fails.
	_ = xml.EscapeText(&w.b, []byte(s))
}

func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// SVG draws the run's timeline: a bar per step on a time axis in seconds from the run start,
// nested steps indented under their parents, bars coloured by status, and markers for the
// trigger, the attached alarms, every approval vote and the milestones. It is a standalone SVG
// document (it carries its own styles) and is also what the HTML report embeds.
func (r *Report) SVG() []byte {
	rows := r.rows()
	ms := r.markers()
	sc := r.scale(rows, ms)
	axisY := svgTop + float64(len(rows))*svgRowH + 6
	width := svgLabelW + svgChartW + svgRightPad
	height := axisY + 28

	var w svgWriter
	w.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "timeline", "role", "img",
		"width", num(width), "height", num(height), "viewBox", "0 0 "+num(width)+" "+num(height),
		"font-family", "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif", "font-size", "11")
	w.elem("title", fmt.Sprintf("Timeline of %s on %s (%s)", r.Runbook, r.Environment, r.Outcome))
	w.open("defs")
	w.open("pattern", "id", "hatch", "width", "6", "height", "6", "patternUnits", "userSpaceOnUse", "patternTransform", "rotate(45)")
	w.empty("line", "x1", "0", "y1", "0", "x2", "0", "y2", "6", "stroke", "#ffffff", "stroke-width", "2", "stroke-opacity", "0.55")
	w.close("pattern")
	w.close("defs")

	// Zebra rows and the axis grid go first so bars and markers draw over them.
	for i := range rows {
		if i%2 == 1 {
			w.empty("rect", "class", "stripe", "x", "0", "y", num(svgTop+float64(i)*svgRowH), "width", num(svgLabelW+svgChartW),
				"height", num(svgRowH), "fill", "#f5f6f8")
		}
	}
	w.open("g", "class", "axis")
	w.empty("line", "x1", num(svgLabelW), "y1", num(axisY), "x2", num(svgLabelW+svgChartW), "y2", num(axisY), "stroke", "#555")
	for t := sc.firstTickS; t <= sc.max+1e-9; t += sc.tickStepS {
		x := sc.xs(t)
		w.open("g", "class", "tick", "data-seconds", num(t))
		w.empty("line", "x1", num(x), "y1", num(svgTop-2), "x2", num(x), "y2", num(axisY), "stroke", "#e3e5e8")
		w.empty("line", "x1", num(x), "y1", num(axisY), "x2", num(x), "y2", num(axisY+4), "stroke", "#555")
		w.elem("text", tickLabel(t, sc.tickStepS), "x", num(x), "y", num(axisY+16), "text-anchor", "middle", "fill", "#444")
		w.close("g")
	}
	w.close("g")

	// RTO bracket: from where RTO starts to the end of the traffic_verified step.
	if r.RTOSeconds != nil {
		from := r.rtoFrom()
		x1 := sc.x(from)
		x2 := x1 + *r.RTOSeconds*sc.pxPerSec
		w.open("g", "class", "rto", "data-rto-seconds", num(*r.RTOSeconds))
		w.empty("line", "x1", num(x1), "y1", num(svgRTOY), "x2", num(x2), "y2", num(svgRTOY), "stroke", "#6b3fa0", "stroke-width", "2")
		w.empty("line", "x1", num(x1), "y1", num(svgRTOY-5), "x2", num(x1), "y2", num(svgRTOY+5), "stroke", "#6b3fa0", "stroke-width", "2")
		w.empty("line", "x1", num(x2), "y1", num(svgRTOY-5), "x2", num(x2), "y2", num(svgRTOY+5), "stroke", "#6b3fa0", "stroke-width", "2")
		w.elem("text", "RTO "+seconds(*r.RTOSeconds), "x", num(x1+4), "y", num(svgRTOY-4), "fill", "#6b3fa0", "font-weight", "600")
		w.close("g")
	}

	// Bars.
	for i, rw := range rows {
		y := svgTop + float64(i)*svgRowH
		comp := isCompensation(rw.Path)
		w.open("g", "class", "step", "data-path", rw.Path)
		maxChars := int((svgLabelW - 12 - float64(rw.Depth)*svgIndent) / svgCharW)
		labelAttrs := []string{"class", "label", "x", num(8 + float64(rw.Depth)*svgIndent), "y", num(y + 15), "fill", "#222"}
		if comp {
			labelAttrs = append(labelAttrs, "font-style", "italic")
		}
		w.open("text", labelAttrs...)
		w.elem("title", rw.Path)
		w.text(truncate(rw.Label, maxChars))
		w.close("text")
		if rw.StartedAt == nil {
			w.elem("text", rw.Status, "class", "unstarted", "x", num(svgLabelW+4), "y", num(y+15), "fill", "#8a8f98")
			w.close("g")
			continue
		}
		x := sc.x(*rw.StartedAt)
		end := sc.xs(sc.max)
		if rw.EndedAt != nil {
			end = sc.x(*rw.EndedAt)
		}
		bw := math.Max(end-x, 1.5)
		attrs := []string{"class", "bar status-" + rw.Status, "data-step", rw.Path, "data-status", rw.Status,
			"x", num(x), "y", num(y + (svgRowH-svgBarH)/2), "width", num(bw), "height", num(svgBarH), "rx", "2",
			"fill", statusColor(rw.Status)}
		if comp {
			attrs = append(attrs, "stroke", "#6b3fa0", "stroke-width", "1.5", "stroke-dasharray", "3 2")
		}
		w.open("rect", attrs...)
		w.elem("title", barTitle(rw.Step, r.StartedAt))
		w.close("rect")
		if comp {
			w.empty("rect", "class", "hatch", "x", num(x), "y", num(y+(svgRowH-svgBarH)/2), "width", num(bw), "height", num(svgBarH),
				"fill", "url(#hatch)", "pointer-events", "none")
		}
		dur := seconds(rw.Seconds)
		if rw.EndedAt == nil {
			dur = rw.Status
		}
		if rw.Attempts > 1 {
			dur += fmt.Sprintf(" ×%d", rw.Attempts)
		}
		w.elem("text", dur, "class", "dur", "x", num(x+bw+4), "y", num(y+15), "fill", "#555")
		w.close("g")
	}

	// Markers, with labels spread over lanes so neighbours do not overprint each other.
	laneEnd := make([]float64, svgLanes)
	for i := range laneEnd {
		laneEnd[i] = math.Inf(-1)
	}
	for _, m := range ms {
		x := sc.x(m.At)
		lane := 0
		for l := range laneEnd {
			if laneEnd[l] < x {
				lane = l
				break
			}
			if laneEnd[l] < laneEnd[lane] {
				lane = l
			}
		}
		laneEnd[lane] = x + 14 + float64(len([]rune(m.Label)))*svgCharW
		ly := svgLaneY0 + float64(lane)*svgLaneH
		color := markerColor(m.Kind, m.Class)
		attrs := []string{"class", "marker " + m.Class, "data-marker", m.Kind, "data-seconds", num(m.At.Sub(r.StartedAt).Seconds())}
		for _, a := range m.Attrs {
			attrs = append(attrs, a[0], a[1])
		}
		w.open("g", attrs...)
		w.elem("title", m.Title)
		w.empty("line", "x1", num(x), "y1", num(ly+2), "x2", num(x), "y2", num(axisY), "stroke", color, "stroke-width", "1.2",
			"stroke-dasharray", markerDash(m.Kind))
		w.empty("path", "d", glyph(m.Kind, x, ly-4), "fill", color)
		w.elem("text", m.Label, "x", num(x+7), "y", num(ly), "fill", color)
		w.close("g")
	}
	w.close("svg")
	return []byte(w.b.String())
}

func isCompensation(path string) bool {
	return strings.HasPrefix(path, "compensate/") || strings.Contains(path, "/compensate/")
}

func barTitle(s Step, runStart time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s", s.Path, s.Kind)
	if s.What != "" {
		b.WriteString(" " + s.What)
	}
	fmt.Fprintf(&b, "): %s", s.Status)
	if s.StartedAt != nil {
		fmt.Fprintf(&b, ", from +%s", seconds(s.StartedAt.Sub(runStart).Seconds()))
	}
	if s.EndedAt != nil {
		fmt.Fprintf(&b, " for %s", seconds(s.Seconds))
	}
	if s.Attempts > 1 {
		fmt.Fprintf(&b, ", %d attempts", s.Attempts)
	}
	if s.Summary != "" {
		b.WriteString("\n" + s.Summary)
	}
	if s.Error != "" {
		b.WriteString("\nerror: " + s.Error)
	}
	return b.String()
}

func markerColor(kind, class string) string {
	switch kind {
	case "trigger":
		return "#b3261e"
	case "alarm":
		return "#e8590c"
	case "vote":
		if strings.Contains(class, "reject") {
			return "#d0373f"
		}
		return "#1f7a4a"
	default:
		return "#6b3fa0"
	}
}

func markerDash(kind string) string {
	if kind == "milestone" {
		return "2 3"
	}
	return "5 3"
}

// glyph is the marker's head: a triangle for the trigger, a diamond for alarms, a circle-ish
// square for votes and a flag for milestones, so they differ without colour too.
func glyph(kind string, x, y float64) string {
	switch kind {
	case "trigger":
		return fmt.Sprintf("M%s %sL%s %sL%s %sZ", num(x-5), num(y-4), num(x+5), num(y-4), num(x), num(y+5))
	case "alarm":
		return fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sZ", num(x), num(y-5), num(x+5), num(y), num(x), num(y+5), num(x-5), num(y))
	case "vote":
		return fmt.Sprintf("M%s %sh8v8h-8Z", num(x-4), num(y-4))
	default:
		return fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sZ", num(x), num(y-5), num(x+6), num(y-2), num(x), num(y+1), num(x), num(y+5))
	}
}

func truncate(s string, n int) string {
	if n < 2 {
		n = 2
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
