package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

// drill is a failed failover with parallel preflight branches, an approval, a nested backfill
// runbook, a failed step and the compensation that rolled its predecessor back. The trigger (an
// alarm) fired 20 s before the run started and the run lasted 100 s, so the axis spans 120 s
// over svgChartW units.
func drill() *Report {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	alarm := "lab-us-east-1-pipeline-not-ingesting"
	p := &workflows.Progress{Runbook: "failover", Environment: "lab", Mode: "execute", Outcome: "failed", Error: "stop_pipeline: boom",
		RequestedBy: "alarm-intake", StartedAt: t0, EndedAt: at(100),
		Trigger: workflows.Trigger{Kind: "alarm", Alarm: alarm, Policy: "approve", At: at(-20)},
		Alarms:  []workflows.AttachedAlarm{{Alarm: alarm, First: *at(-20), Last: *at(40), Count: 3}},
		Steps: []workflows.StepState{
			{Path: "preflight", Kind: "parallel", Status: "succeeded", StartedAt: at(0), EndedAt: at(10)},
			{Path: "preflight/target_pipeline", Kind: "check", What: "osi.pipeline_status", Status: "succeeded", StartedAt: at(0.5), EndedAt: at(6)},
			{Path: "preflight/replicator", Kind: "check", What: "msk.replicator_running", Status: "succeeded", StartedAt: at(0.5), EndedAt: at(9), Attempts: 2},
			{Path: "approve", Kind: "approval", Status: "succeeded", StartedAt: at(10), EndedAt: at(30),
				Approval: &workflows.ApprovalState{Status: "approved", Votes: []workflows.Vote{
					{By: "alice", Approve: true, Source: "slack", At: *at(29), Comment: `"go" & <b>now</b>`}}}},
			{Path: "shift_10", Kind: "action", What: "route53.set_weights", Status: "succeeded", StartedAt: at(30), EndedAt: at(40),
				Summary: "weights <script>alert(1)</script>"},
			{Path: "verify_writes", Kind: "check", What: "opensearch.ingesting", Status: "succeeded", StartedAt: at(40), EndedAt: at(55), Milestone: "traffic_verified"},
			{Path: "backfill", Kind: "runbook", What: "backfill-verification", Status: "succeeded", StartedAt: at(55), EndedAt: at(80), Milestone: "backfill_verified",
				Result: map[string]any{"verify": map[string]any{"ok": true, "missing": 0.0, "duplicates": 4.0, "source_docs": 1000.0, "target_docs": 1004.0}}},
			{Path: "backfill/verify", Kind: "check", What: "backfill.verify", Status: "succeeded", StartedAt: at(57), EndedAt: at(79)},
			{Path: "stop_pipeline", Kind: "action", What: "osi.stop_pipeline", Status: "failed", StartedAt: at(80), EndedAt: at(85), Attempts: 3, Error: "boom"},
			{Path: "compensate/shift_10/restore_weights", Kind: "action", What: "route53.set_weights", Status: "succeeded", StartedAt: at(85), EndedAt: at(95)},
			{Path: "notify", Kind: "action", Status: "skipped"},
		}}
	return FromProgress("switchyard/failover-1", p)
}

type svgElem struct {
	name  string
	attrs map[string]string
}

// parseSVG decodes the svg element strictly as XML and returns its elements in document order.
func parseSVG(t *testing.T, svg []byte) []svgElem {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	d.Strict = true
	var out []svgElem
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 && e.Name.Local != "svg" {
				t.Fatalf("root element is %s", e.Name.Local)
			}
			depth++
			m := map[string]string{}
			for _, a := range e.Attr {
				m[a.Name.Local] = a.Value
			}
			out = append(out, svgElem{e.Name.Local, m})
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || len(out) == 0 {
		t.Fatalf("svg unbalanced (depth %d, %d elements)", depth, len(out))
	}
	return out
}

func attrFloat(t *testing.T, e svgElem, k string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[k], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, k, e.attrs[k], err)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

