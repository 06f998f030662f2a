package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunChecksBeforeStarting: `starter run` refuses what the workflow's load would refuse, with
// the message the run would fail with (runbook.Prepare decides for both), before it connects to
// Temporal. Nothing listens on the address given, so a command that got as far as starting a
// run fails with a connection error instead; the last case shows that a valid request does.
func TestRunChecksBeforeStarting(t *testing.T) {
	const nowhere = "127.0.0.1:1"
	env := map[string]string{"SWITCHYARD_RUNBOOKS": "../runbooks"}
	starter := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := run(ctx, append(args, "--address", nowhere), func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown runbook", []string{"run", "nosuch", "--env", "lab"}, `no runbook "nosuch" in ../runbooks (have: `},
		{"unknown environment", []string{"run", "demo", "--env", "nosuch"}, `no environment "nosuch" in ../runbooks/environments (have: `},
		{"param of the wrong type", []string{"run", "demo", "--env", "lab", "--param", "require_approval=maybe"},
			`invalid params for runbook "demo": param "require_approval": want bool, got string "maybe"`},
		{"unknown param", []string{"run", "demo", "--env", "lab", "--param", "targt=us-west-2"},
			`invalid params for runbook "demo": unknown param "targt"`},
		// The message TestFailedRunReportsWhy gets from a run started without the CLI.
		{"Region outside the environment", []string{"run", "demo", "--env", "lab", "--param", "target=eu-west-1", "--json"},
			`invalid params for runbook "demo": param "target": "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := starter(tt.args...)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tt.want), "err = %v\nwant it to start with %s", err, tt.want)
			require.NotContains(t, err.Error(), nowhere, "refused before connecting")
			require.Empty(t, out, "nothing started")
		})
	}
	_, err := starter("run", "demo", "--env", "lab", "--param", "target=us-west-2", "--param", "require_approval=true")
	require.ErrorContains(t, err, nowhere, "a valid request goes on to connect")
	_, err = starter("run", "nosuch", "--env", "lab", "--runbooks", "")
	require.ErrorContains(t, err, nowhere, "without a folder, the worker decides")

	// A schedule that would fail at every firing is refused the same way.
	_, err = starter("schedule", "create", "drill", "--env", "nosuch", "--every", "1h", "--param", "target=us-west-2")
	require.ErrorContains(t, err, `runbook drill: no environment "nosuch" in ../runbooks/environments (have: `)
	require.NotContains(t, err.Error(), nowhere)
}
