package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
)

// runValidate checks runbook folders and files and prints every problem as path:line:col.
func runValidate(_ context.Context, args []string, cio cmdIO) error {
	fs := newFlags("validate", cio)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		paths = []string{envOr(cio.getenv, "SWITCHYARD_RUNBOOKS", "runbooks")}
	}
	cat := activities.NewCatalogRegistry(activities.Options{}).Catalog()
	var failed bool
	for _, p := range paths {
		summary, err := validatePath(p, cat)
		if err != nil {
			failed = true
			fmt.Fprintln(cio.stderr, err)
			continue
		}
		fmt.Fprintf(cio.stdout, "%s: ok (%s)\n", p, summary)
	}
	if failed {
		return exitError(1)
	}
	return nil
}

func validatePath(p string, cat *catalog.Catalog) (string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if info.IsDir() {
		set, err := runbook.LoadDir(p, cat)
		rules, terr := triggers.LoadDir(p)
		if err := errors.Join(err, terr); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d runbooks, %d environments, %d trigger rules files", len(set.Runbooks), len(set.Environments), len(rules.Files)), nil
	}
	src, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if filepath.Base(filepath.Dir(p)) == triggers.Dir {
		// Rules are checked against the runbooks and environments of the folder above.
		if _, err := triggers.LoadFiles(filepath.Dir(filepath.Dir(p)), p); err != nil {
			return "", err
		}
		return "trigger rules", nil
	}
	if filepath.Base(filepath.Dir(p)) == "environments" {
		if _, err := runbook.ParseEnvironment(p, src); err != nil {
			return "", err
		}
		return "environment", nil
	}
	if _, err := runbook.Parse(p, src, cat); err != nil {
		return "", err
	}
	return "runbook", nil
}
