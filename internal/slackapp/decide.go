package slackapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/workflows"
)

// decision is one person's answer to an approval step, from a button, the modal or a command.
type decision struct {
	ref      buttonRef
	user     string
	approve  bool
	comment  string
	updateID string
}

// decisionOutcome says what became of a decision, for the person who made it.
type decisionOutcome struct {
	// refused is set when nothing changed (too late, not an approver, self-approval, ...).
	refused bool
	// deferred is set when the decision went out as a signal because no worker answered.
	deferred bool
	text     string
	state    *workflows.ApprovalState
	progress *workflows.Progress
}

// decide checks what it can (the step is waiting, the clicker is an approver directly or through
// a user group) and sends the approve update. The workflow's validator decides in the end; these
// checks only give a faster, clearer answer and resolve the groups the workflow cannot see.
func (h *Handler) decide(ctx context.Context, d decision) decisionOutcome {
	verb := map[bool]string{true: "approve", false: "reject"}[d.approve]
	p, err := h.progress(ctx, d.ref.WorkflowID, d.ref.RunID)
	if err != nil {
		if noWorker(err) {
			return h.decideBySignal(ctx, d)
		}
		return decisionOutcome{refused: true, text: fmt.Sprintf("Could not read run %s: %v", d.ref.WorkflowID, err)}
	}
	st := approvalStep(p, d.ref.Step)
	if st == nil {
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late or wrong step: run %s has no approval step %q waiting.", d.ref.WorkflowID, d.ref.Step)}
	}
	if st.Status != workflows.StatusWaiting || st.Approval.Status != workflows.ApprovalWaiting {
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late: step %q is no longer waiting (it is %s; approval %s). Nothing was changed.",
			d.ref.Step, st.Status, st.Approval.Status)}
	}
	groups, err := h.groups.groupsOf(ctx, d.user, st.Approval.Approvers)
	if err != nil {
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("Could not check your user groups, so nothing was sent: %v. Try again, or use `starter %s`.", err, verb)}
	}
	if !authorized(st.Approval.Approvers, d.user, groups) {
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("You are not an approver of step %q (approvers: %s). Nothing was changed.",
			d.ref.Step, mentions(st.Approval.Approvers))}
	}
	dec := workflows.Decision{Step: d.ref.Step, Approve: d.approve, By: d.user, Groups: groups, Comment: d.comment, Source: "slack"}
	var state workflows.ApprovalState
	err = h.update(ctx, d.ref, d.updateID, workflows.ApproveUpdate, dec, &state)
	switch {
	case err == nil:
	case noWorker(err):
		return h.decideBySignal(ctx, d)
	case isNotFound(err):
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late: run %s has ended. Nothing was changed.", d.ref.WorkflowID)}
	default:
		// The validator's refusal (too late, self-approval, missing reason): say it as it is.
		return decisionOutcome{refused: true, progress: p, text: fmt.Sprintf("Refused: %s. Nothing was changed.", refusal(err))}
	}
	out := decisionOutcome{state: &state, progress: p}
	switch state.Status {
	case workflows.ApprovalWaiting:
		out.text = fmt.Sprintf("Recorded your %s of step %q: %d of %d approvals so far.", verb, d.ref.Step, approvals(state), max(state.Quorum, 1))
	default:
		out.text = fmt.Sprintf("Step %q is %s.", d.ref.Step, state.Status)
	}
	return out
}

// update sends one update to the run of ref and waits for its result (into out, when not nil).
// The id makes a redelivered click or submission (Slack retries unanswered requests) a no-op on
// the server.
func (h *Handler) update(ctx context.Context, ref buttonRef, updateID, name string, arg, out any) error {
	uctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	handle, err := h.tc.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: ref.WorkflowID, RunID: ref.RunID, UpdateID: updateID,
		UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return handle.Get(uctx, out)
}

