package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs of the topology.
type Binaries struct {
	// TemporalServer and SQLTool are built from go.temporal.io/server at the version go.mod pins
	// (its cmd/server and cmd/tools/sql, declared as tools in go.mod so go.sum covers them).
	TemporalServer, SQLTool string
	// Worker and Starter are Switchyard's worker and starter (the intake is `starter serve`).
	Worker, Starter string
	// SchemaDir is the server module's schema/postgresql/v12 in the module cache.
	SchemaDir string
}

// Build builds the topology's binaries into binDir from the Switchyard module at moduleDir (the
// repository root), and finds the server module's schema files. Go's build cache makes a
// rebuild a link step only. starter, when set, is a starter binary to use instead of building
// one (`starter prod up` runs its own executable as the intake).
func Build(ctx context.Context, moduleDir, binDir, starter string) (Binaries, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return Binaries{}, err
	}
	b := Binaries{
		TemporalServer: filepath.Join(binDir, "temporal-server"),
		SQLTool:        filepath.Join(binDir, "temporal-sql-tool"),
		Worker:         filepath.Join(binDir, "worker"),
		Starter:        filepath.Join(binDir, "starter"),
	}
	builds := []struct{ out, pkg string }{
		{b.TemporalServer, "go.temporal.io/server/cmd/server"},
		{b.SQLTool, "go.temporal.io/server/cmd/tools/sql"},
		{b.Worker, "./worker"},
	}
	if starter != "" {
		b.Starter = starter
	} else {
		builds = append(builds, struct{ out, pkg string }{b.Starter, "./starter"})
	}
	for _, bl := range builds {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bl.out, bl.pkg)
		cmd.Dir = moduleDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build -o %s %s: %w: %s", bl.out, bl.pkg, err, strings.TrimSpace(string(out)))
		}
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
	cmd.Dir = moduleDir
	out, err := cmd.Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("find the go.temporal.io/server module (go list -m): %w", err)
	}
	b.SchemaDir = filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(SchemaSubdir))
	if _, err := os.Stat(filepath.Join(b.SchemaDir, "temporal", "versioned")); err != nil {
		return Binaries{}, fmt.Errorf("the server module ships no PostgreSQL schema at %s: %w", b.SchemaDir, err)
	}
	return b, nil
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run from the Switchyard checkout", dir)
		}
	}
}
