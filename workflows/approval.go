package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// execApproval waits for a quorum of approvers. The decision arrives as the approve update (Slack,
// CLI) or the approve signal (the Temporal UI); both go through validateDecision.
func (r *run) execApproval(ctx workflow.Context, st *StepState, s *runbook.Step) stepOutcome {
	spec := s.Approval
	msgV, err := runbook.Render(spec.Message, r.scope)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("approval message: %v", err), ErrInvalidInput, nil)}
	}
	approvers := spec.Approvers
	if len(approvers) == 0 && r.loaded != nil {
		approvers = r.loaded.Environment.Approvers
	}
	// The loader filled in quorum and on_timeout (runbook.normalize); the interpreter only reads.
	quorum := spec.Quorum
	selfOK := spec.SelfApprovalAllowed()
	onTimeout := string(spec.OnTimeout)
	a := &approval{spec: spec, state: ApprovalState{
		Step: s.ID, Status: ApprovalWaiting, Message: fmt.Sprint(msgV), Approvers: approvers,
		Quorum: quorum, SelfOK: selfOK, OnTimeout: onTimeout,
		Deadline: workflow.Now(ctx).Add(spec.Timeout.D()),
	}}
	st.Approval = &a.state

	if r.in.Mode == ModePlan {
		return stepOutcome{Summary: fmt.Sprintf("would ask %s to approve: %s", describeApprovers(approvers, quorum), a.state.Message), Status: StatusPlanned}
	}
	if spec.AutoApproveIf != "" {
		auto, err := runbook.EvalBool(spec.AutoApproveIf, r.scope)
		if err != nil {
			return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("auto_approve_if: %v", err), ErrInvalidInput, nil)}
		}
		if auto {
			a.state.Status = ApprovalApproved
			a.state.Votes = []Vote{{By: "policy", Approve: true, Comment: "auto_approve_if: " + spec.AutoApproveIf, Source: "policy", At: workflow.Now(ctx)}}
			return stepOutcome{Result: approvalResult(a), Summary: "approved by policy (" + spec.AutoApproveIf + ")", Status: StatusSucceeded}
		}
	}

	r.approvals[s.ID] = a
	defer delete(r.approvals, s.ID)
	st.Status = StatusWaiting
	r.setCurrent(ctx)
	// What approving lets happen, with the state it changes read now: an approver decides on
	// the system as it is, not as it was when the run started.
	if workflow.GetVersion(ctx, ChangeApprovalPlan, workflow.DefaultVersion, 1) == 1 {
		a.state.Plan = r.approvalPlan(ctx, s)
		at := workflow.Now(ctx)
		a.state.PlanReadAt = &at
		// The wait starts now, after the reads: the deadline shown is the one that applies.
		a.state.Deadline = at.Add(spec.Timeout.D())
	}
	asked := workflow.Now(ctx)
	state := a.state
	r.out.post(Notification{Kind: NotifyApprovalRequest, Step: s.ID, Text: a.state.Message, Approval: &state})

	// Escalate once, when 80% of the time is gone, so someone acts before the default applies.
	escalateAt := spec.Timeout.D() * 4 / 5
	ok, err := workflow.AwaitWithTimeout(ctx, escalateAt, func() bool { return a.decided })
	if err != nil {
		return stepOutcome{Status: StatusCanceled, Err: err}
	}
	if !ok {
		r.out.post(Notification{Kind: NotifyApprovalEscalation, Step: s.ID, Approval: &state, Text: fmt.Sprintf(
			"Still waiting for approval of %q; in %s the run will %s.", s.ID, spec.Timeout.D()-escalateAt, onTimeoutVerb(onTimeout))})
		ok, err = workflow.AwaitWithTimeout(ctx, spec.Timeout.D()-escalateAt, func() bool { return a.decided })
		if err != nil {
			return stepOutcome{Status: StatusCanceled, Err: err}
		}
	}
	st.Status = StatusRunning
	if !ok {
		a.decided = true
		a.state.Status = ApprovalTimedOut
		r.observeApproval(ctx, s.ID, OutcomeExpired, asked)
		final := a.state
		r.out.post(Notification{Kind: NotifyApprovalUpdate, Step: s.ID, Approval: &final,
			Text: fmt.Sprintf("No decision within %s: %s", spec.Timeout, onTimeoutText(onTimeout))})
		if onTimeout == string(runbook.TimeoutProceed) {
			return stepOutcome{Result: approvalResult(a), Summary: "no decision within " + spec.Timeout.String() + "; proceeding as configured", Status: StatusSucceeded}
		}
		return stepOutcome{Result: approvalResult(a), Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("approval %q timed out after %s", s.ID, spec.Timeout), ErrApprovalTimeout, nil)}
	}
	r.observeApproval(ctx, s.ID, a.state.Status, asked)
	final := a.state
	r.out.post(Notification{Kind: NotifyApprovalUpdate, Step: s.ID, Approval: &final, Text: describeOutcome(&a.state)})
	if a.state.Status == ApprovalRejected {
		last := a.state.Votes[len(a.state.Votes)-1]
		return stepOutcome{Result: approvalResult(a), Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("approval %q rejected by %s: %s", s.ID, last.By, last.Comment), ErrApprovalRejected, nil)}
	}
	return stepOutcome{Result: approvalResult(a), Summary: describeOutcome(&a.state), Status: StatusSucceeded}
}

