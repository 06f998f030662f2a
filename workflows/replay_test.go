package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestReplayRecordedHistories replays every recorded history against today's workflow code. A
// failure means a change would break runs that are in flight: guard it with workflow.GetVersion.
// Histories are recorded by `go test ./starter -run . -update-histories`.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.Register(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestEveryShippedRunbookHasHistories keeps the replay corpus complete: each runbook in runbooks/
// needs a recorded happy path and failure path.
func TestEveryShippedRunbookHasHistories(t *testing.T) {
	books, err := filepath.Glob(filepath.Join("..", "runbooks", "*.yaml"))
	require.NoError(t, err)
	for _, b := range books {
		name := strings.TrimSuffix(filepath.Base(b), ".yaml")
		hist, err := filepath.Glob(filepath.Join("testdata", "histories", name+"-*.json"))
		require.NoError(t, err)
		require.GreaterOrEqualf(t, len(hist), 2, "runbook %s needs a recorded happy path and failure path in workflows/testdata/histories (record with: go test ./starter -update-histories)", name)
	}
	_, err = os.Stat(filepath.Join("testdata", "histories"))
	require.NoError(t, err)
}
