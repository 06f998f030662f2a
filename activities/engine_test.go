package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

const cachedRunbook = `schema: switchyard/v1
name: hello
description: %s
steps:
  - id: say
    action: core.echo
    with: {message: hi}
`

// The parsed folder is reused between runs, and any edit is seen by the next run: a cached
// runbook must never outlive its file.
func TestLoadRunbookSeesEveryEditOfTheFolder(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "environments"), 0o755))
	env, err := os.ReadFile("../runbooks/environments/lab.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), env, 0o644))
	write := func(desc string, at time.Time) {
		t.Helper()
		path := filepath.Join(dir, "hello.yaml")
		require.NoError(t, os.WriteFile(path, fmt.Appendf(nil, cachedRunbook, desc), 0o644))
		require.NoError(t, os.Chtimes(path, at, at))
	}
	e := &Engine{RunbookDir: dir, Registry: NewCatalogRegistry(Options{RunbookDir: dir})}
	load := func() (wire.Loaded, error) {
		return e.LoadRunbook(context.Background(), wire.LoadRequest{Runbook: "hello", Environment: "lab"})
	}
	base := time.Now().Add(-time.Hour)
	write("first", base)
	got, err := load()
	require.NoError(t, err)
	require.Equal(t, "first", got.Runbook.Description)
	first := e.Store.Stats()
	got, err = load()
	require.NoError(t, err)
	// (lab.yaml was just written, so it may be read again to prove it unchanged; never parsed.)
	require.Equal(t, first.Reloads, e.Store.Stats().Reloads, "an unchanged folder is not loaded again")
	require.Equal(t, first.Parses, e.Store.Stats().Parses, "an unchanged folder is not parsed again")

	// Same size, new modification time.
	write("again", base.Add(time.Second))
	got, err = load()
	require.NoError(t, err)
	require.Equal(t, "again", got.Runbook.Description)

	// A broken edit fails the next run instead of serving the old text.
	path := filepath.Join(dir, "hello.yaml")
	require.NoError(t, os.WriteFile(path, []byte("schema: switchyard/v1\nname: hello\nsteps: [\n"), 0o644))
	_, err = load()
	require.Error(t, err)

	// A new file is seen too.
	write("fixed", base.Add(2*time.Second))
	other := strings.Replace(fmt.Sprintf(cachedRunbook, "other"), "name: hello", "name: other", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte(other), 0o644))
	got, err = e.LoadRunbook(context.Background(), wire.LoadRequest{Runbook: "other", Environment: "lab"})
	require.NoError(t, err)
	require.Equal(t, "other", got.Runbook.Description)
}