// decideBySignal sends the decision as the approve signal, which the server stores even when no
// worker is running; the workflow validates it when a worker picks the run up again. Without the
// run's approver list, the clicker's every group is sent; the workflow only counts the ones that
// are approvers.
func (h *Handler) decideBySignal(ctx context.Context, d decision) decisionOutcome {
	groups, err := h.groups.allGroupsOf(ctx, d.user)
	if err != nil {
		h.logger.Warn("could not resolve user groups for the signal fallback; sending none", "user", d.user, "err", err)
	}
	dec := workflows.Decision{Step: d.ref.Step, Approve: d.approve, By: d.user, Groups: groups, Comment: d.comment, Source: "slack"}
	sctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	if err := h.tc.SignalWorkflow(sctx, d.ref.WorkflowID, d.ref.RunID, workflows.ApproveSignal, dec); err != nil {
		if isNotFound(err) {
			return decisionOutcome{refused: true, text: fmt.Sprintf("Too late: run %s has ended. Nothing was changed.", d.ref.WorkflowID)}
		}
		return decisionOutcome{refused: true, text: fmt.Sprintf("Temporal is unreachable, so your decision was not recorded: %v. Try again, or use the CLI.", err)}
	}
	return decisionOutcome{deferred: true, text: fmt.Sprintf(
		"Recorded; will apply when the worker is back. (No worker answered, so your decision on step %q was stored as a signal; the run checks then that you may decide and that the step still waits. `/switchyard status %s` shows it.)",
		d.ref.Step, d.ref.WorkflowID)}
}

// progress queries a run's progress; a closed run answers from its history (replayed by a worker).
func (h *Handler) progress(ctx context.Context, workflowID, runID string) (*workflows.Progress, error) {
	qctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	v, err := h.tc.QueryWorkflow(qctx, workflowID, runID, workflows.ProgressQuery)
	if err != nil {
		return nil, fmt.Errorf("query progress of %s: %w", workflowID, err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		return nil, fmt.Errorf("decode progress of %s: %w", workflowID, err)
	}
	return &p, nil
}

// approvalStep finds the approval step id in p; ids are unique in a runbook, wherever nested.
func approvalStep(p *workflows.Progress, step string) *workflows.StepState {
	for i := range p.Steps {
		if p.Steps[i].ID == step && p.Steps[i].Approval != nil {
			return &p.Steps[i]
		}
	}
	return nil
}

// authorized mirrors the workflow's rule, so that Slack can refuse early with a clear message.
func authorized(approvers []string, user string, groups []string) bool {
	if len(approvers) == 0 || slices.Contains(approvers, user) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(approvers, g) {
			return true
		}
	}
	return false
}

func approvals(st workflows.ApprovalState) int {
	seen := map[string]bool{}
	for _, v := range st.Votes {
		if v.Approve {
			seen[v.By] = true
		}
	}
	return len(seen)
}

// noWorker reports an error that means "nobody answered in time": Temporal is up but no worker
// took the query or update, which is the case the durable signal exists for.
func noWorker(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[*client.WorkflowUpdateServiceTimeoutOrCanceledError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*serviceerror.DeadlineExceeded](err); ok {
		return true
	}
	// A worker that is shutting down may still take the query from its task queue and answer
	// it with a failure ("context canceled") instead of a result: nobody could answer either.
	if _, ok := errors.AsType[*serviceerror.QueryFailed](err); ok {
		return true
	}
	// Or the server hands the query to the stopping worker's poll, which is gone, and answers
	// Canceled itself (CI saw this too, 130 ms after the stop). The signal is safe either way:
	// the workflow validates it.
	if _, ok := errors.AsType[*serviceerror.Canceled](err); ok {
		return true
	}
	return false
}

func isNotFound(err error) bool {
	_, ok := errors.AsType[*serviceerror.NotFound](err)
	return ok
}

// refusal trims the SDK's wrapping from a validator's message.
func refusal(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "(type: "); i > 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return strings.TrimSuffix(msg, ".")
}
