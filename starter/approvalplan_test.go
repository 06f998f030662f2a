package main

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/workflows"
)

// starter status shows under a waiting approval what approving lets happen, with the state each
// step sets now and after.
func TestStatusPrintsTheApprovalPlan(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	p := &workflows.Progress{Runbook: "failover", Environment: "lab", Mode: workflows.ModeExecute, Outcome: workflows.OutcomeRunning,
		Steps: []workflows.StepState{{Path: "approve", ID: "approve", Kind: "approval", Status: workflows.StatusWaiting,
			Approval: &workflows.ApprovalState{Step: "approve", Status: workflows.ApprovalWaiting, Message: "go?", Quorum: 1, Deadline: at, PlanReadAt: &at,
				Plan: []workflows.PlanStep{
					{Step: "shift", Summary: "would run traffic.shift with region=us-west-2", Current: "us-east-1 in, us-west-2 out", Desired: "us-west-2 in, us-east-1 out"},
					{Step: "dns", Summary: "would wait up to 5m until traffic.dns"},
				}}}}}
	var b strings.Builder
	printProgress(&b, "switchyard/lab", p)
	out := b.String()
	for _, want := range []string{"approving lets happen (state read ", "shift: would run traffic.shift with region=us-west-2",
		"now: us-east-1 in, us-west-2 out -> after: us-west-2 in, us-east-1 out", "dns: would wait up to 5m until traffic.dns"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
