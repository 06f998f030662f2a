package workflows

import (
	"sort"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Readiness types, shared with the activities and the CLI through wire.
type (
	ReadinessResult = wire.ReadinessResult
	ReadinessCheck  = wire.ReadinessCheck
)

// ReadinessInput is ReadinessWorkflow's input.
type ReadinessInput struct {
	Environment string `json:"environment"`
	// Previous is the evaluation to compare with when the run has no last completion result
	// (a run started on demand, outside the environment's schedule): `starter readiness` passes
	// the latest one so a change is posted once whichever run sees it first.
	Previous *ReadinessResult `json:"previous,omitempty"`
}

// readinessCheckTimeout bounds one group's activity; the canary waits up to a minute for its
// marker, the other groups make a few calls per Region.
const readinessCheckTimeout = 3 * time.Minute

// ReadinessWorkflow evaluates an environment's readiness (issue 18): every group of checks as
// its own activity, in parallel; a group whose activity fails or times out counts as unknown
// with the error as reason, never as a failed evaluation. It compares the result with the
// previous evaluation — the schedule's last completion result, or in.Previous — posts the
// changes once to the environment's Slack channel, sets the Readiness search attribute and the
// readiness metrics, and returns the result (which the schedule hands to the next run).
func ReadinessWorkflow(ctx workflow.Context, in ReadinessInput) (ReadinessResult, error) {
	if in.Environment == "" {
		return ReadinessResult{}, temporal.NewNonRetryableApplicationError("a readiness evaluation needs an environment", ErrInvalidInput, nil)
	}
	started := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: readinessCheckTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 2, NonRetryableErrorTypes: []string{ErrInvalidInput, ErrInvalidRunbook}},
	})
	var plan wire.ReadinessPlan
	if err := workflow.ExecuteActivity(actx, wire.ReadinessPlanActivity, in.Environment).Get(ctx, &plan); err != nil {
		return ReadinessResult{}, err
	}
	futures := make([]workflow.Future, len(plan.Groups))
	for i, g := range plan.Groups {
		futures[i] = workflow.ExecuteActivity(actx, wire.ReadinessCheckActivity, wire.ReadinessCheckRequest{Environment: in.Environment, Group: g})
	}
	var checks []ReadinessCheck
	for i, f := range futures {
		var got []ReadinessCheck
		if err := f.Get(ctx, &got); err != nil {
			checks = append(checks, ReadinessCheck{Name: plan.Groups[i], Group: plan.Groups[i], State: wire.ReadinessUnknown,
				Reason: "the group's evaluation failed: " + err.Error()})
			continue
		}
		checks = append(checks, got...)
	}
	sort.SliceStable(checks, func(a, b int) bool {
		if checks[a].Group != checks[b].Group {
			return groupIndex(checks[a].Group) < groupIndex(checks[b].Group)
		}
		return checks[a].Key() < checks[b].Key()
	})
	res := ReadinessResult{Environment: in.Environment, EvaluatedAt: started, State: wire.OverallReadiness(checks), Checks: checks}

	prev := in.Previous
	if workflow.HasLastCompletionResult(ctx) {
		var last ReadinessResult
		if err := workflow.GetLastCompletionResult(ctx, &last); err == nil && (prev == nil || !last.EvaluatedAt.Before(prev.EvaluatedAt)) {
			prev = &last
		}
	}
	res.Changes = wire.ReadinessChanges(prev, checks)

	if err := workflow.UpsertTypedSearchAttributes(ctx, SAEnvironment.ValueSet(in.Environment), SAReadiness.ValueSet(res.State)); err != nil {
		workflow.GetLogger(ctx).Warn("readiness: search attributes not set", "error", err)
	}
	recordReadinessMetrics(ctx, res)

	if len(res.Changes) > 0 {
		n := Notification{Environment: in.Environment, Channel: plan.SlackChannel, Kind: NotifyMessage, Runbook: "readiness",
			WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
			Text: wire.ReadinessMessage(res)}
		nctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: notifyTimeout,
			RetryPolicy: &temporal.RetryPolicy{MaximumInterval: time.Minute}})
		var nr NotifyResult
		if err := workflow.ExecuteActivity(nctx, NotifyActivity, n).Get(ctx, &nr); err != nil {
			workflow.GetLogger(ctx).Warn("readiness: changes not posted", "error", err)
		} else {
			res.Notified = true
		}
	}
	return res, nil
}

func groupIndex(g string) int {
	for i, x := range wire.ReadinessGroups {
		if x == g {
			return i
		}
	}
	return len(wire.ReadinessGroups)
}

// recordReadinessMetrics sets the readiness gauges: the evaluation's state (1 for the current
// state, 0 for the others, so a dashboard shows the state as a series) and each check's (1
// passed, 0 actionRequired, -1 unknown), and the canary's end-to-end latency by Region.
func recordReadinessMetrics(ctx workflow.Context, res ReadinessResult) {
	h := workflow.GetMetricsHandler(ctx)
	for _, s := range []string{wire.ReadinessPassed, wire.ReadinessActionRequired, wire.ReadinessUnknown} {
		v := 0.0
		if s == res.State {
			v = 1
		}
		h.WithTags(map[string]string{"environment": res.Environment, "state": s}).Gauge(MetricReadinessState).Update(v)
	}
	for _, c := range res.Checks {
		v := -1.0
		switch c.State {
		case wire.ReadinessPassed:
			v = 1
		case wire.ReadinessActionRequired:
			v = 0
		}
		h.WithTags(map[string]string{"environment": res.Environment, "check": c.Name, "region": c.Region}).Gauge(MetricReadinessCheck).Update(v)
		if c.Group == wire.ReadinessGroupCanary && c.Value != nil {
			h.WithTags(map[string]string{"environment": res.Environment, "region": c.Region}).Gauge(MetricCanaryLatency).Update(*c.Value)
		}
	}
}

// ReadinessScheduleID is the id of an environment's readiness schedule.
func ReadinessScheduleID(environment string) string {
	return OperationIDPrefix + environment + "/readiness"
}

// ReadinessRunID is the workflow id of an on-demand readiness evaluation.
func ReadinessRunID(environment string, at time.Time) string {
	return OperationIDPrefix + environment + "/readiness/" + strconv.FormatInt(at.UnixMilli(), 10)
}
