package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

func TestSplitRTO(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	marks := func(alarm, lever, applied, moved, verified float64) RTOMarks {
		return RTOMarks{Fault: t0, Alarm: at(alarm), RunStarted: at(alarm + 0.1), LeverStarted: at(lever), LeverApplied: at(applied),
			ClientsMoved: at(moved), Verified: at(verified)}
	}
	for _, tc := range []struct {
		name  string
		marks RTOMarks
		want  RTOPhases
		total float64
		err   string
	}{
		{name: "in order", marks: marks(90, 92, 93, 150, 152), total: 152,
			want: RTOPhases{DetectionSeconds: 90, DecisionSeconds: 2, LeverSeconds: 1, PropagationSeconds: 57, VerificationSeconds: 2}},
		{name: "write check passes on the first writes, before the last client moved: recovery waits for it", marks: marks(90, 92, 93, 150, 100), total: 150,
			want: RTOPhases{DetectionSeconds: 90, DecisionSeconds: 2, LeverSeconds: 1, PropagationSeconds: 57}},
		{name: "clients moved while Route 53 said PENDING: the wait stays in the lever phase", marks: marks(90, 92, 152, 120, 153), total: 153,
			want: RTOPhases{DetectionSeconds: 90, DecisionSeconds: 2, LeverSeconds: 60, VerificationSeconds: 1}},
		{name: "missing mark", marks: RTOMarks{Fault: t0, Alarm: at(1)}, err: "no lever step start time recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := splitRTO(tc.marks)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tc.total, total, 1e-9)
			require.InDelta(t, tc.want.DetectionSeconds, got.DetectionSeconds, 1e-9)
			require.InDelta(t, tc.want.DecisionSeconds, got.DecisionSeconds, 1e-9)
			require.InDelta(t, tc.want.LeverSeconds, got.LeverSeconds, 1e-9)
			require.InDelta(t, tc.want.PropagationSeconds, got.PropagationSeconds, 1e-9)
			require.InDelta(t, tc.want.VerificationSeconds, got.VerificationSeconds, 1e-9)
			require.InDelta(t, total, got.Sum(), 1e-9)
		})
	}
}

// `starter bench rto` on the package's shared lab, for the ARC lever: the primary goes down, its
// alarm starts the failover through the intake, and the figures come out split into phases that
// are never negative and add up to the total. The lab is left as it was found.
func TestBenchRTOMeasuresTheAlarmTriggeredFailover(t *testing.T) {
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	rtoTargetHook = func() *rtoTarget { return &rtoTarget{lab: sharedLab, client: shared.client, dir: sharedRunbooks} }
	t.Cleanup(func() { rtoTargetHook = nil })
	ttlBefore, err := sharedLab.DNSTTL()
	require.NoError(t, err)
	updatesBefore := len(sharedLab.ARC().Updates())

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, []string{"bench", "rto", "--profile", "fast", "--runs", "1", "--json", "--levers", runbook.LeverARCRoutingControl, "--timeout", "3m"},
		func(string) string { return "" }, &out, &errOut)
	require.NoError(t, err, "stderr: %s", errOut.String())

	var res BenchRTOResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
	require.Equal(t, "fast", res.Profile.Name)
	require.True(t, res.AttachedLab)
	require.Equal(t, 1, res.Runs)
	require.Equal(t, res.Profile.DNSTTLSeconds+15, res.GoalSeconds)
	require.Len(t, res.Levers, 1)
	lv := res.Levers[0]
	require.Equal(t, runbook.LeverARCRoutingControl, lv.Lever)
	require.Empty(t, lv.Skipped)
	require.Empty(t, lv.Error)
	require.Len(t, lv.RunDetails, 1)
	r1 := lv.RunDetails[0]
	for _, p := range []RTOPhases{lv.RTOPhases, r1.RTOPhases, *lv.PhaseMedians} {
		for _, s := range []float64{p.DetectionSeconds, p.DecisionSeconds, p.LeverSeconds, p.PropagationSeconds, p.VerificationSeconds} {
			require.GreaterOrEqual(t, s, 0.0)
		}
	}
	require.InDelta(t, r1.TotalSeconds, r1.Sum(), 1e-6)
	require.InDelta(t, lv.TotalSeconds, lv.Sum(), 1e-6)
	require.Positive(t, lv.TotalSeconds)
	require.Positive(t, lv.DetectionSeconds, "the alarm fires after its window")
	require.InDelta(t, lv.TotalSeconds-lv.DetectionSeconds, lv.FromAlarmSeconds, 1e-6)
	require.InDelta(t, lv.DecisionSeconds+lv.LeverSeconds+res.Profile.DNSTTLSeconds+lv.VerificationSeconds, lv.FromAlarmBoundSeconds, 1e-6)
	require.Positive(t, lv.ReportRTOSeconds)

	// What was measured is the alarm's failover on the bench's environment, and its one update.
	require.Equal(t, workflows.OperationID("bench-rto-arc-routing-control"), r1.WorkflowID)
	require.Contains(t, r1.Alarm, "lab-"+east+"-")
	require.False(t, r1.Marks.Alarm.Before(r1.Marks.Fault))
	require.False(t, r1.Marks.Verified.Before(r1.Marks.LeverStarted))
	require.Len(t, sharedLab.ARC().Updates(), updatesBefore+1, "one routing-control update")

	// The lab as it was found: healed, controls On, writes to the primary, its TTL, no bench
	// environment left in the worker's folder.
	require.Empty(t, sharedLab.Faults())
	for _, arn := range sharedLab.RoutingControls() {
		on, known := sharedLab.ARC().RoutingControlState(arn)
		require.True(t, known)
		require.True(t, on)
	}
	require.Equal(t, map[string]int64{east: 100, west: 0}, labWeights(t))
	ttl, err := sharedLab.DNSTTL()
	require.NoError(t, err)
	require.Equal(t, ttlBefore, ttl)
	require.Zero(t, sharedLab.ARC().UpdateLatency())
	_, err = os.Stat(filepath.Join(sharedRunbooks, "environments", "bench-rto-arc-routing-control.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
