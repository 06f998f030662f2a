package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// TestFailoverApprovalShowsTrafficNowAndAfter: on the lab, a failover's approval reads the
// traffic its shift step moves just before asking (with the target Region's credentials, as
// the step) and shows it beside the state the shift leaves, in the progress and starter status.
func TestFailoverApprovalShowsTrafficNowAndAfter(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	id := startRunbookIn(t, "lab", "failover", "target="+west, "verify_window=10s")
	t.Cleanup(func() { _ = shared.client.TerminateWorkflow(context.Background(), id, "", "test over") })
	var approve workflows.StepState
	waitLong(t, "the approval to ask with its plan", func() bool {
		approve = stepOf(progressOf(t, id), "approve")
		return approve.Status == workflows.StatusWaiting && approve.Approval != nil && approve.Approval.PlanReadAt != nil
	})
	var shift *workflows.PlanStep
	for i, p := range approve.Approval.Plan {
		if p.Step == "shift" {
			shift = &approve.Approval.Plan[i]
		}
	}
	require.NotNil(t, shift, "plan %+v", approve.Approval.Plan)
	require.Contains(t, shift.Summary, "would run traffic.shift with")
	// The lab's lever is ARC routing controls, both on at rest (the record's weights send writes
	// to us-east-1); the shift takes us-east-1 out.
	require.Equal(t, east+" in, "+west+" in (lever arc_routing_control)", shift.Current, "traffic now: %+v", shift)
	require.Equal(t, west+" in, "+east+" out", shift.Desired)
	out, err := cli(t, "status", id)
	require.NoError(t, err)
	require.Contains(t, out, "approving lets happen")
	require.Contains(t, out, "now: "+shift.Current+" -> after: "+shift.Desired)

	_, err = cli(t, "reject", id, "--step", "approve", "--as", "bob", "--comment", "only looking")
	require.NoError(t, err)
	res, _ := followToEnd(t, id)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome, "a rejection fails the run (expired is for nobody deciding)")
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t), "nothing moved")
}
