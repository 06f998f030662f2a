package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

func TestReportCarriesStepsApprovalsRTOAndRPO(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	p := &workflows.Progress{Runbook: "failback", Environment: "lab", Mode: "execute", Outcome: "succeeded", StartedAt: t0, EndedAt: at(90),
		Steps: []workflows.StepState{
			{Path: "approve", Kind: "approval", Status: "succeeded", StartedAt: at(1), EndedAt: at(30),
				Approval: &workflows.ApprovalState{Status: "approved", Votes: []workflows.Vote{{By: "alice", Approve: true, Source: "slack", At: t0.Add(29 * time.Second), Comment: "go | now"}}}},
			{Path: "backfill", Kind: "runbook", What: "backfill-verification", Status: "succeeded", StartedAt: at(30), EndedAt: at(40), Milestone: "backfill_verified",
				Result: map[string]any{"verify": map[string]any{"ok": true, "missing": 0, "duplicates": 4}}},
			{Path: "verify_writes", Kind: "check", What: "opensearch.ingesting", Status: "succeeded", StartedAt: at(41), EndedAt: at(60.5), Attempts: 2, Milestone: "traffic_verified"},
		}}
	r := FromProgress("switchyard/lab", p)
	md := r.Markdown()
	for _, want := range []string{"# failback on lab: succeeded", "**RTO: 1m0.5s**", "0 missing, 4 duplicate documents",
		"| verify_writes | check `opensearch.ingesting` | succeeded | +41s | 19.5 | 2 |", "| approve | approved | alice | approved via slack |", `go \| now`} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["outcome"] != "succeeded" || got["rto_seconds"] != 60.5 || got["missing_docs"] != float64(0) || got["duplicate_docs"] != float64(4) {
		t.Errorf("json = %s", b)
	}
	if steps, _ := got["steps"].([]any); len(steps) != 3 {
		t.Errorf("json steps = %v", got["steps"])
	}
}

func TestReportWithoutMeasurementsSaysNull(t *testing.T) {
	r := FromProgress("x", &workflows.Progress{Runbook: "demo", Outcome: "failed", Error: "boom", StartedAt: time.Unix(0, 0)})
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"rto_seconds":null`) || !strings.Contains(string(b), `"missing_docs":null`) || !strings.Contains(string(b), `"steps":[]`) {
		t.Errorf("json = %s", b)
	}
	if md := r.Markdown(); strings.Contains(md, "RTO") || !strings.Contains(md, "- Error: boom") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestReportSaysWhatReprotectionLacks(t *testing.T) {
	r := FromProgress("x", &workflows.Progress{Runbook: "failback", Outcome: workflows.OutcomeSucceededUnprotected,
		Unprotected: "reprotect: replicator into us-west-2 lags", StartedAt: time.Unix(0, 0)})
	if md := r.Markdown(); !strings.Contains(md, "succeeded_unprotected") || !strings.Contains(md, "**Not re-protected:** reprotect: replicator into us-west-2 lags") {
		t.Errorf("markdown:\n%s", md)
	}
	html, err := r.HTML()
	if err != nil || !strings.Contains(string(html), "Not re-protected: reprotect: replicator into us-west-2 lags") {
		t.Errorf("html (%v):\n%s", err, html)
	}
}

// TestReportListsControls: every operator control applied to a run is in the report (JSON,
// Markdown, HTML), with who, when, what it did and why.
func TestReportListsControls(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	p := &workflows.Progress{Runbook: "failover", Environment: "lab", Outcome: workflows.OutcomeSucceeded, StartedAt: at,
		Controls: []workflows.AppliedControl{{
			Control: workflows.Control{Action: workflows.ControlSkip, Step: "verify_writes", By: "bob", Comment: "verified | by hand", Source: "slack"},
			Path:    "verify_writes", At: at.Add(time.Minute), Result: "step verify_writes skipped (result null)",
		}}}
	r := FromProgress("switchyard/lab", p)
	if len(r.Controls) != 1 {
		t.Fatalf("controls %+v", r.Controls)
	}
	md := r.Markdown()
	for _, want := range []string{"## Controls", "| 2026-12-07T03:01:00Z | skip via slack | verify_writes | bob | step verify_writes skipped (result null) | verified \\| by hand |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	html, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Controls</h2>", "<td>step verify_writes skipped (result null)</td>", "<td>2026-12-07T03:01:00Z</td>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("html lacks %q", want)
		}
	}
}
