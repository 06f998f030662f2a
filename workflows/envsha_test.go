package workflows_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Every catalog call of a run carries the environment the run loaded and its file's sha256
// (catalog.EnvArg), so an entry can refuse a file edited on its worker since the run started;
// the step's recorded arguments stay as written.
func TestCatalogCallsCarryTheRunsEnvironmentSHA256(t *testing.T) {
	f := newFixture(t, map[string]string{"calls": `schema: switchyard/v1
name: calls
steps:
  - id: act
    action: test.record
    local: false
    with: {name: act}
  - id: wait
    wait_until:
      check: core.assert
      with: {that: "${{ true }}"}
      timeout: 1m
`})
	sum := sha256.Sum256([]byte(testEnv))
	want := map[string]any{"environment": "test", "sha256": hex.EncodeToString(sum[:])}
	var got []any
	f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		switch info.ActivityType.Name {
		case "test.record":
			var m map[string]any
			require.NoError(t, args.Get(&m))
			got = append(got, m[catalog.EnvArg])
		case workflows.WaitUntilActivity:
			var w workflows.WaitRequest
			require.NoError(t, args.Get(&w))
			got = append(got, w.Args[catalog.EnvArg])
		}
	})
	res, err := f.run(t, workflows.RunInput{Runbook: "calls"})
	require.NoError(t, err)
	require.Equal(t, []any{want, want}, got)
	for _, s := range res.Steps {
		require.NotContains(t, s.Args, catalog.EnvArg, s.Path)
	}
}

// An operator edits the environment file on the worker while a run is under way: the run's next
// step that resolves the environment fails, readably and without retries, instead of acting on a
// file the run never checked.
func TestARunRefusesAnEnvironmentEditedSinceItStarted(t *testing.T) {
	dir := t.TempDir()
	envPath := filepath.Join(dir, "environments", "test.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(envPath), 0o755))
	require.NoError(t, os.WriteFile(envPath, []byte(testEnv), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "edited.yaml"), []byte(`schema: switchyard/v1
name: edited
steps:
  - id: edit
    action: test.edit_env
  - id: read
    action: ssm.get_parameter
    with: {environment: "${{ run.environment }}", region: us-east-1, name: /switchyard/test/x}
`), 0o644))

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	store := runbook.NewStore(dir)
	reg := activities.NewCatalogRegistry(activities.Options{RunbookDir: dir, Store: store})
	activities.Register(reg, catalog.Spec{Name: "test.edit_env", Kind: catalog.KindAction, Description: "edit the environment file"},
		func(context.Context, struct{}) (struct{}, error) {
			return struct{}{}, os.WriteFile(envPath, []byte(testEnv+"# edited during the run\n"), 0o644)
		})
	reg.RegisterActivities(env)
	(&activities.Engine{RunbookDir: dir, Store: store, Registry: reg}).Register(env)
	workflows.Register(env)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.OperationID("test")})

	env.ExecuteWorkflow(workflows.RunbookWorkflowType, workflows.RunInput{Runbook: "edited", Environment: "test"})
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.ErrorContains(t, err, "environment test changed on this worker since the run started")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
}
