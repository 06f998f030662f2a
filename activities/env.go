package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// ErrEnvironmentChanged is the error type of a call refused because its environment's file is not
// the one the run loaded. It is never retried: the file will not change back by itself.
const ErrEnvironmentChanged = wire.ErrEnvironmentChanged

// envLoader resolves environments by name for catalog entries, through the worker's runbook
// store. Entries resolve every name they act on (cluster, replicator, pipeline, collection,
// bucket, record) from the environment at call time, so runbooks stay generic; the store parses
// a file once per change, so a check polled every few seconds costs a stat, not a parse.
type envLoader struct {
	store *runbook.Store
}

func newEnvLoader(store *runbook.Store) *envLoader {
	return &envLoader{store: store}
}

// load returns environment name. The result shares maps with the store: callers must not modify
// it. Unknown or invalid environments are non-retryable errors: no retry fixes a missing file.
//
// When the call belongs to a run that loaded this environment (the interpreter passes
// catalog.EnvArg), a file whose sha256 differs from the one the run recorded is refused: the run
// checked its runbook against that file, and half a failover acting on an edited environment (a
// new cluster name, another Region) is worse than a stopped one.
func (l *envLoader) load(ctx context.Context, name string) (runbook.Environment, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("invalid environment name %q", name), wire.ErrInvalidInput, nil)
	}
	env, src, err := l.store.Environment(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no environment %q: %s does not exist", name,
				filepath.Join(l.store.Dir(), "environments", name+".yaml")), wire.ErrInvalidInput, nil)
		}
		return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("environment %q: %v", name, err), wire.ErrInvalidRunbook, nil)
	}
	if err := checkRecordedEnv(ctx, name, src); err != nil {
		return runbook.Environment{}, err
	}
	return *env, nil
}

// recordedEnv is the environment a run loaded and its file's sha256, from catalog.EnvArg.
type recordedEnv struct {
	name, sha256 string
}

type recordedEnvKey struct{}

// withRecordedEnv moves catalog.EnvArg from a call's arguments into its context. Arguments
// without it (calls from tests, from the backfill verification, from runs recorded before the
// argument existed) check nothing.
func withRecordedEnv(ctx context.Context, v any) context.Context {
	m, _ := v.(map[string]any)
	name, _ := m["environment"].(string)
	sum, _ := m["sha256"].(string)
	if name == "" || sum == "" {
		return ctx
	}
	return context.WithValue(ctx, recordedEnvKey{}, recordedEnv{name: name, sha256: sum})
}

// checkRecordedEnv refuses src when the call's run recorded another version of environment name.
func checkRecordedEnv(ctx context.Context, name string, src runbook.Source) error {
	rec, ok := ctx.Value(recordedEnvKey{}).(recordedEnv)
	if !ok || rec.name != name || rec.sha256 == src.SHA256 {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"environment %s changed on this worker since the run started: the run loaded sha256 %s, %s now has sha256 %s; "+
			"put the file back, or cancel this run and start a new one to act on the new file",
		name, shortSHA(rec.sha256), src.Path, shortSHA(src.SHA256)), ErrEnvironmentChanged, nil)
}

// shortSHA is the first 12 hex digits of a sha256, enough to tell versions of a file apart.
func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
