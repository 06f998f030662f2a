package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Re-protection. A failback moves traffic back and then proves the environment is protected
// again: replication both ways RUNNING with lag 0, readiness passing. The runbook marks that step
// milestone: reprotected. When it fails, traffic has already moved and rolling back would be worse
// than going on, so the run does not fail: it ends OutcomeSucceededUnprotected, with
// Progress.Unprotected saying what is missing. That is the whole hook: one milestone, two outcomes.

// unprotectedBy records the failure of a reprotected step as what is missing and reports whether
// the run goes on (the step's failure is not the run's). Histories recorded before the hook took
// the step's on_failure as written (workflow.GetVersion).
func (r *run) unprotectedBy(ctx workflow.Context, st *StepState, s *runbook.Step, err error) bool {
	if s.Milestone != runbook.MilestoneReprotected || r.in.Mode != ModeExecute || ctx.Err() != nil || temporal.IsCanceledError(err) {
		return false // a canceled run is canceled, not unprotected
	}
	if workflow.GetVersion(ctx, ChangeReprotectedOutcome, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	r.addUnprotected(fmt.Sprintf("%s: %s", st.Path, errorMessage(err)))
	return true
}

// inheritUnprotected carries a nested runbook's succeeded_unprotected outcome to its parent (a
// drill that fails back ends unprotected when its failback did).
func (r *run) inheritUnprotected(res *Result) {
	if res != nil && res.Outcome == OutcomeSucceededUnprotected {
		r.addUnprotected(res.Unprotected)
	}
}

func (r *run) addUnprotected(what string) {
	if r.progress.Unprotected != "" {
		r.progress.Unprotected += "; "
	}
	r.progress.Unprotected += what
}
