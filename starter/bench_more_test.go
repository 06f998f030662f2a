package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/triggers"
)

// The benchmarks' figures are timings and are not asserted; what they count is: every signed
// request answered and its background work done, every forged one refused and never answered,
// one run for a storm, every event acknowledged.

func TestBenchIntakeAnswersSignedRequestsAndRefusesForgedOnes(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for _, kind := range []string{"approve", "status"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := benchIntake(ctx, benchIntakeOptions{rate: 100, duration: time.Second, kind: kind, forgedEvery: 10}, shared.client, quiet)
			require.NoError(t, err)
			require.Equal(t, 100, res.Requests)
			require.Zero(t, res.Errors)
			require.Equal(t, 10, res.Forged)
			require.Equal(t, 10, res.ForgedRefused)
			require.Zero(t, res.ForgedAnswered)
			// Each signed request's background work (a Temporal call) ended in an answer.
			require.Equal(t, int64(100), res.Answered)
			require.Positive(t, res.P99MS)
			require.LessOrEqual(t, res.P50MS, res.P99MS)
		})
	}
}

func TestBenchAlarmsStartsOneRunPerEnvironmentForAStormAndTimesTheShift(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := benchAlarms(ctx, benchAlarmsOptions{runbooksOptions: runbooksOptions{runbooks: "../runbooks"}, repetitions: 2, storm: 300, stormQueues: 2,
		stormEnvs: 2, stormAlarms: 5, profile: "fast", rate: 10, timeout: time.Minute}, io.Discard)
	require.NoError(t, err)
	require.Len(t, res.ToShiftMS, 2)
	for _, ms := range res.ToShiftMS {
		require.Positive(t, ms)
	}
	require.Equal(t, 300, res.Events)
	require.Equal(t, 150, res.Changes, "each state change in both Regions' queues")
	require.Equal(t, 2*(4+5), res.Alarms)
	require.Equal(t, int64(300), res.Acknowledged)
	require.Equal(t, int64(300), res.Received)
	require.Equal(t, int64(150), res.Deduped, "the second copy of each change")
	// Counted by the server's visibility: one run per environment, whatever the flapping.
	require.Equal(t, map[string]int64{"storm-1": 1, "storm-2": 1}, res.RunsPerEnvironment)
	require.Equal(t, int64(2), res.RunsStarted)
	require.Equal(t, res.RunsStarted, res.IntakeStarted)
	require.Positive(t, res.ReceiveCalls)
}

func TestBenchRulesKeepTheLabRulesWithoutCooldown(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	for _, f := range []string{"failover.yaml", "failback.yaml", "environments/lab.yaml"} {
		b, err := os.ReadFile(filepath.Join("../runbooks", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	require.NoError(t, writeBenchRules("../runbooks", dir))
	orig, err := triggers.LoadDir("../runbooks")
	require.NoError(t, err)
	bench, err := triggers.LoadDir(dir)
	require.NoError(t, err)
	require.NotZero(t, orig.File("lab").CooldownOrDefault())
	require.Zero(t, bench.File("lab").CooldownOrDefault())
	var want, got []string
	for _, r := range orig.File("lab").Rules {
		want = append(want, r.Name+" "+r.Policy+" "+r.Runbook)
	}
	for _, r := range bench.File("lab").Rules {
		got = append(got, r.Name+" "+r.Policy+" "+r.Runbook)
	}
	require.Equal(t, want, got)
}

func TestPercentileIsNearestRank(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	require.Equal(t, 50.0, percentile(xs, 50))
	require.Equal(t, 99.0, percentile(xs, 99))
	require.Equal(t, 100.0, percentile(xs, 100))
	require.Equal(t, 3.0, percentile([]float64{1, 2, 3}, 99))
	require.Zero(t, percentile(nil, 99))
}
