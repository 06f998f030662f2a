package activities

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/workflows"
)

// This is the one file of the package, tests included, that imports workflows, and
// internal/archtest holds it to that. The package talks to the interpreter only through
// internal/wire; a few end-to-end tests run the real interpreter over the real activities and the
// AWS twin, because what they check (a step's retries against Route 53, warnings reaching the
// summary and the thread) exists only when both run together.

// runSucceeded is the outcome of a run that succeeded.
const runSucceeded = workflows.OutcomeSucceeded

// registerInterpreter registers the interpreter's workflows in env, to run under workflow id id;
// an empty id is environment's operation id, the lock a DR operation must run under.
func registerInterpreter(env *testsuite.TestWorkflowEnvironment, environment, id string) {
	workflows.Register(env)
	if id == "" {
		id = workflows.OperationID(environment)
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: id})
}

// runRunbook runs runbook on environment to its end and returns its result; a failed run fails
// the test with msgAndArgs.
func runRunbook(t *testing.T, env *testsuite.TestWorkflowEnvironment, runbook, environment string, msgAndArgs ...any) *workflows.Result {
	t.Helper()
	env.ExecuteWorkflow(workflows.RunbookWorkflowType, workflows.RunInput{Runbook: runbook, Environment: environment})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), msgAndArgs...)
	var res workflows.Result
	require.NoError(t, env.GetWorkflowResult(&res))
	return &res
}
