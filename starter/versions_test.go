package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/workflows"
)

// versionedPaths are runbooks whose runs reach a workflow.GetVersion change that the shipped
// runbooks' recorded runs never reach: an approval nobody decides (approval-expired) and a failed
// step marked milestone: reprotected (reprotected-outcome). Their histories, recorded by today's
// code and by the code before each change (workflows/testdata/histories/before/<change id>/,
// recorded from a worktree of the commit before it with this same test), keep both branches of
// each change in the replay corpus.
var versionedPaths = []struct {
	runbook, history, yaml string
	outcome                string
}{
	{runbook: "version-approval-expires", history: "version-approval-expired", outcome: workflows.OutcomeExpired, yaml: `schema: switchyard/v1
name: version-approval-expires
description: An approval nobody decides in time, for the replay corpus.
lock: none
steps:
  - id: approve
    approval:
      message: "Nobody answers this one."
      timeout: 2s
      on_timeout: abort
`},
	{runbook: "version-reprotect-fails", history: "version-reprotect-failed", outcome: workflows.OutcomeSucceededUnprotected, yaml: `schema: switchyard/v1
name: version-reprotect-fails
description: A reprotection step that fails after the work is done, for the replay corpus.
lock: none
steps:
  - id: work
    action: core.echo
    with: {message: "the work is done"}
  - id: reprotect
    check: core.assert
    with: {that: "${{ 1 == 2 }}", reason: "replication back is not running"}
    milestone: reprotected
`},
}

// TestRunsOnVersionedPaths runs each versioned path on the shared server and checks the outcome
// today's code gives it; with -update-histories it records the run for the replay corpus.
func TestRunsOnVersionedPaths(t *testing.T) {
	for _, p := range versionedPaths {
		t.Run(p.runbook, func(t *testing.T) {
			file := filepath.Join(sharedRunbooks, p.runbook+".yaml")
			require.NoError(t, os.WriteFile(file, []byte(p.yaml), 0o644))
			t.Cleanup(func() { _ = os.Remove(file) })
			out, err := cli(t, "run", p.runbook, "--env", "lab", "--as", "alice", "--json")
			require.NoError(t, err)
			var started struct {
				WorkflowID string `json:"workflow_id"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &started))
			out, _ = cli(t, "status", started.WorkflowID, "--follow", "--json")
			var res workflows.Result
			require.NoError(t, json.Unmarshal([]byte(out), &res), out)
			require.Equal(t, p.outcome, res.Outcome, res.Error)
			recordHistory(t, started.WorkflowID, p.history)
		})
	}
}
