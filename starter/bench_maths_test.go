package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The benchmarks' maths, as pure functions on made-up inputs: what a figure is made of must be
// checkable without running a bench.

func TestCriticalPathCountsTheSlowestBranchAndSplitsOutIntentionalWaits(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	at := func(ms int) *time.Time { x := t0.Add(time.Duration(ms) * time.Millisecond); return &x }
	call := func(name string, from, to, waited int) timedCall {
		return timedCall{name: name, start: *at(from), end: *at(to), waited: time.Duration(waited) * time.Millisecond}
	}
	steps := []workflows.StepState{
		{Path: "pre", ID: "pre", Kind: runbook.KindParallel, StartedAt: at(0), EndedAt: at(500)},
		{Path: "pre/a", ID: "a", Kind: runbook.KindAction, What: "check.a", StartedAt: at(0), EndedAt: at(200)},
		{Path: "pre/b", ID: "b", Kind: runbook.KindAction, What: "check.b", StartedAt: at(0), EndedAt: at(480)},
		{Path: "shift", ID: "shift", Kind: runbook.KindAction, What: "traffic.shift", StartedAt: at(600), EndedAt: at(1600)},
		{Path: "dns", ID: "dns", Kind: runbook.KindWaitUntil, What: "traffic.dns", StartedAt: at(1700), EndedAt: at(4000)},
		{Path: "done", ID: "done", Kind: runbook.KindNotify, StartedAt: at(4000), EndedAt: at(4100)},
	}
	for _, tc := range []struct {
		name               string
		calls              []timedCall
		wantPath, wantWait float64
		wantSteps          map[string][2]float64 // activity, wait seconds per top-level step
	}{
		{
			name: "the slowest branch counts, with its own waits; sequential steps add up",
			calls: []timedCall{
				call("check.a", 5, 200, 150),          // fast branch, mostly waiting: not on the path
				call("check.b", 5, 455, 100),          // slowest branch: 0.45 s of which 0.1 s waits
				call("traffic.shift", 610, 1590, 900), // the shift polls INSYNC
				call("traffic.dns", 1705, 1710, 0),    // first check (local)
				call(workflows.WaitUntilActivity, 1750, 3990, 2000),
			},
			wantPath: 0.45 + 0.98 + 0.005 + 2.24, wantWait: 0.1 + 0.9 + 2.0,
			wantSteps: map[string][2]float64{"pre": {0.45, 0.1}, "shift": {0.98, 0.9}, "dns": {2.245, 2.0}, "done": {0, 0}},
		},
		{
			name: "a call of another activity than the step's is not the step's; a retry adds up",
			calls: []timedCall{
				call("check.b", 0, 100, 0),
				call("check.b", 1100, 1300, 50), // retry: starts after shift started, but shift's activity differs
			},
			wantPath: 0.3, wantWait: 0.05,
			wantSteps: map[string][2]float64{"pre": {0.3, 0.05}, "shift": {0, 0}},
		},
		{name: "no calls", wantSteps: map[string][2]float64{"pre": {0, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, waits, out := criticalPath(steps, tc.calls)
			require.InDelta(t, tc.wantPath, path, 1e-9)
			require.InDelta(t, tc.wantWait, waits, 1e-9)
			require.Len(t, out, 4, "top-level steps only")
			for _, s := range out {
				if want, ok := tc.wantSteps[s.Path]; ok {
					require.InDelta(t, want[0], s.ActivitySeconds, 1e-9, s.Path)
					require.InDelta(t, want[1], s.WaitSeconds, 1e-9, s.Path)
				}
			}
		})
	}
}

func TestSummarizeFailoverTakesMediansAndTheRatiosOfThem(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		runs                  []failoverRun
		wall, path, lean, seq float64
		rPath, rLean, rSeq    float64
	}{
		{name: "odd count: the middle values, each figure on its own",
			runs: []failoverRun{{wall: 3, path: 2.5, waits: 1, sequential: 4}, {wall: 2, path: 2, waits: 0.5, sequential: 6}, {wall: 4, path: 3, waits: 2, sequential: 5}},
			wall: 3, path: 2.5, lean: 1.5, seq: 5, rPath: 3 / 2.5, rLean: 3 / 1.5, rSeq: 3.0 / 5},
		{name: "even count: the mean of the middle two",
			runs: []failoverRun{{wall: 2, path: 1, waits: 0.5, sequential: 2}, {wall: 4, path: 3, waits: 0.5, sequential: 6}},
			wall: 3, path: 2, lean: 1.5, seq: 4, rPath: 1.5, rLean: 2, rSeq: 0.75},
		{name: "a path of nothing but waits: no ratio, not +Inf",
			runs: []failoverRun{{wall: 2, path: 1, waits: 1, sequential: 0}},
			wall: 2, path: 1, lean: 0, seq: 0, rPath: 2, rLean: 0, rSeq: 0},
		{name: "no runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := summarizeFailover(tc.runs)
			require.Equal(t, len(tc.runs), r.Runs)
			require.InDelta(t, tc.wall, r.Seconds, 1e-9)
			require.InDelta(t, tc.path, r.CriticalPathSeconds, 1e-9)
			require.InDelta(t, tc.lean, r.CriticalPathWithoutWaitsSeconds, 1e-9)
			require.InDelta(t, tc.seq, r.SequentialSeconds, 1e-9)
			require.InDelta(t, tc.rPath, r.RatioCriticalPath, 1e-9)
			require.InDelta(t, tc.rLean, r.RatioCriticalPathWithoutWaits, 1e-9)
			require.InDelta(t, tc.rSeq, r.RatioVsSequential, 1e-9)
		})
	}
}

