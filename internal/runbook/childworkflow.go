package runbook

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// WorkflowBackfillVerification is the name a `workflow:` step gives the backfill verification
// (workflows.BackfillVerificationWorkflow): failback nests it, so the proof that the recovered
// Region caught up has one orchestration, the one `starter verify` starts too.
const WorkflowBackfillVerification = "backfill-verification"

// ChildWorkflow is a Go workflow a `workflow:` step may start as a child of the run. Only
// read-only workflows are listed: plan mode runs PlanCheck once instead of the workflow, so a plan
// shows whether the workflow would pass now without waiting for it.
type ChildWorkflow struct {
	Name        string
	Description string
	// PlanCheck is the catalog check plan mode runs once, with the step's arguments minus
	// PollArgs and with the run's environment.
	PlanCheck string
	// PollArgs are the arguments that only say how the workflow polls (how often, how long).
	PollArgs []string
	// Args are the arguments a step may give under with:. The run's environment is always the
	// workflow's: a step cannot give another.
	Args []catalog.Field
}

// BackfillVerificationArgs are the arguments of a `workflow: backfill-verification` step. The
// json names are those of the workflow's input (workflows.BackfillInput) and, but for interval
// and timeout, of the backfill.verify check plan mode runs; tests in workflows and activities
// keep the three in step.
type BackfillVerificationArgs struct {
	Source      string    `json:"source" catalog:"region,required" doc:"the Region that took the writes during the impairment"`
	Target      string    `json:"target" catalog:"region,required" doc:"the recovered Region that must hold every document"`
	Since       time.Time `json:"since,omitzero" doc:"window start (RFC 3339): the impairment start minus a margin; default lookback before the start"`
	Lookback    Duration  `json:"lookback,omitempty" catalog:"duration" doc:"window length when since is not given (default 24h)"`
	SettleDelay Duration  `json:"settle_delay,omitempty" catalog:"duration" doc:"how far before each pass the window ends, so in-flight documents are not called missing (default 2m)"`
	IDField     string    `json:"id_field,omitempty" doc:"unique event field (default the environment's; - for counts only)"`
	Tolerance   int64     `json:"tolerance,omitempty" doc:"documents that may be missing (default 0)"`
	AcceptDLQ   bool      `json:"accept_dlq,omitempty" doc:"let dead-letter objects pass (they are still reported)"`
	Interval    Duration  `json:"interval,omitempty" catalog:"duration" doc:"time between passes while not converged (default 1m)"`
	Timeout     Duration  `json:"timeout,omitempty" catalog:"duration" doc:"how long the verification may take before it fails (default 2h)"`
}

var childWorkflows = []ChildWorkflow{{
	Name:        WorkflowBackfillVerification,
	Description: "Prove the target Region holds every document the source received since the window start: pipeline gates (replicator RUNNING with MessageLag 0, consumer lag 0, no dead letters), then reconciliation passes until converged or timed out.",
	PlanCheck:   "backfill.verify",
	PollArgs:    []string{"interval", "timeout"},
	Args:        catalog.FieldsOf(reflect.TypeFor[BackfillVerificationArgs]()),
}}

// ChildWorkflows lists the workflows a `workflow:` step may name.
func ChildWorkflows() []ChildWorkflow { return slices.Clone(childWorkflows) }

// LookupChildWorkflow returns the child workflow named name.
func LookupChildWorkflow(name string) (ChildWorkflow, bool) {
	for _, w := range childWorkflows {
		if w.Name == name {
			return w, true
		}
	}
	return ChildWorkflow{}, false
}

// PlanArgs are the arguments of the plan check: args without the poll-only ones.
func (w ChildWorkflow) PlanArgs(args map[string]any) map[string]any {
	out := make(map[string]any, len(args))
	for k, v := range args {
		if !slices.Contains(w.PollArgs, k) {
			out[k] = v
		}
	}
	return out
}

// checkChildWorkflow checks a `workflow:` step: the name is a known workflow and with: gives its
// arguments, typed as the catalog types a check's.
func (c *checker) checkChildWorkflow(s *Step, label string, ctx refCtx) {
	w, ok := LookupChildWorkflow(s.Workflow)
	if !ok {
		var names []string
		for _, w := range childWorkflows {
			names = append(names, w.Name)
		}
		c.add(c.pos.val(s, "workflow"), "%s: unknown workflow %q: a workflow step names one of %v%s", label, s.Workflow, names,
			didYouMean(s.Workflow, names))
		c.checkTemplates(s, "with", s.With, ctx)
		return
	}
	c.checkArgs(s, s.With, catalog.Spec{Name: fmt.Sprintf("workflow %s", w.Name), Args: w.Args}, label, ctx)
}
