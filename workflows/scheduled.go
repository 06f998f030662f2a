package workflows

import (
	"cmp"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ScheduledRunResult says which run a schedule started, or why it started none.
type ScheduledRunResult struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
	// Skipped is set when another DR operation held the environment: the drill is skipped, not
	// queued, so a drill never follows a real failover unasked.
	Skipped string `json:"skipped,omitempty"`
}

// ScheduledRunWorkflow starts in.Runbook as a DR operation under the environment's lock id.
//
// A Temporal Schedule appends the fire time to the workflow ids it starts, and the interpreter
// refuses a DR operation that is not under switchyard/<environment> (or it would bypass the one-
// operation-per-environment interlock). So a drill schedule starts this small workflow instead,
// which starts the runbook as a child with the lock id and ParentClosePolicy ABANDON, and ends.
// If an operation is already running the drill is skipped, and the result says so.
func ScheduledRunWorkflow(ctx workflow.Context, in RunInput) (ScheduledRunResult, error) {
	if in.Runbook == "" || in.Environment == "" {
		return ScheduledRunResult{}, temporal.NewNonRetryableApplicationError("a scheduled run needs a runbook and an environment", ErrInvalidInput, nil)
	}
	info := workflow.GetInfo(ctx)
	if in.Trigger.Kind == "" {
		in.Trigger.Kind = "schedule"
	}
	if in.Trigger.Detail == "" {
		in.Trigger.Detail = "scheduled by " + info.WorkflowExecution.ID
	}
	if in.Trigger.At == nil {
		now := workflow.Now(ctx)
		in.Trigger.At = &now
	}
	if in.RequestedBy == "" {
		in.RequestedBy = "schedule"
	}
	id := OperationID(in.Environment)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		TaskQueue:             TaskQueue,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SARunbook.ValueSet(in.Runbook), SAEnvironment.ValueSet(in.Environment),
			SATrigger.ValueSet(in.Trigger.Kind)),
		StaticSummary: fmt.Sprintf("%s on %s (%s) by %s", in.Runbook, in.Environment, cmp.Or(in.Mode, ModeExecute), in.RequestedBy),
	})
	var exec workflow.Execution
	err := workflow.ExecuteChildWorkflow(cctx, RunbookWorkflowType, in).GetChildWorkflowExecution().Get(ctx, &exec)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		msg := fmt.Sprintf("skipped: a DR operation is already running on %s (%s)", in.Environment, id)
		workflow.GetLogger(ctx).Info(msg)
		return ScheduledRunResult{WorkflowID: id, Skipped: msg}, nil
	}
	if err != nil {
		return ScheduledRunResult{}, fmt.Errorf("start %s as %s: %w", in.Runbook, id, err)
	}
	return ScheduledRunResult{WorkflowID: exec.ID, RunID: exec.RunID}, nil
}
