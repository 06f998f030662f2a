package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The ARC lever end to end, on the shared lab's ARC cluster twin (five Regional endpoints):
// failovers in the environment lab-arc (the lab's environment with traffic.lever
// arc_routing_control) with endpoints down and with a safety rule that refuses the update.

const arcEnvName = "lab-arc"

// useARCEnvironment writes the lab's ARC environment into the worker's runbook folder and
// registers the cleanups that leave the lab as the next test expects: no run of lab-arc left
// holding its lock, every ARC endpoint answering, then resetLab (routing controls On, faults
// healed).
func useARCEnvironment(t *testing.T) {
	t.Helper()
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	b, err := yaml.Marshal(sharedLab.ARCEnvironment(arcEnvName))
	require.NoError(t, err)
	path := filepath.Join(sharedRunbooks, "environments", arcEnvName+".yaml")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	t.Cleanup(func() {
		_ = os.Remove(path)
		ctx := context.Background()
		id := workflows.OperationID(arcEnvName)
		if desc, err := shared.client.DescribeWorkflowExecution(ctx, id, ""); err == nil &&
			desc.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			err := shared.client.TerminateWorkflow(ctx, id, "", "test cleanup")
			var done *serviceerror.NotFound
			if !errors.As(err, &done) {
				require.NoError(t, err)
			}
		}
		for r := range sharedLab.ARC().Endpoints() {
			require.NoError(t, sharedLab.ARC().SetImpairment(r, arctwin.Healthy))
		}
	})
}

// runARCFailover runs the graceful failover to us-west-2 in lab-arc to its end.
func runARCFailover(t *testing.T) (*workflows.Result, error) {
	t.Helper()
	out, err := cli(t, "run", "failover", "--env", arcEnvName, "--as", "tester", "--json", "--param", "target="+west,
		"--param", "auto_approve=true", "--param", "verify_window=30s")
	require.NoError(t, err)
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &started))
	return followToEnd(t, started.WorkflowID)
}

// Two of the cluster's five endpoints down (one refusing connections, one answering ARC's
// EndpointTemporarilyUnavailable): the failover tries the endpoints in random order, moves on
// from the impaired ones within the same attempt, and succeeds; DNS follows the routing controls.
func TestARCFailoverWithTwoOfFiveEndpointsDown(t *testing.T) {
	useARCEnvironment(t)
	down := []string{"eu-west-1", "ap-northeast-1"}
	require.NoError(t, sharedLab.ARC().SetImpairment(down[0], arctwin.Refuse))
	require.NoError(t, sharedLab.ARC().SetImpairment(down[1], arctwin.Unavailable))
	updatesBefore := len(sharedLab.ARC().Updates())

	res, err := runARCFailover(t)
	require.NoError(t, err, "%+v", res.Error)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)
	for _, s := range []string{"preflight/current_traffic", "shift"} {
		require.Equal(t, workflows.StatusSucceeded, stepOf(res.Progress, s).Status, s)
		require.Equal(t, 1, stepOf(res.Progress, s).Attempts, "%s: the next endpoint is tried within the attempt", s)
	}
	updates := sharedLab.ARC().Updates()
	require.Len(t, updates, updatesBefore+1, "one routing-control update")
	require.NotContains(t, down, updates[len(updates)-1].Region, "an impaired endpoint took the update")
	for range 20 {
		a, err := sharedLab.Router().Resolve(context.Background())
		require.NoError(t, err)
		require.Equal(t, west, a.Region, "DNS answers us-west-2: the only record whose routing control is On")
	}
}

// Every endpoint of the cluster down: the failover's pre-flight read of the routing controls
// fails at its first attempt, not retried, with an error naming each endpoint tried; nothing
// moves.
func TestARCFailoverWithEveryEndpointDownFailsClearly(t *testing.T) {
	useARCEnvironment(t)
	endpoints := sharedLab.ARC().Endpoints()
	for r := range endpoints {
		require.NoError(t, sharedLab.ARC().SetImpairment(r, arctwin.Refuse))
	}
	updatesBefore := len(sharedLab.ARC().Updates())

	res, err := runARCFailover(t)
	require.Error(t, err)
	require.Equal(t, workflows.OutcomeFailed, res.Outcome)
	probe := stepOf(res.Progress, "preflight/current_traffic")
	require.Equal(t, workflows.StatusFailed, probe.Status)
	require.Equal(t, 1, probe.Attempts, "not retried: every endpoint was tried")
	require.Contains(t, probe.Error, "no endpoint of the cluster answered")
	for r, u := range endpoints {
		require.Contains(t, probe.Error, r+" ("+u+")", "the error names each endpoint tried")
	}
	require.Equal(t, workflows.StatusPending, stepOf(res.Progress, "shift").Status, "nothing moves")
	require.Len(t, sharedLab.ARC().Updates(), updatesBefore)
}

// A safety rule on the cluster that refuses the update (an assertion rule: both Regions' controls
// stay On): the shift fails at its first attempt, not retried, naming the rule and how to
// override it; the routing controls are unchanged.
func TestARCFailoverRefusedByASafetyRuleIsNotRetried(t *testing.T) {
	useARCEnvironment(t)
	controls := sharedLab.RoutingControls()
	panel := sharedLab.ARC().AddControlPanel(lab.ARCControlPanel) // the lab's panel: created at start, returned here
	rule, err := sharedLab.ARC().AddAssertionRule(arctwin.AssertionRule{Name: "e2e-both-regions-on", ControlPanelARN: panel,
		AssertedControls: []string{controls[east], controls[west]}, RuleConfig: arctwin.RuleConfig{Type: arctwin.AtLeast, Threshold: 2}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sharedLab.ARC().DeleteSafetyRule(rule)) })

	res, err := runARCFailover(t)
	require.Error(t, err)
	require.NotEqual(t, workflows.OutcomeSucceeded, res.Outcome)
	shift := stepOf(res.Progress, "shift")
	require.Equal(t, workflows.StatusFailed, shift.Status)
	require.Equal(t, 1, shift.Attempts, "a safety rule's refusal is not retried")
	require.Contains(t, shift.Error, rule, "the error names the rule")
	require.Contains(t, shift.Error, "ungraceful with force", "and how to override it")
	for _, r := range []string{east, west} {
		on, _ := sharedLab.ARC().RoutingControlState(controls[r])
		require.True(t, on, "%s: refused, nothing changed", r)
	}
	require.False(t, slices.ContainsFunc(sharedLab.ARC().Updates(), func(u arctwin.Update) bool { return slices.Contains(u.Overridden, rule) }),
		"nothing overrode the rule")
}
