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
		summary, warnings, err := validatePath(p, cat)
		// Warnings do not fail validation: they name steps that will run but likely miss their
		// purpose (a write check shorter than DNS caching), as path:line:col: warning: ...
		for _, w := range warnings {
			fmt.Fprintln(cio.stderr, w)
		}
		if err != nil {
			failed = true
			fmt.Fprintln(cio.stderr, err)
			continue
		}
		fmt.Fprintf(cio.stdout, "%s: ok (%s%s)\n", p, summary, warningCount(len(warnings)))
	}
	if failed {
		return exitError(1)
	}
	return nil
}

func warningCount(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return ", 1 warning"
	}
	return fmt.Sprintf(", %d warnings", n)
}

func validatePath(p string, cat *catalog.Catalog) (string, runbook.ErrorList, error) {
	info, err := os.Stat(p)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	if info.IsDir() {
		set, err := runbook.LoadDir(p, cat)
		rules, terr := triggers.LoadDir(p)
		var warnings runbook.ErrorList
		if set != nil {
			warnings = set.Warnings
		}
		if err := errors.Join(err, terr); err != nil {
			return "", warnings, err
		}
		return fmt.Sprintf("%d runbooks, %d environments, %d trigger rules files", len(set.Runbooks), len(set.Environments), len(rules.Files)), warnings, nil
	}
	src, err := os.ReadFile(p)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, err)
	}
	if filepath.Base(filepath.Dir(p)) == triggers.Dir {
		// Rules are checked against the runbooks and environments of the folder above.
		if _, err := triggers.LoadFiles(filepath.Dir(filepath.Dir(p)), p); err != nil {
			return "", nil, err
		}
		return "trigger rules", nil, nil
	}
	if filepath.Base(filepath.Dir(p)) == "environments" {
		if _, err := runbook.ParseEnvironment(p, src); err != nil {
			return "", nil, err
		}
		return "environment", nil, nil
	}
	if _, err := runbook.Parse(p, src, cat); err != nil {
		return "", nil, err
	}
	return "runbook", folderWarnings(p, cat), nil
}

// folderWarnings are the warnings of one runbook file against the environments of its folder
// (the checks that need an environment, such as the DNS TTL).
func folderWarnings(path string, cat *catalog.Catalog) runbook.ErrorList {
	set, _ := runbook.LoadDir(filepath.Dir(path), cat)
	if set == nil {
		return nil
	}
	var out runbook.ErrorList
	for _, w := range set.Warnings {
		if filepath.Clean(w.Pos.File) == filepath.Clean(path) {
			out = append(out, w)
		}
	}
	return out
}
