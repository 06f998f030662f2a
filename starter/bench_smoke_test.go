package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Smokes of the benchmarks at a tiny size: each runs the bench's real path once and checks what
// it counts (never a timing). The figures in docs/benchmarks.md come from full-size runs.

func TestBenchBackfillSmokeScoresBothMethodsOnHardDataWithTheEngineInItsOwnProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := benchBackfillOptions{docs: 20_000, missing: 60, duplicates: 20, span: 24 * time.Hour, seed: 3, pageSize: 1000, distribution: distHard, inProcess: true}
	twins, err := startBenchTwins(o)
	require.NoError(t, err)
	defer twins.close()
	res, err := measureBackfill(ctx, o, twins.urls, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "own process", res.EngineProcess)
	require.Positive(t, res.RSSBytes, "the engine process's peak")
	// The full scan reads every id: it must be exact, or the scorer or the data is wrong.
	require.NotNil(t, res.Baseline)
	require.True(t, res.Baseline.Exact, "full scan: %s", *res.Baseline)
	// The engine is judged on the same truth; what it got is in the figures.
	require.Equal(t, res.Engine.FoundMissing, res.FoundMissing)
	require.Zero(t, res.Engine.MissingFalse, "engine: %s", res.Engine)
	require.Zero(t, res.Engine.Extra, "engine: %s", res.Engine)
	require.Less(t, res.Requests, res.BaselineRequests)

	// With per-bucket duplicate lists the engine must be exact too: a lost event and a
	// duplicate of another in the same millisecond no longer cancel out.
	o.dupLists = true
	res, err = measureBackfill(ctx, o, twins.urls, io.Discard)
	require.NoError(t, err)
	require.True(t, res.Engine.Exact, "engine with duplicate lists: %s", res.Engine)
}

func TestBenchScaleSmokeCompletesEveryRunOnAWorkerProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := benchScale(ctx, benchScaleOptions{runbooksOptions: runbooksOptions{runbooks: "../runbooks"}, runs: 6, steps: 3, starters: 3,
		timeout: 3 * time.Minute}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 6, res.Completed, res.FirstError)
	require.Zero(t, res.Failed)
	require.Positive(t, res.StepP99MS)
	require.Positive(t, res.WorkerPeakRSSBytes, "read from the worker process")
}

func TestBenchFailoverSmokeSplitsTheCriticalPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := benchFailover(ctx, benchFailoverOptions{runbooksOptions: runbooksOptions{runbooks: "../runbooks"}, runs: 1, rate: 50}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 1, res.Runs)
	require.Positive(t, res.CriticalPathSeconds)
	require.Positive(t, res.CriticalPathWithoutWaitsSeconds)
	require.LessOrEqual(t, res.CriticalPathWithoutWaitsSeconds, res.CriticalPathSeconds)
	require.Positive(t, res.SequentialSeconds)
	require.Positive(t, res.RatioCriticalPathWithoutWaits)
	var waits float64
	for _, s := range res.Steps {
		require.LessOrEqual(t, s.WaitSeconds, s.ActivitySeconds+1e-9, s.Path)
		waits += s.WaitSeconds
	}
	require.InDelta(t, res.CriticalPathSeconds-res.CriticalPathWithoutWaitsSeconds, waits, 1e-6)
}
