package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// The interpreter's metrics go through workflow.GetMetricsHandler: the SDK drops them while a
// history is replayed (a worker restart, a query against a closed run), so every run, step and
// decision is recorded once, by the worker that actually executed it. Durations are differences of
// workflow.Now readings, which are the times recorded in history.

// observeRunEnd records the run's outcome and duration and logs its end; the log line carries
// WorkflowID and RunID (the SDK's logger adds them), which ties the run to the worker's logs.
func (r *run) observeRunEnd(ctx workflow.Context) {
	took := time.Duration(0)
	if r.progress.EndedAt != nil {
		took = r.progress.EndedAt.Sub(r.progress.StartedAt)
	}
	h := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"runbook": r.in.Runbook, "environment": r.in.Environment, "mode": string(r.in.Mode), "outcome": r.progress.Outcome,
	})
	h.Counter(MetricRunbookRuns).Inc(1)
	h.Timer(MetricRunbookRunDuration).Record(took)
	r.logger.Info("runbook run ended", "runbook", r.in.Runbook, "environment", r.in.Environment, "mode", r.in.Mode,
		"outcome", r.progress.Outcome, "duration", took.String())
}

// observeStepEnd records a finished step's duration by kind and final status.
func (r *run) observeStepEnd(ctx workflow.Context, st *StepState) {
	took := time.Duration(0)
	if st.StartedAt != nil && st.EndedAt != nil {
		took = st.EndedAt.Sub(*st.StartedAt)
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"runbook": r.in.Runbook, "kind": st.Kind, "status": string(st.Status),
	}).Timer(MetricStepDuration).Record(took)
}

// observeApproval records how long an approval waited for its decision (approved, rejected or
// timed_out).
func (r *run) observeApproval(ctx workflow.Context, step, decision string, asked time.Time) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"runbook": r.in.Runbook, "step": step, "decision": decision,
	}).Timer(MetricApprovalLatency).Record(workflow.Now(ctx).Sub(asked))
}