func TestBenchDataHardHasBurstsClusteredAndThinLossAndAMidnightRollover(t *testing.T) {
	o := benchBackfillOptions{docs: 100_000, missing: 400, duplicates: 100, span: 24 * time.Hour, seed: 7, distribution: distHard}
	d := newBenchData(o)
	perMS := map[time.Time]int{}
	indices := map[string]int{}
	for i := range o.docs {
		at := d.at(i)
		if i > 0 {
			require.False(t, at.Before(d.at(i-1)), "events are in time order (%d)", i)
		}
		require.Equal(t, at, at.Truncate(time.Millisecond))
		require.False(t, at.Before(d.start) || !at.Before(d.start.Add(o.span)), "event %d at %s outside the window", i, at)
		perMS[at]++
		indices[at.Format("2006.01.02")]++
	}
	for ms, n := range perMS {
		require.GreaterOrEqual(t, n, benchBurst, "a burst of %d events in %s", n, ms)
	}
	midnight := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	require.Equal(t, benchBurst, perMS[midnight.Add(-time.Millisecond)], "a burst in the day's last millisecond")
	require.Equal(t, benchBurst, perMS[midnight], "a burst in the next day's first millisecond")
	require.Len(t, indices, 2, "the daily index rolls over")

	require.Len(t, d.missing, o.missing)
	require.Len(t, d.duplicated, o.duplicates)
	perMinute := map[time.Time]int{}
	for i := range d.missing {
		require.False(t, d.duplicated[i])
		perMinute[d.at(i).Truncate(time.Minute)]++
	}
	most := 0
	for _, n := range perMinute {
		most = max(most, n)
	}
	require.Equal(t, o.missing/2, most, "half the loss in one minute")
	require.Greater(t, len(perMinute), o.missing/4, "the rest spread thin over the day")

	// Same options, same data: the twins and the scorer agree on the truth.
	require.Equal(t, d.missing, newBenchData(o).missing)
	require.Equal(t, d.duplicated, newBenchData(o).duplicated)

	u := newBenchData(benchBackfillOptions{docs: 1000, missing: 10, duplicates: 5, span: time.Hour, seed: 1, distribution: distUniform})
	require.Equal(t, u.start.Add(time.Hour/1000*999), u.at(999))
	require.Len(t, u.missing, 10)
}

