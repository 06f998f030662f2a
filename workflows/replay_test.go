package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestReplayRecordedHistories replays every recorded history against today's workflow code. A
// failure means a change would break runs that are in flight: guard it with workflow.GetVersion.
// Histories are recorded by `go test ./starter -run . -update-histories`; those in
// testdata/histories/before/<change id>/ were recorded by the code before that GetVersion change
// (see TestEveryVersionChangeHasHistoriesOfBothBranches) and are kept, never re-recorded.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	older, err := filepath.Glob(filepath.Join("testdata", "histories", "before", "*", "*.json"))
	require.NoError(t, err)
	for _, f := range append(files, older...) {
		name, _ := filepath.Rel(filepath.Join("testdata", "histories"), f)
		t.Run(name, func(t *testing.T) {
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

// oldBranches tells, for each workflow.GetVersion change id of the workflows package, whether a
// history ran the code path from before the change (workflow.DefaultVersion). A new change id
// needs an entry here and a history recorded by the code before it that takes the path: one of
// the corpus, or one recorded for the purpose in testdata/histories/before/<change id>/ (check out
// the commit before the change in a worktree and record there with -update-histories; never
// edit a history by hand). Re-recording the corpus replaces its old histories: keep one that
// covers an old branch in before/<change id>/ first. When no run in flight can reach the old
// branch, say why instead.
var oldBranches = map[string]oldBranch{
	// Before: log-only notifications ran as local activities (switchyard.Notify markers).
	// Recorded at eebfae6 (TestDrillFailsOverAndBack, TestFailoverGracefulMovesWritesAndProvesThem).
	workflows.ChangeInlineLogNotifications: {took: func(h *historypb.History) bool {
		return slices.Contains(localActivities(h), workflows.NotifyActivity)
	}},
	// Before: a run whose approval nobody decided failed with ApprovalTimedOut. Recorded at
	// b5fbfc7 (starter's TestRunsOnVersionedPaths, version-approval-expires).
	workflows.ChangeApprovalExpired: {took: approvalTimedOut},
	// The branch is taken only for a step marked milestone: reprotected, which the validator
	// refused before this change ("milestone must be traffic_shifted, traffic_verified or
	// backfill_verified"): no run started before it has such a step.
	workflows.ChangeReprotectedOutcome: {unreachable: "no runbook could mark a step reprotected before this change"},
	// Before: an approval asked without reading the plan; any approval that waited for a person
	// (demo-approved, recorded at c1153a0 and kept in before/approval-plan/; the approval that
	// expired, recorded at b5fbfc7).
	workflows.ChangeApprovalPlan: {took: func(h *historypb.History) bool {
		for _, e := range h.GetEvents() {
			if e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName() == workflows.ApproveUpdate ||
				e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.ApproveSignal {
				return true
			}
		}
		return approvalTimedOut(h)
	}},
}

// approvalTimedOut tells whether a run failed because nobody decided its approval in time.
func approvalTimedOut(h *historypb.History) bool {
	last := h.GetEvents()[len(h.GetEvents())-1]
	return last.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED &&
		failureTypes(last.GetWorkflowExecutionFailedEventAttributes().GetFailure())[workflows.ErrApprovalTimeout]
}

// oldBranch is how to recognise a history that took a change's old branch (took), or why none
// can exist (unreachable).
type oldBranch struct {
	took        func(*historypb.History) bool
	unreachable string
}

// failureTypes are the application error types along a failure's cause chain.
func failureTypes(f *failurepb.Failure) map[string]bool {
	types := map[string]bool{}
	for ; f != nil; f = f.GetCause() {
		if t := f.GetApplicationFailureInfo().GetType(); t != "" {
			types[t] = true
		}
	}
	return types
}

// TestEveryVersionChangeHasHistoriesOfBothBranches keeps the replay corpus covering both sides of
// every GetVersion change: a history recorded after it carries its Version marker, and a history
// recorded before it has no marker and ran the old path (testdata/histories/before/<change id>/
// keeps such histories once the corpus is re-recorded), so TestReplayRecordedHistories proves
// that runs in flight across the upgrade still replay, whichever branch they took.
func TestEveryVersionChangeHasHistoriesOfBothBranches(t *testing.T) {
	changes := versionChangeIDs(t)
	require.NotEmpty(t, changes, "names.go declares the GetVersion change ids (Change...)")
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	older, err := filepath.Glob(filepath.Join("testdata", "histories", "before", "*", "*.json"))
	require.NoError(t, err)
	histories := map[string]*historypb.History{}
	for _, f := range append(files, older...) {
		histories[f] = readHistory(t, f)
	}
	for _, id := range changes {
		old, ok := oldBranches[id]
		require.Truef(t, ok, "GetVersion change %q: add its old branch to oldBranches and a history recorded before it (testdata/histories/before/%s/)", id, id)
		require.Truef(t, (old.took == nil) != (old.unreachable == ""), "GetVersion change %q: oldBranches needs took or the reason it is unreachable", id)
		var newer, before []string
		for f, h := range histories {
			switch {
			case slices.Contains(versionMarkers(t, h), id):
				newer = append(newer, f)
			case old.took != nil && old.took(h):
				before = append(before, f)
			}
		}
		require.NotEmptyf(t, newer, "no recorded history takes the new branch of %q (its Version marker)", id)
		kept, err := filepath.Glob(filepath.Join("testdata", "histories", "before", id, "*.json"))
		require.NoError(t, err)
		if old.unreachable != "" {
			require.Emptyf(t, kept, "histories before %q exist, yet oldBranches says: %s", id, old.unreachable)
			continue
		}
		require.NotEmptyf(t, before, "no history recorded before GetVersion change %q takes its old branch (keep one in testdata/histories/before/%s/)", id, id)
		for _, f := range kept {
			require.Containsf(t, before, f, "%s, kept for the old branch of %q, has its marker or does not take the old path", f, id)
		}
		slices.Sort(before)
		t.Logf("%s: new branch in %d histories, old branch in %v", id, len(newer), before)
	}
}

// versionChangeIDs reads the GetVersion change ids from names.go: the string constants whose
// names start with "Change".
func versionChangeIDs(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "names.go", nil, 0)
	require.NoError(t, err)
	var ids []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Change") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					id, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

func readHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	h, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
	require.NoError(t, err)
	return h
}

// versionMarkers are the change ids of a history's Version markers.
func versionMarkers(t *testing.T, h *historypb.History) []string {
	t.Helper()
	var ids []string
	for _, e := range h.GetEvents() {
		m := e.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["change-id"], &id))
		ids = append(ids, id)
	}
	return ids
}

// localActivities are the activity types of a history's local-activity markers.
func localActivities(h *historypb.History) []string {
	var types []string
	for _, e := range h.GetEvents() {
		m := e.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "LocalActivity" {
			continue
		}
		var d struct{ ActivityType string }
		if converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &d) == nil {
			types = append(types, d.ActivityType)
		}
	}
	return types
}
