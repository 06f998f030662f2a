package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// execWorkflow runs a `workflow:` step: a built-in Go workflow as a child of the run.
//
// Why a step kind rather than verify-backfill.yaml as a wrapper that failback nests: the proof
// that the recovered Region caught up is BackfillVerificationWorkflow's — gates on durable
// timers, passes that resume from heartbeated checkpoints, continue-as-new for long waits, a
// progress query — and a runbook can only reach it through a step that starts it. A wrapper
// runbook between failback and the workflow would add a workflow in the middle whose status says
// nothing of the proof (an operator following failback's step to its child would find a runbook
// waiting on a grandchild). With the step kind, failback's `backfill` step names the
// verification's own workflow id, `starter status` of that id shows the gates and passes, and
// `starter verify`, failback and verify-backfill.yaml (now one such step) run the same code.
//
// Plan mode does not start the workflow (it may poll for hours); it runs the workflow's plan
// check (backfill.verify: the gates and one reconciliation pass, read-only) once, so a plan
// says whether the proof would pass now.
func (r *run) execWorkflow(ctx workflow.Context, st *StepState, s *runbook.Step) stepOutcome {
	cw, ok := runbook.LookupChildWorkflow(s.Workflow)
	if !ok || cw.Name != runbook.WorkflowBackfillVerification {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %q: unknown workflow %q", s.ID, s.Workflow), ErrInvalidRunbook, nil)}
	}
	if r.in.Mode == ModePlan {
		ps := *s
		ps.Workflow, ps.Check, ps.RunLocal = "", cw.PlanCheck, false
		ps.With = cw.PlanArgs(s.With)
		ps.With["environment"] = r.in.Environment
		out := r.execAction(ctx, st, &ps, cw.PlanCheck, true)
		if out.Status == StatusFailed && out.Result != nil {
			// Not converged yet is what the run would wait for, as a wait_until's plan says, not a
			// failure of the plan: the newest documents are rarely all in at the moment of one pass.
			within := "its timeout"
			if t, ok := s.With["timeout"].(string); ok {
				within = t
			}
			out.Status, out.Err = StatusPlanned, nil
			out.Summary = fmt.Sprintf("would wait up to %s for %s; now: not yet: %s", within, s.Workflow, out.Summary)
		}
		return out
	}
	args, err := r.renderArgs(s.With)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("input of workflow %s: %v", s.Workflow, err), ErrInvalidInput, nil)}
	}
	st.Args = args
	in, err := backfillInputOf(r.in.Environment, args)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("input of workflow %s: %v", s.Workflow, err), ErrInvalidInput, nil)}
	}
	childID := ChildID(r.info.WorkflowExecution.ID, s.ID)
	st.ChildID = childID
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: childID,
		TaskQueue:  r.info.TaskQueueName,
		// The verification is part of the parent's operation: it must not outlive it.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_TERMINATE,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         fmt.Sprintf("%s %s -> %s (nested in %s)", s.Workflow, in.Source, in.Target, r.in.Runbook),
	})
	var res BackfillResult
	if err := workflow.ExecuteChildWorkflow(cctx, BackfillVerificationType, in).Get(ctx, &res); err != nil {
		return stepOutcome{Status: StatusFailed, Err: err}
	}
	out, err := backfillStepResult(&res)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: err}
	}
	return stepOutcome{Result: out, Summary: res.Reason, Status: StatusSucceeded}
}

// backfillInputOf decodes a step's rendered arguments into the verification's input, refusing
// arguments it does not know (the loader checked them against runbook.BackfillVerificationArgs;
// this catches a runbook recorded before a change). The environment is always the run's.
func backfillInputOf(environment string, args map[string]any) (BackfillInput, error) {
	var in BackfillInput
	b, err := json.Marshal(args)
	if err != nil {
		return in, fmt.Errorf("encode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("decode: %w", err)
	}
	in.Environment = environment
	return in, nil
}

// backfillStepResult is the step's result: the verification's result (without the bulky report)
// plus the figures backfill.verify reports under the same names — ok, missing, extra,
// duplicates, source_docs, target_docs, missing_sample — so later steps, Measure
// (FindBackfillFigures) and reports read a workflow step as they read the check.
func backfillStepResult(res *BackfillResult) (map[string]any, error) {
	slim := *res
	slim.Report = nil
	b, err := json.Marshal(slim)
	if err != nil {
		return nil, fmt.Errorf("encode backfill result: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode backfill result: %w", err)
	}
	out["ok"] = res.Converged
	if r := res.Report; r != nil {
		out["missing"], out["extra"] = r.MissingDocs(), r.Extra.Total
		out["duplicates"] = r.SourceDuplicates.IDs + r.TargetDuplicates.IDs
		out["source_docs"], out["target_docs"] = r.SourceDocs, r.TargetDocs
		var sample []any
		for _, s := range r.Missing.Sample {
			if len(sample) == 10 {
				break
			}
			sample = append(sample, s.ID)
		}
		if len(sample) > 0 {
			out["missing_sample"] = sample
		}
	}
	return out, nil
}
