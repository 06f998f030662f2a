package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestReportShowsStepWarnings: a step that passed with warnings is marked in the steps table,
// and its warnings are listed in their own section of the Markdown and HTML reports and kept in
// the JSON one.
func TestReportShowsStepWarnings(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(s float64) *time.Time { v := t0.Add(time.Duration(s * float64(time.Second))); return &v }
	warning := "MSK cluster lab-msk-primary in us-east-1 is HEALING: it still produces and consumes <but>"
	p := &workflows.Progress{Runbook: "failover", Environment: "lab", Mode: "execute", Outcome: "succeeded", StartedAt: t0, EndedAt: at(9),
		Steps: []workflows.StepState{
			{Path: "preflight/msk", Kind: "check", What: "msk.cluster_active", Status: "succeeded", StartedAt: at(1), EndedAt: at(2),
				Summary: warning, Warnings: []string{warning}},
			{Path: "preflight/lag", Kind: "check", What: "msk.replicator_lag", Status: "succeeded", StartedAt: at(1), EndedAt: at(2), Summary: "lag 0"},
		}}
	r := FromProgress("switchyard/lab", p)
	md := r.Markdown()
	for _, want := range []string{"| preflight/msk | check `msk.cluster_active` | succeeded | +1s | 1.0 | 0 | ⚠ " + warning + " |",
		"| preflight/lag | check `msk.replicator_lag` | succeeded | +1s | 1.0 | 0 | lag 0 |",
		"## Warnings", "- `preflight/msk`: " + warning} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	page, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"<h2>Warnings</h2>", `<td class="warn">MSK cluster lab-msk-primary in us-east-1 is HEALING: it still produces and consumes &lt;but&gt;</td>`,
		`<span class="warn" title="passed with a warning">⚠</span>`} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Count(html, `title="passed with a warning"`) != 1 {
		t.Errorf("only the warned step is marked")
	}
	b, _ := json.Marshal(r)
	var got struct {
		Steps []struct {
			Path     string   `json:"path"`
			Warnings []string `json:"warnings"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Steps) != 2 || len(got.Steps[0].Warnings) != 1 || got.Steps[0].Warnings[0] != warning || got.Steps[1].Warnings != nil {
		t.Errorf("json steps = %s", b)
	}

	// Without warnings there is no section.
	p.Steps = p.Steps[1:]
	if md := FromProgress("x", p).Markdown(); strings.Contains(md, "Warnings") {
		t.Errorf("a run without warnings has no warnings section:\n%s", md)
	}
}
