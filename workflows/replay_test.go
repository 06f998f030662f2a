package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

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
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)
			// Replay under the id the run had: a DR operation checks that it runs under
			// switchyard/<environment>, and the replayer's default id would fail that check.
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: originalID(t, h)}}))
		})
	}
}

// originalID is the workflow id a recorded run had: the started event's, else
// switchyard/<environment> for DR operations, which is all the interpreter checks; read-only runs
// accept any id.
func originalID(t *testing.T, h *historypb.History) string {
	t.Helper()
	attrs := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs, "the first event must start the workflow")
	if id := attrs.GetWorkflowId(); id != "" {
		// Recorded by servers that keep it: the exact id, which child workflow ids derive from
		// (a read-only run's children are <its id>/<step>).
		return id
	}
	if attrs.GetWorkflowType().GetName() != workflows.RunbookWorkflowType {
		return "replay"
	}
	var in workflows.RunInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in))
	return workflows.OperationID(in.Environment)
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