func TestScoreBackfillChecksTotalsAndEverySampledIDAgainstTheTruth(t *testing.T) {
	truth := backfillTruth{missing: map[string]bool{"m1": true, "m2": true, "m3": true}, duplicated: map[string]bool{"d1": true, "d2": true}}
	ids := func(xs ...string) backfill.IDList {
		l := backfill.IDList{Total: int64(len(xs))}
		for _, x := range xs {
			l.Sample = append(l.Sample, backfill.IDSample{ID: x})
		}
		return l
	}
	dups := func(copies int64, xs ...backfill.IDCount) backfill.DupList {
		return backfill.DupList{IDs: int64(len(xs)), ExtraCopies: copies, Sample: xs}
	}
	exact := backfill.Report{Missing: ids("m1", "m2", "m3"), TargetDuplicates: dups(2, backfill.IDCount{ID: "d1", Count: 2}, backfill.IDCount{ID: "d2", Count: 2})}
	for _, tc := range []struct {
		name   string
		mutate func(r *backfill.Report)
		want   backfillScore
	}{
		{name: "the truth", mutate: func(*backfill.Report) {},
			want: backfillScore{FoundMissing: 3, MissingSampleComplete: true, FoundDuplicates: 2, DuplicateCopies: 2, Exact: true}},
		{name: "a false positive in place of a true one", mutate: func(r *backfill.Report) { r.Missing = ids("m1", "m2", "x9") },
			want: backfillScore{FoundMissing: 3, MissingFalse: 1, MissingUnfound: 1, MissingSampleComplete: true, FoundDuplicates: 2, DuplicateCopies: 2}},
		{name: "a short total", mutate: func(r *backfill.Report) { r.Missing = ids("m1", "m2") },
			want: backfillScore{FoundMissing: 2, MissingUnfound: 1, MissingSampleComplete: true, FoundDuplicates: 2, DuplicateCopies: 2}},
		{name: "a sample smaller than the total: the total is judged, unfound from the shortfall",
			mutate: func(r *backfill.Report) {
				r.Missing = backfill.IDList{Total: 3, Sample: []backfill.IDSample{{ID: "m1"}}}
			},
			want: backfillScore{FoundMissing: 3, FoundDuplicates: 2, DuplicateCopies: 2, Exact: true}},
		{name: "extra ids are false positives: the data has none", mutate: func(r *backfill.Report) { r.Extra = ids("e1") },
			want: backfillScore{FoundMissing: 3, MissingSampleComplete: true, Extra: 1, FoundDuplicates: 2, DuplicateCopies: 2}},
		{name: "a duplicate missed", mutate: func(r *backfill.Report) { r.TargetDuplicates = dups(1, backfill.IDCount{ID: "d1", Count: 2}) },
			want: backfillScore{FoundMissing: 3, MissingSampleComplete: true, FoundDuplicates: 1, DuplicateCopies: 1, DuplicatesMissed: 1}},
		{name: "a duplicate counted three times, and one that is not a duplicate",
			mutate: func(r *backfill.Report) {
				r.TargetDuplicates = dups(3, backfill.IDCount{ID: "d1", Count: 3}, backfill.IDCount{ID: "m9", Count: 2})
			},
			want: backfillScore{FoundMissing: 3, MissingSampleComplete: true, FoundDuplicates: 2, DuplicateCopies: 3, DuplicatesFalse: 2, DuplicatesMissed: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exact
			tc.mutate(&r)
			require.Equal(t, tc.want, scoreBackfill(truth, &r))
		})
	}
}

func TestStormEventsFlapManyAlarmsOfSeveralEnvironmentsWithInterleavedCopies(t *testing.T) {
	end := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	spec := stormSpec{events: 2001, environments: []string{"storm-1", "storm-2", "storm-3"}, quietAlarms: 10,
		regions: []string{"us-east-1", "us-west-2"}, seed: 1, at: end}
	events := stormEvents(spec)
	require.Len(t, events, spec.events)
	sum := summarizeStorm(events)
	require.Equal(t, 1001, sum.changes, "every change twice, but the last (odd count)")
	require.Equal(t, len(spec.environments)*(4+spec.quietAlarms), sum.alarms, "every alarm changes")
	queues := map[string]map[string]bool{}
	bodies := map[string]bool{}
	byAlarm := map[string][]stormEvent{}
	for _, e := range events {
		k := e.alarm + "|" + e.state + "|" + e.at.Format(time.RFC3339Nano)
		if queues[k] == nil {
			queues[k] = map[string]bool{}
		}
		require.False(t, queues[k][e.queue], "a change twice in one queue")
		queues[k][e.queue] = true
		bodies[e.body] = true
		require.True(t, strings.HasPrefix(e.alarm, e.env+"-"))
		require.False(t, e.at.After(end))
		if e.copy == 0 {
			byAlarm[e.alarm] = append(byAlarm[e.alarm], e)
		}
	}
	require.Len(t, bodies, sum.changes, "no two changes alike")
	for alarm, es := range byAlarm {
		for i, e := range es {
			want := "ALARM"
			if i%2 == 1 {
				want = "OK"
			}
			require.Equal(t, want, e.state, "%s flaps OK -> ALARM -> OK from its first change", alarm)
			if i > 0 {
				require.True(t, e.at.After(es[i-1].at))
			}
		}
	}
	for _, env := range spec.environments {
		first := byAlarm[env+"-us-east-1-pipeline-not-ingesting"]
		require.NotEmpty(t, first)
		require.Equal(t, "ALARM", first[0].state)
	}
	// The copies of a change are interleaved with other changes, not back to back.
	apart := 0
	for i := 1; i < len(events); i++ {
		if events[i].copy == 1 && events[i-1].body != events[i].body {
			apart++
		}
	}
	require.Greater(t, apart, sum.changes/2)
	require.Equal(t, events, stormEvents(spec), "deterministic")

	one := stormEvents(stormSpec{events: 10, environments: []string{"e"}, regions: []string{"us-east-1"}, seed: 2, at: end})
	require.Equal(t, 10, summarizeStorm(one).changes, "one queue: no copies")
}

