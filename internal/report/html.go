package report

import (
	"bytes"
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/switchyard-dr/switchyard/workflows"
)

// The page is one file with its styles inline and no scripts, so it can be attached to a
// ticket, mailed, or opened from an air-gapped bastion and look the same everywhere.
var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"stamp": stamp}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Runbook}} on {{.R.Environment}}: {{.R.Outcome}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d2126;margin:0;background:#fafbfc}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:32px 0 10px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-size:14px;vertical-align:middle;background:#8a8f98}
.outcome-succeeded{background:#2f9e5b}.outcome-failed{background:#d0373f}.outcome-running{background:#2f6fd0}
.outcome-canceled,.outcome-rolled_back{background:#8a8f98}.outcome-expired{background:#b8641c}.outcome-succeeded_unprotected{background:#c98a12}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:12px 0}dl.meta dt{color:#5c636e}dl.meta dd{margin:0}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin:20px 0}
.card{background:#fff;border:1px solid #dfe2e6;border-radius:8px;padding:14px 18px;min-width:240px}
.card .k{color:#5c636e;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:30px;font-weight:650;margin:4px 0}.card .n{color:#5c636e;font-size:13px}
.card.rto .v{color:#6b3fa0}.card.good .v{color:#2f9e5b}.card.bad .v{color:#d0373f}.card.none .v{color:#8a8f98;font-size:20px}
.error{background:#fdecee;border:1px solid #f1b8be;color:#8c1d26;padding:10px 14px;border-radius:6px;white-space:pre-wrap}
.scroll{overflow-x:auto;background:#fff;border:1px solid #dfe2e6;border-radius:8px;padding:8px}
.legend{font-size:13px;color:#5c636e;margin:6px 0}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border:1px solid #dfe2e6;padding:5px 8px;text-align:left;vertical-align:top}th{background:#f1f3f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.compensation td.path{font-style:italic}
.pill{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:12px;background:#8a8f98}
.st-succeeded{background:#2f9e5b}.st-failed{background:#d0373f}.st-running{background:#2f6fd0}.st-waiting_approval{background:#e0a21b}
.st-skipped,.st-pending{background:#c3c7ce;color:#333}.st-planned{background:#9bb7e0}
.st-approved{background:#2f9e5b}.st-rejected{background:#d0373f}.st-timed_out{background:#b8641c}.st-waiting{background:#e0a21b}
code{font-size:13px}.err{color:#8c1d26}.ms{color:#6b3fa0;font-style:italic}.warn{color:#8a5a00}
</style>
</head>
<body>
<main>
<h1>{{.R.Runbook}} on {{.R.Environment}} <span class="badge outcome-{{.OutcomeClass}}">{{.R.Outcome}}</span></h1>
<dl class="meta">
<dt>Run</dt><dd><code>{{.R.WorkflowID}}</code></dd>
<dt>Requested by</dt><dd>{{.RequestedBy}}</dd>
<dt>Trigger</dt><dd>{{.Trigger}}</dd>
<dt>Mode</dt><dd>{{.Mode}}</dd>
<dt>Started</dt><dd>{{.Started}}</dd>
<dt>Ended</dt><dd>{{.Ended}}</dd>
<dt>Duration</dt><dd>{{.Duration}}</dd>
{{- if .R.SHA256}}
<dt>Runbook sha256</dt><dd><code>{{.R.SHA256}}</code></dd>
{{- end}}
</dl>
{{- if .R.Error}}
<div class="error">{{.R.Error}}</div>
{{- end}}
{{- if .R.Unprotected}}
<div class="error">Not re-protected: {{.R.Unprotected}}</div>
{{- end}}
<div class="cards">
{{- if .RTO}}
<div class="card rto" id="rto"><div class="k">RTO</div><div class="v">{{.RTO}}</div><div class="n">from {{.RTOFrom}} to traffic verified in the target Region</div></div>
{{- else}}
<div class="card none" id="rto"><div class="k">RTO</div><div class="v">not measured</div><div class="n">no step marked traffic_verified succeeded</div></div>
{{- end}}
{{- if .RPO}}
<div class="card {{if .RPOClean}}good{{else}}bad{{end}}" id="rpo"><div class="k">RPO evidence</div><div class="v">{{.Missing}} missing</div><div class="n">{{.Duplicates}} duplicate documents after backfill verification</div></div>
{{- else}}
<div class="card none" id="rpo"><div class="k">RPO evidence</div><div class="v">not measured</div><div class="n">no step marked backfill_verified reported figures</div></div>
{{- end}}
</div>

<h2>Timeline</h2>
<div class="legend">
{{- range .Legend}}<span><i style="background:{{.Color}}"></i>{{.Name}}</span>{{end}}
<span>▼ trigger</span><span>◆ alarm</span><span>■ approval vote</span><span>⚑ milestone</span><span>hatched: compensation</span>
</div>
<div class="scroll">{{.SVG}}</div>

<h2>Steps</h2>
<table class="steps">
<thead><tr><th>step</th><th>kind</th><th>status</th><th>start</th><th>seconds</th><th>attempts</th><th>summary</th></tr></thead>
<tbody>
{{- range .Steps}}
<tr{{if .Compensation}} class="compensation"{{end}}><td class="path" style="padding-left:{{.Indent}}px" title="{{.Path}}">{{.Label}}</td><td>{{.Kind}}{{if .What}} <code>{{.What}}</code>{{end}}</td><td><span class="pill st-{{.Status}}">{{.Status}}</span></td><td class="num">{{.Start}}</td><td class="num">{{.Seconds}}</td><td class="num">{{.Attempts}}</td><td>{{if .Milestone}}<span class="ms">{{.Milestone}}</span> {{end}}{{if .Warned}}<span class="warn" title="passed with a warning">⚠</span> {{end}}{{.Summary}}{{if .Error}} <span class="err">{{.Error}}</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Warnings}}

<h2>Warnings</h2>
<table class="warnings">
<thead><tr><th>step</th><th>warning</th></tr></thead>
<tbody>
{{- range .Warnings}}
<tr><td class="path">{{.Step}}</td><td class="warn">{{.Warning}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .Votes}}

<h2>Approvals</h2>
<table class="approvals">
<thead><tr><th>step</th><th>status</th><th>who</th><th>decision</th><th>via</th><th>when</th><th>comment</th></tr></thead>
<tbody>
{{- range .Votes}}
<tr><td>{{.Step}}</td><td><span class="pill st-{{.Status}}">{{.Status}}</span></td><td>{{.By}}</td><td>{{.Decision}}</td><td>{{.Source}}</td><td>{{.When}}</td><td>{{.Comment}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .R.Controls}}

<h2>Controls</h2>
<table class="controls">
<thead><tr><th>when</th><th>control</th><th>step</th><th>who</th><th>via</th><th>what it did</th><th>comment</th></tr></thead>
<tbody>
{{- range .R.Controls}}
<tr><td>{{stamp .At}}</td><td>{{.Action}}</td><td class="path">{{.Path}}</td><td>{{.By}}</td><td>{{.Source}}</td><td>{{.Result}}</td><td>{{.Comment}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .R.Alarms}}

<h2>Alarms</h2>
<table class="alarms">
<thead><tr><th>alarm</th><th>first</th><th>last</th><th>count</th><th>detail</th></tr></thead>
<tbody>
{{- range .Alarms}}
<tr><td>{{.Alarm}}</td><td>{{.First}}</td><td>{{.Last}}</td><td class="num">{{.Count}}</td><td>{{.Detail}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- if .R.Backfill}}

<h2>Backfill verification</h2>
<table class="backfill">
<thead><tr><th>step</th><th>ok</th><th>source docs</th><th>target docs</th><th>missing</th><th>duplicates</th><th>extra</th><th>DLQ objects</th><th>reason</th></tr></thead>
<tbody>
{{- range .Backfill}}
<tr><td>{{.Step}}</td><td>{{if eq .OK "no"}}<span class="err">no</span>{{else}}{{.OK}}{{end}}</td><td class="num">{{.SourceDocs}}</td><td class="num">{{.TargetDocs}}</td><td class="num">{{.Missing}}</td><td class="num">{{.Duplicates}}</td><td class="num">{{.Extra}}</td><td class="num">{{.DLQObjects}}</td><td>{{.Reason}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
</main>
</body>
</html>
`))

type htmlPage struct {
	R                          *Report
	OutcomeClass               string
	RequestedBy, Trigger, Mode string
	Started, Ended, Duration   string
	RTO, RTOFrom               string
	RPO, RPOClean              bool
	Missing, Duplicates        int64
	Legend                     []legendItem
	SVG                        template.HTML
	Steps                      []htmlStep
	Warnings                   []stepWarning
	Votes                      []htmlVote
	Alarms                     []htmlAlarm
	Backfill                   []htmlBackfill
}

type htmlBackfill struct {
	Backfill
	OK string
}

type legendItem struct {
	Name  string
	Color template.CSS
}

type htmlStep struct {
	Path, Label, Kind, What, Status string
	Start, Seconds, Attempts        string
	Milestone, Summary, Error       string
	Indent                          int
	Compensation                    bool
	// Warned marks a step that passed with warnings.
	Warned bool
}

type htmlVote struct {
	Step, Status, By, Decision, Source, When, Comment string
}

type htmlAlarm struct {
	Alarm, First, Last, Detail string
	Count                      int
}

// HTML renders the report as one self-contained page: header, RTO and RPO evidence, the SVG
// timeline, and the steps, approvals, alarms and backfill tables. Every value is escaped by
// html/template; the SVG is escaped as it is built.
func (r *Report) HTML() ([]byte, error) {
	p := htmlPage{R: r, OutcomeClass: cssIdent(r.Outcome), RequestedBy: orDash(r.RequestedBy), Mode: orDash(r.Mode),
		Started: stamp(r.StartedAt), Ended: "-", Duration: "-", SVG: template.HTML(r.SVG())}
	p.Trigger = orDash(r.Trigger.Kind)
	if r.Trigger.Alarm != "" {
		p.Trigger += " " + r.Trigger.Alarm
	}
	if r.Trigger.Policy != "" {
		p.Trigger += ", policy " + r.Trigger.Policy
	}
	if r.Trigger.At != nil && !r.Trigger.At.IsZero() {
		p.Trigger += " at " + stamp(*r.Trigger.At) + " (" + offset(r.Trigger.At.Sub(r.StartedAt).Seconds()) + " from run start)"
	}
	if r.Trigger.Detail != "" {
		p.Trigger += ": " + r.Trigger.Detail
	}
	if r.EndedAt != nil {
		p.Ended, p.Duration = stamp(*r.EndedAt), seconds(r.Seconds)
	}
	if r.RTOSeconds != nil {
		p.RTO, p.RTOFrom = seconds(*r.RTOSeconds), "the run start"
		if r.RTOFrom == "trigger" {
			p.RTOFrom = "the trigger"
		}
	}
	if r.MissingDocs != nil {
		p.RPO, p.Missing = true, *r.MissingDocs
		if r.DuplicateDocs != nil {
			p.Duplicates = *r.DuplicateDocs
		}
		p.RPOClean = p.Missing == 0
	}
	for _, s := range []string{"succeeded", "failed", "running", "waiting_approval", "canceled", "skipped"} {
		p.Legend = append(p.Legend, legendItem{Name: s, Color: template.CSS(statusColor(s))})
	}
	for _, rw := range r.rows() {
		hs := htmlStep{Path: rw.Path, Label: rw.Label, Kind: rw.Kind, What: rw.What, Status: rw.Status, Milestone: rw.Milestone,
			Summary: rw.Summary, Error: rw.Error, Indent: 8 + rw.Depth*18, Compensation: isCompensation(rw.Path), Warned: len(rw.Warnings) > 0}
		if rw.StartedAt != nil {
			hs.Start = offset(rw.StartedAt.Sub(r.StartedAt).Seconds())
		}
		if rw.EndedAt != nil {
			hs.Seconds = fmt.Sprintf("%.1f", rw.Seconds)
		}
		if rw.Attempts > 0 {
			hs.Attempts = fmt.Sprint(rw.Attempts)
		}
		p.Steps = append(p.Steps, hs)
	}
	p.Warnings = r.warnings()
	for _, a := range r.Approvals {
		votes := append([]workflows.Vote(nil), a.Votes...)
		sort.SliceStable(votes, func(i, j int) bool { return votes[i].At.Before(votes[j].At) })
		if len(votes) == 0 {
			p.Votes = append(p.Votes, htmlVote{Step: a.Step, Status: a.Status, By: "-", Decision: "no vote"})
		}
		for _, v := range votes {
			d := "rejected"
			if v.Approve {
				d = "approved"
			}
			p.Votes = append(p.Votes, htmlVote{Step: a.Step, Status: a.Status, By: v.By, Decision: d, Source: orDash(v.Source),
				When: stamp(v.At) + " (" + offset(v.At.Sub(r.StartedAt).Seconds()) + ")", Comment: v.Comment})
		}
	}
	for _, a := range r.Alarms {
		p.Alarms = append(p.Alarms, htmlAlarm{Alarm: a.Alarm, First: stamp(a.First), Last: stamp(a.Last), Count: a.Count, Detail: a.Detail})
	}
	for _, f := range r.Backfill {
		hb := htmlBackfill{Backfill: f, OK: "-"}
		if f.OK != nil {
			hb.OK = map[bool]string{true: "yes", false: "no"}[*f.OK]
		}
		p.Backfill = append(p.Backfill, hb)
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render html report: %w", err)
	}
	return b.Bytes(), nil
}

func offset(s float64) string {
	if s < 0 {
		return "-" + seconds(-s)
	}
	return "+" + seconds(s)
}

// cssIdent keeps a value usable in a class name; html/template escapes it anyway, this keeps
// the class meaningful.
func cssIdent(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			return c
		}
		return '_'
	}, strings.ToLower(s))
}
