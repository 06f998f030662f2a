package workflows_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/switchyard-dr/switchyard/internal/catalog"
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
