package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/workflows"
)

// A failback-shaped runbook: traffic moves, then a re-protection step proves replication both
// ways; a nested use of it shows that a parent inherits the outcome.
const reprotectRunbook = `schema: switchyard/v1
name: back
params:
  - {name: lag_ok, type: bool, default: true}
steps:
  - id: shift
    action: test.record
    with: {name: shift}
  - id: reprotect
    milestone: reprotected
    parallel:
      - id: into_primary
        check: core.assert
        with: {that: true, reason: "replicator into us-east-1 lags"}
      - id: into_secondary
        check: core.assert
        with: {that: "${{ params.lag_ok }}", reason: "replicator into us-west-2 lags"}
  - id: done
    action: test.record
    with: {name: done}
`

const unprotectedParentRunbook = `schema: switchyard/v1
name: parent
steps:
  - id: back
    runbook: back
    with: {lag_ok: false}
`

func TestReprotectionFailureEndsSucceededUnprotected(t *testing.T) {
	f := newFixture(t, map[string]string{"back": reprotectRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "back", Params: map[string]any{"lag_ok": false}})
	require.NoError(t, err, "traffic moved: the run succeeded, unprotected")
	require.Equal(t, workflows.OutcomeSucceededUnprotected, res.Outcome)
	require.Equal(t, workflows.StatusFailed, stepStatus(res, "reprotect"))
	require.Contains(t, res.Unprotected, "reprotect")
	require.Contains(t, res.Unprotected, "replicator into us-west-2 lags", "it says what is missing")
	require.Equal(t, []string{"shift", "done"}, f.rec.got(), "the steps after it still run")
	notes := f.notes.notes
	require.Contains(t, notes[len(notes)-1].Text, "succeeded_unprotected: not re-protected: reprotect")
}

func TestReprotectionPassingEndsSucceeded(t *testing.T) {
	f := newFixture(t, map[string]string{"back": reprotectRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "back"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	require.Empty(t, res.Unprotected)
}

func TestNestedUnprotectedOutcomeReachesTheParent(t *testing.T) {
	f := newFixture(t, map[string]string{"back": reprotectRunbook, "parent": unprotectedParentRunbook})
	res, err := f.run(t, workflows.RunInput{Runbook: "parent"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceededUnprotected, res.Outcome)
	require.Contains(t, res.Unprotected, "replicator into us-west-2 lags")
}
