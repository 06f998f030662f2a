package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// A step of a run resolves its environment from the file the run loaded, or not at all: after an
// edit of the file on this worker, the call is refused, readably and for good, before it calls
// AWS. Calls that carry no recorded environment (tools, tests, runs of older workers) still work.
func TestCallsRefuseAnEnvironmentThatChangedSinceTheRunStarted(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	_, err := l.twin.PutParameter(labWest, "/switchyard/test/active-region", labEast, "String")
	require.NoError(t, err)
	reg := NewRegistry()
	RegisterCloud(reg, l.cloud)
	get, ok := reg.Func("ssm.get_parameter")
	require.True(t, ok)

	path := filepath.Join(l.dir, "environments", labEnv+".yaml")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(text)
	recorded := hex.EncodeToString(sum[:])
	args := func(sha string) map[string]any {
		return map[string]any{"environment": labEnv, "region": labWest, "name": "/switchyard/test/active-region",
			catalog.EnvArg: map[string]any{"environment": labEnv, "sha256": sha}}
	}

	res, err := get(ctx, args(recorded))
	require.NoError(t, err, "the file the run loaded")
	require.Equal(t, labEast, res["value"])
	l.takeCalls()

	// A recorded sha256 of another environment is not this call's concern.
	other := args("0000")
	other[catalog.EnvArg] = map[string]any{"environment": "other", "sha256": "0000"}
	_, err = get(ctx, other)
	require.NoError(t, err)
	l.takeCalls()

	require.NoError(t, os.WriteFile(path, append(text, "# edited during the run\n"...), 0o644))
	_, err = get(ctx, args(recorded))
	requireNonRetryable(t, err, ErrEnvironmentChanged,
		"environment "+labEnv+" changed on this worker since the run started", recorded[:12], path)
	require.Empty(t, l.takeCalls(), "refused before any AWS call")

	// Without a recorded environment the entry reads the file as it is now.
	noRun := args(recorded)
	delete(noRun, catalog.EnvArg)
	_, err = get(ctx, noRun)
	require.NoError(t, err)
}