func TestHTMLTimelineBarsMarkersAndEscaping(t *testing.T) {
	r := drill()
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	i, j := strings.Index(html, "<svg"), strings.LastIndex(html, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no svg element in the page")
	}
	elems := parseSVG(t, []byte(html[i:j+len("</svg>")]))

	bars := map[string]svgElem{}
	markers := map[string][]svgElem{}
	labelX := map[string]float64{}
	var inStep string
	for _, e := range elems {
		if e.name == "rect" && e.attrs["data-step"] != "" {
			if _, dup := bars[e.attrs["data-step"]]; dup {
				t.Errorf("two bars for %s", e.attrs["data-step"])
			}
			bars[e.attrs["data-step"]] = e
		}
		if e.name == "g" && e.attrs["data-marker"] != "" {
			markers[e.attrs["data-marker"]] = append(markers[e.attrs["data-marker"]], e)
		}
		if e.name == "g" && e.attrs["class"] == "step" {
			inStep = e.attrs["data-path"]
		}
		if e.name == "text" && e.attrs["class"] == "label" {
			labelX[inStep] = attrFloat(t, e, "x")
		}
	}
	// One bar per started step; the skipped step has a row but no bar.
	if len(bars) != len(r.Steps)-1 {
		t.Errorf("bars = %d, want %d: %v", len(bars), len(r.Steps)-1, bars)
	}
	if _, ok := bars["notify"]; ok {
		t.Error("a step that never started has a bar")
	}
	if b := bars["stop_pipeline"]; b.attrs["data-status"] != "failed" || b.attrs["fill"] != statusColor("failed") || b.attrs["fill"] == bars["shift_10"].attrs["fill"] {
		t.Errorf("failed bar = %v", b.attrs)
	}
	// 120 s over svgChartW: shift_10 runs 30..40 s after the start, i.e. 50..60 s into the axis.
	pxPerSec := svgChartW / 120
	for _, c := range []struct {
		step     string
		from, to float64
	}{{"shift_10", 30, 40}, {"verify_writes", 40, 55}, {"compensate/shift_10/restore_weights", 85, 95}} {
		b := bars[c.step]
		if x, w := attrFloat(t, b, "x"), attrFloat(t, b, "width"); !near(x, svgLabelW+(c.from+20)*pxPerSec) || !near(w, (c.to-c.from)*pxPerSec) {
			t.Errorf("%s: x=%v width=%v, want %v %v", c.step, x, w, svgLabelW+(c.from+20)*pxPerSec, (c.to-c.from)*pxPerSec)
		}
	}
	if x, w := attrFloat(t, bars["shift_10"], "x"), attrFloat(t, bars["shift_10"], "width"); x != 580 || w != 60 {
		t.Errorf("shift_10 x=%v width=%v, want 580 60", x, w)
	}
	if x, w := attrFloat(t, bars["verify_writes"], "x"), attrFloat(t, bars["verify_writes"], "width"); x != 640 || w != 90 {
		t.Errorf("verify_writes x=%v width=%v, want 640 90", x, w)
	}
	// Nested steps are indented under their parents.
	if !(labelX["preflight/replicator"] > labelX["preflight"]) || !(labelX["backfill/verify"] > labelX["backfill"]) || labelX["backfill"] != labelX["approve"] {
		t.Errorf("label x = %v", labelX)
	}

	if m := markers["trigger"]; len(m) != 1 || attrFloat(t, m[0], "data-seconds") != -20 {
		t.Errorf("trigger markers = %v", m)
	}
	if m := markers["vote"]; len(m) != 1 || m[0].attrs["data-by"] != "alice" || m[0].attrs["data-decision"] != "approved" || attrFloat(t, m[0], "data-seconds") != 29 {
		t.Errorf("vote markers = %v", m)
	}
	if m := markers["alarm"]; len(m) != 1 || m[0].attrs["data-alarm"] != r.Trigger.Alarm {
		t.Errorf("alarm markers = %v", m)
	}
	ms := map[string]float64{}
	for _, m := range markers["milestone"] {
		ms[m.attrs["data-milestone"]] = attrFloat(t, m, "data-seconds")
	}
	if len(ms) != 2 || ms["traffic_verified"] != 55 || ms["backfill_verified"] != 80 {
		t.Errorf("milestones = %v", ms)
	}

	// Escaping: the summary and the vote comment show as text, never as markup.
	if strings.Contains(html, "<script") || strings.Contains(html, "<b>now") {
		t.Error("unescaped markup from step data in the page")
	}
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 2 {
		t.Errorf("escaped summary appears %d times, want in the table and the bar's tooltip", n)
	}

	// RTO runs from the trigger (-20 s) to the end of verify_writes (55 s).
	if r.RTOSeconds == nil || *r.RTOSeconds != 75 {
		t.Fatalf("rto = %v", r.RTOSeconds)
	}
	if !regexp.MustCompile(`id="rto"><div class="k">RTO</div><div class="v">1m15s</div>`).MatchString(html) {
		t.Error("page lacks the RTO card with 1m15s")
	}
	if !strings.Contains(html, `<div class="v">0 missing</div><div class="n">4 duplicate`) {
		t.Error("page lacks the RPO evidence")
	}
	if !regexp.MustCompile(`<tr><td>backfill</td><td>yes</td><td class="num">1000</td><td class="num">1004</td><td class="num">0</td><td class="num">4</td>`).MatchString(html) {
		t.Error("page lacks the backfill row")
	}
	for _, want := range []string{`outcome-failed">failed</span>`, "alarm-intake", "alarm " + r.Trigger.Alarm, "<td>alice</td><td>approved</td><td>slack</td>",
		"&#34;go&#34; &amp; &lt;b&gt;now&lt;/b&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: nothing fetched, nothing executed.
	for _, bad := range []string{"<script", "<link", "src=", "@import", "url(http"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestSVGStandaloneParses(t *testing.T) {
	r := drill()
	elems := parseSVG(t, r.SVG())
	if elems[0].attrs["xmlns"] != "http://www.w3.org/2000/svg" {
		t.Errorf("root = %v", elems[0].attrs)
	}
	// Ticks are seconds from the run start; with the trigger 20 s early the first is negative.
	var ticks []float64
	for _, e := range elems {
		if e.attrs["class"] == "tick" {
			ticks = append(ticks, attrFloat(t, e, "data-seconds"))
		}
	}
	if len(ticks) < 3 || ticks[0] > 0 || ticks[len(ticks)-1] < 90 {
		t.Errorf("ticks = %v", ticks)
	}
	hasZero := false
	for _, tk := range ticks {
		hasZero = hasZero || tk == 0
	}
	if !hasZero {
		t.Errorf("no tick at the run start: %v", ticks)
	}
}

func TestRowsPutChildrenUnderParents(t *testing.T) {
	r := &Report{Steps: []Step{{Path: "a/b"}, {Path: "c"}, {Path: "a"}, {Path: "compensate/a/x"}, {Path: "a/b/d"}}}
	var got []string
	for _, rw := range r.rows() {
		got = append(got, strings.Repeat(">", rw.Depth)+rw.Label)
	}
	want := "c a >b >>d compensate/a/x"
	if strings.Join(got, " ") != want {
		t.Errorf("rows = %v, want %s", got, want)
	}
}

func TestBackfillAndAlarmsInJSON(t *testing.T) {
	b, err := json.Marshal(drill())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Backfill []Backfill                `json:"backfill"`
		Alarms   []workflows.AttachedAlarm `json:"alarms"`
		Missing  *int64                    `json:"missing_docs"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Backfill) != 1 || got.Backfill[0].Step != "backfill" || got.Backfill[0].TargetDocs != 1004 || got.Backfill[0].OK == nil || !*got.Backfill[0].OK {
		t.Errorf("backfill = %+v", got.Backfill)
	}
	if len(got.Alarms) != 1 || got.Alarms[0].Count != 3 || got.Missing == nil || *got.Missing != 0 {
		t.Errorf("json = %s", b)
	}
}

func TestHTMLOfRunningAndEmptyRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	running := FromProgress("r", &workflows.Progress{Runbook: "failover", Outcome: "running", StartedAt: t0, Trigger: workflows.Trigger{Kind: "cli"},
		Steps: []workflows.StepState{
			{Path: "a", Kind: "action", Status: "succeeded", StartedAt: at(0), EndedAt: at(10)},
			{Path: "b", Kind: "action", Status: "running", StartedAt: at(4)},
			{Path: "approve", Kind: "approval", Status: "waiting_approval", StartedAt: at(10),
				Approval: &workflows.ApprovalState{Status: "waiting"}}}})
	page, err := running.HTML()
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	elems := parseSVG(t, running.SVG())
	var open svgElem
	var trigger bool
	for _, e := range elems {
		if e.attrs["data-step"] == "b" && e.name == "rect" {
			open = e
		}
		trigger = trigger || (e.attrs["data-marker"] == "trigger" && e.attrs["data-seconds"] == "0")
	}
	// A step still running reaches the latest instant known (10 s), the end of the axis.
	if x, w := attrFloat(t, open, "x"), attrFloat(t, open, "width"); !near(x, svgLabelW+4*svgChartW/10) || !near(x+w, svgLabelW+svgChartW) {
		t.Errorf("open bar x=%v w=%v", x, w)
	}
	if !trigger {
		t.Error("a trigger without a time is not marked at the run start")
	}
	if !strings.Contains(html, "not measured") || !strings.Contains(html, "<td>approve</td>") || !strings.Contains(html, "no vote") {
		t.Errorf("running page:\n%s", html)
	}
	if _, err := FromProgress("e", &workflows.Progress{Runbook: "x", StartedAt: t0}).HTML(); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, FromProgress("e", &workflows.Progress{Runbook: "x", StartedAt: t0}).SVG())
}
