package runbook

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// RunRequest is what a run asks for: a runbook, an environment and the caller's params.
type RunRequest struct {
	Runbook, Environment string
	Params               map[string]any
}

// Prepared is a run's runbook and environment, checked against each other and with its params
// bound (defaults applied, values typed).
type Prepared struct {
	Runbook     *Runbook
	Environment *Environment
	Params      map[string]any
	// RunbookSource and EnvironmentSource are the files' exact text and sha256.
	RunbookSource, EnvironmentSource Source
	// Warnings do not stop the run (a write check shorter than DNS caching).
	Warnings ErrorList
}

// StartError is why a run cannot start. BadInput tells a wrong request (a runbook or environment
// that does not exist, params of the wrong type or a Region outside the environment) from files
// that are broken or do not fit together; the workflow reports them under different error types.
type StartError struct {
	BadInput bool
	Msg      string
}

func (e *StartError) Error() string { return e.Msg }

// Prepare decides whether a run may start, before anything runs: the one function the workflow's
// loader (the LoadRunbook activity) and the starter CLI (`starter run`, before it starts a
// workflow) both call, so a mistake the CLI refuses is refused with the message the run would
// give. set and loadErr are what LoadDir returned for dir; problems in files the run does not use
// do not block it (during an incident a broken unrelated runbook must not stop a failover). cat
// is the catalog the set was loaded with; nil skips the checks that need it (what a runbook asks
// of an environment's zonal cluster, step timeouts against the run's values), which a CLI without
// the worker's activity registry leaves to the worker.
func Prepare(dir string, set *Set, loadErr error, req RunRequest, cat *catalog.Catalog) (*Prepared, error) {
	if set == nil {
		return nil, &StartError{Msg: fmt.Sprintf("load runbooks from %s: %v", dir, loadErr)}
	}
	rb, ok := set.Runbooks[req.Runbook]
	if !ok {
		return nil, &StartError{BadInput: true, Msg: fmt.Sprintf("no runbook %q in %s (have: %s)%s",
			req.Runbook, dir, strings.Join(sortedKeys(set.Runbooks), ", "), Relevant(loadErr))}
	}
	env, ok := set.Environments[req.Environment]
	if !ok {
		return nil, &StartError{BadInput: true, Msg: fmt.Sprintf("no environment %q in %s (have: %s)%s",
			req.Environment, filepath.Join(dir, "environments"), strings.Join(sortedKeys(set.Environments), ", "), Relevant(loadErr))}
	}
	p := &Prepared{Runbook: rb, Environment: env,
		RunbookSource: set.Sources["runbook:"+req.Runbook], EnvironmentSource: set.Sources["environment:"+req.Environment]}
	if msg := Relevant(loadErr, p.RunbookSource.Path, p.EnvironmentSource.Path); msg != "" {
		return nil, &StartError{Msg: "invalid runbook or environment:" + msg}
	}
	// What the runbook needs of this environment (a zone move needs a self-managed zonal
	// cluster) is refused here, at the step's position, before anything runs.
	if err := CheckUse(rb, env, cat); err != nil {
		return nil, &StartError{Msg: fmt.Sprintf("runbook %q cannot run in environment %q:%s", req.Runbook, req.Environment, Relevant(err))}
	}
	params, err := rb.BindParamsIn(req.Params, env)
	if err != nil {
		return nil, &StartError{BadInput: true, Msg: fmt.Sprintf("invalid params for runbook %q: %v", req.Runbook, err)}
	}
	p.Params = params
	// With the run's values: a step timeout that cannot cover its soak or wait would time out,
	// retry and fail half-way through the operation, so it is refused before anything runs.
	p.Warnings, err = set.CheckRun(req.Runbook, req.Environment, params, cat)
	if err != nil {
		return nil, &StartError{BadInput: true, Msg: fmt.Sprintf("runbook %q cannot run with these params in environment %q:%s",
			req.Runbook, req.Environment, Relevant(err))}
	}
	return p, nil
}

// Relevant returns the lines of a joined load error that concern the given files (every line
// when no file is given), each on its own indented line, for an error message.
func Relevant(err error, paths ...string) string {
	if err == nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		match := len(paths) == 0 || (len(paths) == 1 && paths[0] == "")
		for _, p := range paths {
			if p != "" && strings.HasPrefix(line, p+":") {
				match = true
			}
		}
		if match && strings.TrimSpace(line) != "" {
			out = append(out, "\n  "+line)
		}
	}
	return strings.Join(out, "")
}