func onTimeoutVerb(onTimeout string) string {
	if onTimeout == string(runbook.TimeoutProceed) {
		return "proceed without approval"
	}
	return "abort"
}

func onTimeoutText(onTimeout string) string {
	if onTimeout == string(runbook.TimeoutProceed) {
		return "proceeding as the runbook says"
	}
	return "aborting as the runbook says"
}

func approvalResult(a *approval) map[string]any {
	var by []any
	for _, v := range a.state.Votes {
		if v.Approve {
			by = append(by, v.By)
		}
	}
	return map[string]any{"status": a.state.Status, "approved_by": by}
}

func describeApprovers(approvers []string, quorum int) string {
	who := "anyone"
	if len(approvers) > 0 {
		who = fmt.Sprint(approvers)
	}
	if quorum > 1 {
		return fmt.Sprintf("%d of %s", quorum, who)
	}
	return who
}

func describeOutcome(s *ApprovalState) string {
	switch s.Status {
	case ApprovalApproved:
		var by []string
		for _, v := range s.Votes {
			if v.Approve {
				by = append(by, v.By)
			}
		}
		return fmt.Sprintf("approved by %v", by)
	case ApprovalRejected:
		v := s.Votes[len(s.Votes)-1]
		return fmt.Sprintf("rejected by %s: %s", v.By, v.Comment)
	}
	return s.Status
}

// validateDecision is the update validator and the signal filter. It must not change state: a
// rejected update leaves no trace in history.
func (r *run) validateDecision(d Decision) error {
	if d.Step == "" {
		return errors.New(`"step" is required`)
	}
	if d.By == "" {
		return errors.New(`"by" is required: who is deciding`)
	}
	a, ok := r.approvals[d.Step]
	if !ok || a.decided {
		status := "not awaiting approval"
		if i, known := r.index[d.Step]; known {
			status = "not awaiting approval (it is " + string(r.progress.Steps[i].Status) + ")"
		} else if r.rb != nil {
			status = "not a step of this run"
		}
		return fmt.Errorf("too late or wrong step: step %q is %s", d.Step, status)
	}
	if !authorized(a.state.Approvers, d) {
		return fmt.Errorf("%s is not an approver of step %q (approvers: %v)", d.By, d.Step, a.state.Approvers)
	}
	if d.Approve && !a.state.SelfOK && d.By == r.in.RequestedBy {
		return fmt.Errorf("%s requested this run and cannot approve it: step %q needs %d other people", d.By, d.Step, a.state.Quorum)
	}
	if !d.Approve && d.Comment == "" {
		return errors.New("a rejection needs a reason in the comment")
	}
	return nil
}

func authorized(approvers []string, d Decision) bool {
	if len(approvers) == 0 {
		return true
	}
	if slices.Contains(approvers, d.By) {
		return true
	}
	for _, g := range d.Groups {
		if slices.Contains(approvers, g) {
			return true
		}
	}
	return false
}

// decide records a validated decision. A repeated approval by the same person is idempotent: it
// neither counts twice nor fails, so a double click is harmless.
func (r *run) decide(ctx workflow.Context, d Decision) ApprovalState {
	a, ok := r.approvals[d.Step]
	if !ok || a.decided {
		if ok {
			return a.state
		}
		return ApprovalState{Step: d.Step, Status: "not_waiting"}
	}
	for _, v := range a.state.Votes {
		if v.By == d.By && v.Approve == d.Approve {
			return a.state
		}
	}
	a.state.Votes = append(a.state.Votes, Vote{By: d.By, Approve: d.Approve, Comment: d.Comment, Source: d.Source, At: workflow.Now(ctx)})
	if !d.Approve {
		a.state.Status = ApprovalRejected
		a.decided = true
		return a.state
	}
	distinct := map[string]bool{}
	for _, v := range a.state.Votes {
		if v.Approve {
			distinct[v.By] = true
		}
	}
	if len(distinct) >= a.state.Quorum {
		a.state.Status = ApprovalApproved
		a.decided = true
	}
	return a.state
}

// expired reports whether err, a run's failure, is an approval nobody decided in time (its
// on_timeout is abort): the run then ends expired, which an operator reads apart from rejected
// (someone said no) and failed (something broke). Histories recorded before the outcome existed
// ended failed, and replay so.
func (r *run) expired(ctx workflow.Context, err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrApprovalTimeout {
		return false
	}
	return workflow.GetVersion(ctx, ChangeApprovalExpired, workflow.DefaultVersion, 1) == 1
}
