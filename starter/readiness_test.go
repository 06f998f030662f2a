package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/readiness"
	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

// evaluateOnce runs `starter readiness --env lab --json` and returns the evaluation (the command
// exits 1 when it did not pass, after printing it).
func evaluateOnce(t *testing.T) wire.ReadinessResult {
	t.Helper()
	out, err := cli(t, "readiness", "--env", "lab", "--json")
	var exit exitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err)
	}
	var res wire.ReadinessResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	return res
}

func changed(res wire.ReadinessResult, key string) *wire.ReadinessChange {
	for i, c := range res.Changes {
		if c.Key == key {
			return &res.Changes[i]
		}
	}
	return nil
}

// TestReadinessCLI drives readiness end to end on the lab: a schedule (paused, so it runs only
// when triggered), on-demand evaluations through it, a lab fault turning one check
// actionRequired — posted once, as a change, and not again while it lasts — and healing it
// (posted once more); the latest result is read back and carries the Readiness search
// attribute. It logs the cost of one evaluation (control-plane calls, seconds).
func TestReadinessCLI(t *testing.T) {
	resetLab(t)
	ctx := context.Background()
	_, err := cli(t, "readiness", "schedule", "--env", "lab", "--every", "1h", "--paused", "--json")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = cli(t, "schedule", "delete", workflows.ReadinessScheduleID("lab")) })
	// Setting it again is a desired state: updated, not refused.
	out, err := cli(t, "readiness", "schedule", "--env", "lab", "--every", "1h", "--paused", "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"created": false`)

	// The shared lab may still settle from an earlier test: evaluate until everything passes.
	var res wire.ReadinessResult
	deadline := time.Now().Add(90 * time.Second)
	for {
		var calls atomic.Int64
		stop := sharedLab.ObserveControlPlane(func(awstwin.FaultContext, awstwin.Fault) { calls.Add(1) })
		began := time.Now()
		res = evaluateOnce(t)
		took := time.Since(began)
		stop()
		if res.State == wire.ReadinessPassed {
			t.Logf("one evaluation on the lab: %d checks, %d AWS control-plane calls, %.1fs", len(res.Checks), calls.Load(), took.Seconds())
			break
		}
		require.True(t, time.Now().Before(deadline), "readiness does not pass on the healthy lab: %+v", res.Checks)
		time.Sleep(time.Second)
	}

	const key = "pipeline.buffer@us-east-1"
	fault := lab.Fault{Kind: lab.FaultNoPersistentBuffer, Region: "us-east-1"}
	_, err = sharedLab.Inject(ctx, fault)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = sharedLab.Heal(context.Background(), fault) })
	broken := evaluateOnce(t)
	require.Equal(t, wire.ReadinessActionRequired, broken.State)
	require.Equal(t, &wire.ReadinessChange{Key: key, From: wire.ReadinessPassed, To: wire.ReadinessActionRequired}, changed(broken, key))
	require.True(t, broken.Notified, "the change is posted")

	again := evaluateOnce(t)
	require.Nil(t, changed(again, key), "an unchanged state is not posted again")

	_, err = sharedLab.Heal(ctx, fault)
	require.NoError(t, err)
	healed := evaluateOnce(t)
	require.Equal(t, &wire.ReadinessChange{Key: key, From: wire.ReadinessActionRequired, To: wire.ReadinessPassed}, changed(healed, key))

	// The latest evaluation, as the status page reads it, and its search attribute.
	var latest *wire.ReadinessResult
	waitFor(t, "the latest evaluation in visibility", func() bool {
		latest, err = readiness.Latest(ctx, shared.client, "lab")
		return err == nil && latest.EvaluatedAt.Equal(healed.EvaluatedAt)
	})
	resp, err := shared.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: readiness.Query("lab") + " AND Readiness = '" + healed.State + "'"})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetExecutions())
	require.True(t, slices.ContainsFunc(healed.Checks, func(c wire.ReadinessCheck) bool { return c.Name == "canary.end_to_end" && c.Value != nil }))
}