func TestStormRunsAsExpectedWantsOneRunPerEnvironment(t *testing.T) {
	envs := []string{"a", "b"}
	require.True(t, stormRunsAsExpected(map[string]int64{"a": 1, "b": 1}, envs))
	require.False(t, stormRunsAsExpected(map[string]int64{"a": 1, "b": 2}, envs))
	require.False(t, stormRunsAsExpected(map[string]int64{"a": 1, "b": 0}, envs))
	require.False(t, stormRunsAsExpected(map[string]int64{"a": 2}, envs))
}

func TestSummarizeScale(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	at := func(ms int) *time.Time { x := t0.Add(time.Duration(ms) * time.Millisecond); return &x }
	run := func(marks ...int) *workflows.Result {
		r := &workflows.Result{}
		for i := 0; i+1 < len(marks); i += 2 {
			r.Steps = append(r.Steps, workflows.StepState{ID: "s", Path: "s", StartedAt: at(marks[i]), EndedAt: at(marks[i+1])})
		}
		return r
	}
	results := []*workflows.Result{run(0, 10, 12, 22), run(5, 105, 110, 130), nil, run(0, 30, 40, 50)}
	errs := []error{nil, nil, errors.New("run x: timed out"), nil}
	e2e := []time.Duration{time.Second, 3 * time.Second, 0, 2 * time.Second}
	r := summarizeScale(results, errs, e2e, 2, 2*time.Second)
	require.Equal(t, 4, r.Runs)
	require.Equal(t, 3, r.Completed)
	require.Equal(t, 1, r.Failed)
	require.Equal(t, "run x: timed out", r.FirstError)
	require.InDelta(t, 1.5, r.RunsPerSecond, 1e-9)
	require.InDelta(t, 3.0, r.StepsPerSecond, 1e-9)
	// Step latencies 10, 10, 100, 20, 30, 10 ms: nearest rank.
	require.InDelta(t, 10, r.StepP50MS, 1e-9)
	require.InDelta(t, 100, r.StepP99MS, 1e-9)
	require.InDelta(t, 100, r.StepMaxMS, 1e-9)
	// Runs 0.022, 0.125, 0.050 s.
	require.InDelta(t, 0.050, r.RunP50Seconds, 1e-9)
	require.InDelta(t, 0.125, r.RunP99Seconds, 1e-9)

	// Start to result of the completed runs only: 1, 2, 3 s.
	require.InDelta(t, 2, r.EndToEndP50Seconds, 1e-9)
	require.InDelta(t, 3, r.EndToEndP99Seconds, 1e-9)

	none := summarizeScale(nil, nil, nil, 20, 0)
	require.Zero(t, none.RunsPerSecond)
	require.Zero(t, none.StepP99MS)
}

func TestScaleRunbooksValidate(t *testing.T) {
	dir, err := writeScaleRunbooks("../runbooks", 20, false)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, err)
	var stderr strings.Builder
	require.NoError(t, runValidate(context.Background(), []string{dir}, cmdIO{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}), stderr.String())
	env, err := os.ReadFile(dir + "/environments/lab.yaml")
	require.NoError(t, err)
	require.NotContains(t, string(env), "slack", "no Slack posts: the bench measures the engine")
}
