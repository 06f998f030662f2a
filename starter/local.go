package main

import (
	"os"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// localFolder is the runbook folder as the CLI sees it, when it is on this machine: loaded
// without a catalog, because typing and checking a run's params needs only the runbooks and
// environments, not the worker's activity registry (and its AWS clients). A starter on an
// operator's laptop may have no folder; then the worker decides everything.
type localFolder struct {
	dir string
	set *runbook.Set // nil when the folder is not here
	err error        // the folder's load problems (every file's)
}

// loadLocal loads dir when it exists.
func loadLocal(dir string) localFolder {
	l := localFolder{dir: dir}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return l
	}
	l.set, l.err = runbook.LoadDir(dir, nil)
	return l
}

// runbook returns the named runbook when the folder has it and its file has no problem, nil
// otherwise (the worker then types the params and reports the problem).
func (l localFolder) runbook(name string) *runbook.Runbook {
	if l.set == nil {
		return nil
	}
	rb := l.set.Runbooks[name]
	if rb == nil || runbook.Relevant(l.err, l.set.Sources["runbook:"+name].Path) != "" {
		return nil
	}
	return rb
}

// environment returns the named environment when the folder has it and it has no problem.
func (l localFolder) environment(name string) *runbook.Environment {
	if l.set == nil {
		return nil
	}
	env := l.set.Environments[name]
	if env == nil || runbook.Relevant(l.err, l.set.Sources["environment:"+name].Path) != "" {
		return nil
	}
	return env
}

// prepare refuses, before anything starts, a run the workflow would refuse when it loads: an
// unknown runbook or environment, a broken file, params of the wrong type, a Region outside the
// environment. It calls runbook.Prepare, the function the workflow's LoadRunbook activity calls,
// so the message is the one the run would fail with. The checks that need the catalog are left
// to the worker. Without a local folder there is nothing to check against.
func (l localFolder) prepare(name, env string, params map[string]any) error {
	if l.set == nil {
		return nil
	}
	_, err := runbook.Prepare(l.dir, l.set, l.err, runbook.RunRequest{Runbook: name, Environment: env, Params: params}, nil)
	return err
}
