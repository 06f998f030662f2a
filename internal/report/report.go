// Package report turns a finished run into the document people read after a DR operation: the
// steps with their times and attempts, who approved what, the measured RTO and the RPO evidence.
// It is computed from the run's own result — what the workflow recorded in its history — so the
// report of a run is the same whenever and wherever it is rendered.
package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Report is a run's report; its JSON form is what `--json` prints.
type Report struct {
	WorkflowID  string `json:"workflow_id"`
	Runbook     string `json:"runbook"`
	Environment string `json:"environment"`
	Mode        string `json:"mode"`
	Outcome     string `json:"outcome"`
	Error       string `json:"error,omitempty"`
	// Unprotected says what re-protection lacks (outcome succeeded_unprotected).
	Unprotected string            `json:"unprotected,omitempty"`
	RequestedBy string            `json:"requested_by,omitempty"`
	Trigger     workflows.Trigger `json:"trigger"`
	StartedAt   time.Time         `json:"started_at"`
	EndedAt     *time.Time        `json:"ended_at,omitempty"`
	Seconds     float64           `json:"seconds"`
	// RTOSeconds and the RPO figures are null when the run did not measure them.
	RTOSeconds    *float64   `json:"rto_seconds"`
	RTOFrom       string     `json:"rto_from,omitempty"`
	MissingDocs   *int64     `json:"missing_docs"`
	DuplicateDocs *int64     `json:"duplicate_docs"`
	Steps         []Step     `json:"steps"`
	Approvals     []Approval `json:"approvals,omitempty"`
	SHA256        string     `json:"runbook_sha256,omitempty"`
	// Alarms are the alarms attached to the run, so the timeline shows what fired and when.
	Alarms []workflows.AttachedAlarm `json:"alarms,omitempty"`
	// Controls are the operators' controls applied to the run (pause, retry, skip, abort,
	// ungraceful ...), in order: every override of the runbook, with who, when and why.
	Controls []workflows.AppliedControl `json:"controls,omitempty"`
	// Backfill lists every step whose result carries backfill verification figures, not only
	// the milestone step the RPO evidence comes from: a drill may verify before and after.
	Backfill []Backfill `json:"backfill,omitempty"`
}

