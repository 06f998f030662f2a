package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// envLoader reads environment files by name. Catalog entries resolve every name they act on
// (cluster, replicator, pipeline, collection, bucket, record) from the environment at call time,
// so runbooks stay generic; a check polled every few seconds would otherwise parse the same YAML
// each time, hence the cache keyed by the file's modification time and size. An edited file is
// picked up on the next call.
type envLoader struct {
	dir   string
	mu    sync.Mutex
	cache map[string]envEntry
}

type envEntry struct {
	mod  time.Time
	size int64
	env  runbook.Environment
}

func newEnvLoader(runbookDir string) *envLoader {
	return &envLoader{dir: runbookDir, cache: map[string]envEntry{}}
}

// load returns environment name. The result shares maps with the cache: callers must not modify
// it. Unknown or invalid environments are non-retryable errors: no retry fixes a missing file.
func (l *envLoader) load(_ context.Context, name string) (runbook.Environment, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("invalid environment name %q", name), workflows.ErrInvalidInput, nil)
	}
	path := filepath.Join(l.dir, "environments", name+".yaml")
	info, statErr := os.Stat(path)
	if statErr == nil {
		l.mu.Lock()
		e, ok := l.cache[path]
		l.mu.Unlock()
		if ok && e.mod.Equal(info.ModTime()) && e.size == info.Size() {
			return e.env, nil
		}
	}
	env, err := runbook.LoadEnvironmentFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no environment %q: %s does not exist", name, path), workflows.ErrInvalidInput, nil)
		}
		return runbook.Environment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("environment %q: %v", name, err), workflows.ErrInvalidRunbook, nil)
	}
	if statErr == nil {
		l.mu.Lock()
		l.cache[path] = envEntry{mod: info.ModTime(), size: info.Size(), env: *env}
		l.mu.Unlock()
	}
	return *env, nil
}
