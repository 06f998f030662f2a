// Package readiness reads readiness evaluations back from Temporal: the one place the CLI and
// the status page get an environment's latest result from.
package readiness

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

// ErrNone: the environment has no completed readiness evaluation yet.
var ErrNone = errors.New("no readiness evaluation yet")

// Query is the visibility query of an environment's completed readiness evaluations, scheduled
// or on demand (both set the Environment search attribute).
func Query(environment string) string {
	return fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND ExecutionStatus = 'Completed'",
		workflows.ReadinessWorkflowType, workflows.SAEnvironment.GetName(), environment)
}

// Latest returns the environment's most recent completed evaluation (visibility lists closed
// runs newest first), or ErrNone. Visibility is eventually consistent: a run that completed a
// moment ago may not be listed yet.
func Latest(ctx context.Context, c client.Client, environment string) (*wire.ReadinessResult, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: Query(environment), PageSize: 3})
	if err != nil {
		return nil, fmt.Errorf("list readiness evaluations of %s: %w", environment, err)
	}
	var best *wire.ReadinessResult
	for _, e := range resp.GetExecutions() {
		var res wire.ReadinessResult
		if err := c.GetWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()).Get(ctx, &res); err != nil {
			continue // purged or unreadable: take the next
		}
		if best == nil || res.EvaluatedAt.After(best.EvaluatedAt) {
			r := res
			best = &r
		}
	}
	if best == nil {
		return nil, ErrNone
	}
	return best, nil
}
