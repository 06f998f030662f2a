package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
)

// labRunbookDir makes a runbook folder for a lab on ports of its own: the runbooks of src and an
// environments/lab.yaml naming the lab's actual endpoints. The demo, the benchmarks and the tests
// run labs on free ports so they never collide with a `starter dev` on the default ones.
func labRunbookDir(src string, l *lab.Lab) (string, error) {
	dir, err := os.MkdirTemp("", "switchyard-runbooks-")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no runbooks in %s", src)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	env, err := yaml.Marshal(l.Environment())
	if err != nil {
		return "", fmt.Errorf("lab environment: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), env, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}
