package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// labValues are the obvious lab values of the shipped runbooks' required params.
var labValues = map[string]string{"target": west, "source": east, "zone": "us-east-1a"}

// Every shipped runbook validates, and runs as a plan with its default params on the lab, as a
// new user would try it first (`starter run failback --env lab --param target=us-east-1 --mode
// plan`). Defaults that cannot work show here: failback's 5m soak under the 2m default step
// timeout timed out, retried and timed out again, and a plan slept through every soak.
func TestEveryShippedRunbookPlansWithItsDefaults(t *testing.T) {
	cat := activities.NewCatalogRegistry(activities.Options{RunbookDir: "../runbooks"}).Catalog()
	set, err := runbook.LoadDir("../runbooks", cat)
	require.NoError(t, err, "the shipped runbooks validate")
	require.Empty(t, set.Warnings, "the shipped runbooks have no warnings with their defaults")
	files, err := filepath.Glob("../runbooks/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	resetLab(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			rb := set.Runbooks[name]
			require.NotNil(t, rb)
			args := []string{"run", name, "--env", "lab", "--mode", "plan", "--follow", "--json", "--as", "tester"}
			for _, p := range rb.Params {
				if !p.Required {
					continue
				}
				v, ok := labValues[p.Name]
				require.True(t, ok, "no lab value for %s's required param %s: add one to labValues", name, p.Name)
				args = append(args, "--param", p.Name+"="+v)
			}
			out, err := cli(t, args...)
			require.NoError(t, err, "plan of %s: %s", name, out)
			var res workflows.Result
			require.NoError(t, json.Unmarshal([]byte(out), &res))
			require.Equal(t, workflows.OutcomePlanned, res.Outcome, "plan of %s: %s", name, res.Error)
			requireNoFailedStep(t, name, res.Progress)
		})
	}
}

// requireNoFailedStep fails on any failed step of a plan, nested runbooks' plans included.
func requireNoFailedStep(t *testing.T, where string, p workflows.Progress) {
	t.Helper()
	var failed []string
	for _, s := range p.Steps {
		if s.Status == workflows.StatusFailed {
			failed = append(failed, fmt.Sprintf("%s: %s%s", s.Path, s.Error, s.Summary))
		}
		if s.ChildID != "" && s.Status != workflows.StatusSkipped && s.Status != workflows.StatusPending {
			requireNoFailedStep(t, where+"/"+s.ID, progressOf(t, s.ChildID))
		}
	}
	sort.Strings(failed)
	require.Empty(t, failed, "failed steps in the plan of %s", where)
}

// `starter run` refuses a region param that is not a Region of the environment before anything
// starts, and lists the valid ones.
func TestRunRefusesARegionOutsideTheEnvironment(t *testing.T) {
	out, err := cli(t, "run", "failover", "--env", "lab", "--param", "target=us-east-9", "--json")
	// The message a run started elsewhere fails with (runbook.Prepare decides for both).
	require.ErrorContains(t, err, `invalid params for runbook "failover": param "target": "us-east-9" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`)
	require.Empty(t, out, "no run was started")
}
