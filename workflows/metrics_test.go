package workflows_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/workflows"
)

// metricsRecorder is a client.MetricsHandler that keeps every recording with its tags.
type metricsRecorder struct {
	mu      *sync.Mutex
	tags    map[string]string
	counts  map[string]int64           // name + tags -> sum
	timings map[string][]time.Duration // name + tags -> recordings
}

func newMetricsRecorder() *metricsRecorder {
	return &metricsRecorder{mu: &sync.Mutex{}, tags: map[string]string{}, counts: map[string]int64{}, timings: map[string][]time.Duration{}}
}

func (m *metricsRecorder) WithTags(tags map[string]string) client.MetricsHandler {
	merged := map[string]string{}
	for k, v := range m.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &metricsRecorder{mu: m.mu, tags: merged, counts: m.counts, timings: m.timings}
}

// key is name{k=v,...} over the tags that are not the SDK's own.
func (m *metricsRecorder) key(name string) string {
	var kv []string
	for k, v := range m.tags {
		switch k {
		case "namespace", "task_queue", "workflow_type", "activity_type":
			continue
		}
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return name + "{" + strings.Join(kv, ",") + "}"
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

func (m *metricsRecorder) Counter(name string) client.MetricsCounter {
	k := m.key(name)
	return counterFunc(func(d int64) { m.mu.Lock(); defer m.mu.Unlock(); m.counts[k] += d })
}

func (m *metricsRecorder) Gauge(string) client.MetricsGauge { return gaugeFunc(func(float64) {}) }

func (m *metricsRecorder) Timer(name string) client.MetricsTimer {
	k := m.key(name)
	return timerFunc(func(d time.Duration) { m.mu.Lock(); defer m.mu.Unlock(); m.timings[k] = append(m.timings[k], d) })
}

// timingKeys returns the timer keys recorded under name, sorted.
func (m *metricsRecorder) timingKeys(name string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.timings {
		if strings.HasPrefix(k, name+"{") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestMetricsOfARunWithApprovals(t *testing.T) {
	rec := newMetricsRecorder()
	f := newFixtureWith(t, map[string]string{"appr": approvalBook("1", "abort")}, func(f *fixture) { f.SetMetricsHandler(rec) })
	// gate is approved 5 minutes (of workflow time) after it asks; cooldown times out after 1 h.
	f.update("u1", workflows.Decision{Step: "gate", Approve: true, By: "bob"}, 5*time.Minute)
	res, err := f.run(t, workflows.RunInput{Runbook: "appr", RequestedBy: "alice"})
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome)

	run := "{environment=test,mode=execute,outcome=succeeded,runbook=appr}"
	require.Equal(t, map[string]int64{workflows.MetricRunbookRuns + run: 1}, onlySwitchyard(rec.counts))
	require.Len(t, rec.timings[workflows.MetricRunbookRunDuration+run], 1)
	require.Equal(t, res.EndedAt.Sub(res.StartedAt), rec.timings[workflows.MetricRunbookRunDuration+run][0],
		"the run duration is the one the run reports")

	// One step recording per step, by kind and status.
	require.Equal(t, []string{
		workflows.MetricStepDuration + "{kind=action,runbook=appr,status=succeeded}",
		workflows.MetricStepDuration + "{kind=approval,runbook=appr,status=succeeded}",
	}, rec.timingKeys(workflows.MetricStepDuration))
	require.Len(t, rec.timings[workflows.MetricStepDuration+"{kind=approval,runbook=appr,status=succeeded}"], 2)
	require.Len(t, rec.timings[workflows.MetricStepDuration+"{kind=action,runbook=appr,status=succeeded}"], 1)

	// Approval latency: from the ask to the decision, in workflow time.
	approved := rec.timings[workflows.MetricApprovalLatency+"{decision=approved,runbook=appr,step=gate}"]
	require.Len(t, approved, 1)
	require.GreaterOrEqual(t, approved[0], 5*time.Minute)
	require.Less(t, approved[0], 6*time.Minute)
	timedOut := rec.timings[workflows.MetricApprovalLatency+"{decision=expired,runbook=appr,step=cooldown}"]
	require.Equal(t, []time.Duration{time.Hour}, timedOut, "a timeout is decided exactly at the step's timeout")
	require.Len(t, rec.timingKeys(workflows.MetricApprovalLatency), 2)
}

func TestMetricsOfAFailedRun(t *testing.T) {
	rec := newMetricsRecorder()
	f := newFixtureWith(t, map[string]string{"par": parallelRunbook}, func(f *fixture) { f.SetMetricsHandler(rec) })
	_, err := f.run(t, workflows.RunInput{Runbook: "par", Params: map[string]any{"n": 1}})
	require.Error(t, err)
	require.Equal(t, map[string]int64{
		workflows.MetricRunbookRuns + "{environment=test,mode=execute,outcome=failed,runbook=par}": 1,
	}, onlySwitchyard(rec.counts))
	// checks/a and checks/b failed, checks/c succeeded, the parallel step failed; after never ran.
	require.Len(t, rec.timings[workflows.MetricStepDuration+"{kind=check,runbook=par,status=failed}"], 2)
	require.Len(t, rec.timings[workflows.MetricStepDuration+"{kind=action,runbook=par,status=succeeded}"], 1)
	require.Len(t, rec.timings[workflows.MetricStepDuration+"{kind=parallel,runbook=par,status=failed}"], 1)
	require.Len(t, rec.timingKeys(workflows.MetricStepDuration), 3)
}

func onlySwitchyard(counts map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range counts {
		if strings.HasPrefix(k, "switchyard_") {
			out[k] = v
		}
	}
	return out
}