// Backfill is one backfill verification's figures, as the backfill.verify check reports them.
type Backfill struct {
	Step string `json:"step"`
	// OK is nil when the result did not say.
	OK         *bool  `json:"ok,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Missing    int64  `json:"missing"`
	Duplicates int64  `json:"duplicates"`
	Extra      int64  `json:"extra,omitempty"`
	DLQObjects int64  `json:"dlq_objects,omitempty"`
	SourceDocs int64  `json:"source_docs,omitempty"`
	TargetDocs int64  `json:"target_docs,omitempty"`
}

// Step is one step's line in the report.
type Step struct {
	Path      string     `json:"path"`
	Kind      string     `json:"kind"`
	What      string     `json:"what,omitempty"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Seconds   float64    `json:"seconds"`
	Attempts  int        `json:"attempts,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Error     string     `json:"error,omitempty"`
	Milestone string     `json:"milestone,omitempty"`
	// Warnings are what a step that passed said the operator should know (a cluster serving
	// while HEALING); the summary carries them too.
	Warnings []string `json:"warnings,omitempty"`
}

// Approval is one approval step's decision trail.
type Approval struct {
	Step   string           `json:"step"`
	Status string           `json:"status"`
	Votes  []workflows.Vote `json:"votes,omitempty"`
}

// FromProgress builds the report of the run id from its final (or current) progress.
func FromProgress(id string, p *workflows.Progress) *Report {
	m := workflows.Measure(p)
	if p.Measures != nil {
		m = *p.Measures
	}
	r := &Report{WorkflowID: id, Runbook: p.Runbook, Environment: p.Environment, Mode: string(p.Mode), Outcome: p.Outcome,
		Error: p.Error, Unprotected: p.Unprotected, RequestedBy: p.RequestedBy, Trigger: p.Trigger, StartedAt: p.StartedAt, EndedAt: p.EndedAt,
		RTOSeconds: m.RTOSeconds, RTOFrom: m.RTOFrom, MissingDocs: m.MissingDocs, DuplicateDocs: m.DuplicateDocs,
		SHA256: p.SHA256, Steps: []Step{}, Alarms: p.Alarms, Controls: p.Controls}
	if p.EndedAt != nil {
		r.Seconds = p.EndedAt.Sub(p.StartedAt).Seconds()
	}
	for _, st := range p.Steps {
		s := Step{Path: st.Path, Kind: st.Kind, What: st.What, Status: string(st.Status), StartedAt: st.StartedAt, EndedAt: st.EndedAt,
			Attempts: st.Attempts, Summary: st.Summary, Error: st.Error, Milestone: st.Milestone, Warnings: st.Warnings}
		if st.StartedAt != nil && st.EndedAt != nil {
			s.Seconds = st.EndedAt.Sub(*st.StartedAt).Seconds()
		}
		r.Steps = append(r.Steps, s)
		if fig, ok := backfillOf(st.Result); ok {
			fig.Step = st.Path
			r.Backfill = append(r.Backfill, fig)
		}
		if st.Approval != nil {
			r.Approvals = append(r.Approvals, Approval{Step: st.Path, Status: st.Approval.Status, Votes: st.Approval.Votes})
		}
	}
	return r
}

// Markdown renders the report for a ticket, a post-incident review or a Slack snippet.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s on %s: %s\n\n", r.Runbook, r.Environment, r.Outcome)
	fmt.Fprintf(&b, "- Run: `%s`\n", r.WorkflowID)
	trig := r.Trigger.Kind
	if r.Trigger.Alarm != "" {
		trig += " (" + r.Trigger.Alarm + ")"
	}
	fmt.Fprintf(&b, "- Requested by: %s; trigger: %s; mode: %s\n", orDash(r.RequestedBy), orDash(trig), orDash(r.Mode))
	fmt.Fprintf(&b, "- Started: %s; duration: %s\n", r.StartedAt.UTC().Format(time.RFC3339), seconds(r.Seconds))
	if r.RTOSeconds != nil {
		fmt.Fprintf(&b, "- **RTO: %s** (from %s to traffic verified in the target Region)\n", seconds(*r.RTOSeconds), strings.ReplaceAll(r.RTOFrom, "_", " "))
	}
	if r.MissingDocs != nil {
		fmt.Fprintf(&b, "- **RPO evidence:** %d missing, %d duplicate documents after backfill verification\n", *r.MissingDocs, *r.DuplicateDocs)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "- Error: %s\n", r.Error)
	}
	if r.Unprotected != "" {
		fmt.Fprintf(&b, "- **Not re-protected:** %s\n", r.Unprotected)
	}
	if r.SHA256 != "" {
		fmt.Fprintf(&b, "- Runbook sha256: `%s`\n", r.SHA256)
	}
	b.WriteString("\n## Steps\n\n| step | kind | status | start | seconds | attempts | summary |\n|---|---|---|---|---:|---:|---|\n")
	for _, s := range r.Steps {
		start := ""
		if s.StartedAt != nil {
			start = "+" + seconds(s.StartedAt.Sub(r.StartedAt).Seconds())
		}
		summary := s.Summary
		if s.Error != "" {
			summary = "**" + s.Error + "**"
		}
		if len(s.Warnings) > 0 {
			summary = "⚠ " + summary
		}
		if s.Milestone != "" {
			summary = "_" + s.Milestone + "_ " + summary
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.1f | %d | %s |\n", s.Path, kindWhat(s), s.Status, start, s.Seconds, s.Attempts, cell(summary))
	}
	if ws := r.warnings(); len(ws) > 0 {
		b.WriteString("\n## Warnings\n\nSteps that passed while something needed attention:\n\n")
		for _, w := range ws {
			fmt.Fprintf(&b, "- `%s`: %s\n", w.Step, strings.ReplaceAll(w.Warning, "\n", " "))
		}
	}
	if len(r.Approvals) > 0 {
		b.WriteString("\n## Approvals\n\n| step | status | who | decision | when | comment |\n|---|---|---|---|---|---|\n")
		for _, a := range r.Approvals {
			votes := append([]workflows.Vote(nil), a.Votes...)
			sort.SliceStable(votes, func(i, j int) bool { return votes[i].At.Before(votes[j].At) })
			if len(votes) == 0 {
				fmt.Fprintf(&b, "| %s | %s | | | | |\n", a.Step, a.Status)
			}
			for _, v := range votes {
				d := "rejected"
				if v.Approve {
					d = "approved"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s via %s | %s | %s |\n", a.Step, a.Status, v.By, d, orDash(v.Source), v.At.UTC().Format(time.RFC3339), cell(v.Comment))
			}
		}
	}
	if len(r.Controls) > 0 {
		b.WriteString("\n## Controls\n\nOperators' overrides of the runbook, in order:\n\n| when | control | step | who | what it did | comment |\n|---|---|---|---|---|---|\n")
		for _, c := range r.Controls {
			fmt.Fprintf(&b, "| %s | %s via %s | %s | %s | %s | %s |\n", c.At.UTC().Format(time.RFC3339), c.Action, orDash(c.Source), orDash(c.Path), c.By, cell(c.Result), cell(c.Comment))
		}
	}
	return b.String()
}

// stepWarning is one warning of one step.
type stepWarning struct{ Step, Warning string }

// warnings lists every step's warnings in step order.
func (r *Report) warnings() []stepWarning {
	var out []stepWarning
	for _, s := range r.Steps {
		for _, w := range s.Warnings {
			out = append(out, stepWarning{Step: s.Path, Warning: w})
		}
	}
	return out
}

// backfillOf reads the verification figures of a step result where workflows.Measure finds them.
func backfillOf(res map[string]any) (Backfill, bool) {
	found, ok := workflows.FindBackfillFigures(res)
	if !ok {
		return Backfill{}, false
	}
	b := Backfill{}
	b.Missing, _ = workflows.AsInt64(found["missing"])
	b.Duplicates, _ = workflows.AsInt64(found["duplicates"])
	b.Extra, _ = workflows.AsInt64(found["extra"])
	b.DLQObjects, _ = workflows.AsInt64(found["dlq_objects"])
	b.SourceDocs, _ = workflows.AsInt64(found["source_docs"])
	b.TargetDocs, _ = workflows.AsInt64(found["target_docs"])
	if v, ok := found["ok"].(bool); ok {
		b.OK = &v
	}
	b.Reason, _ = found["reason"].(string)
	return b, true
}

func kindWhat(s Step) string {
	if s.What != "" {
		return s.Kind + " `" + s.What + "`"
	}
	return s.Kind
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell keeps a value inside one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
