//go:build !nodev

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// benchFailoverOptions are the flags of `starter bench failover`.
type benchFailoverOptions struct {
	outputOptions
	runbooksOptions
	latency time.Duration
	runs    int
	rate    float64
}

// BenchFailoverResult is what `starter bench failover --json` prints. Figures are medians over
// the runs.
type BenchFailoverResult struct {
	LatencyMS int `json:"control_plane_latency_ms"`
	Runs      int `json:"runs"`
	// Seconds is the failover's wall time, from the start request to the result.
	Seconds float64 `json:"seconds"`
	// CriticalPathSeconds is the time the run's critical path spent inside activities, that is in
	// calls to the systems and waits for them: parallel steps count their slowest branch,
	// sequential steps add up, and everything else (scheduling, workflow tasks, history, the
	// approval granted by policy, notifications) counts as zero.
	CriticalPathSeconds float64 `json:"critical_path_seconds"`
	// CriticalPathWithoutWaitsSeconds is that critical path less the pauses activities take on
	// purpose (between a long poll's reads, between a wait_until's checks; activities.pause): the
	// time spent calling the systems. A wall time close to CriticalPathSeconds only says the
	// engine adds little to the activities; this one says how much of the run is waiting.
	CriticalPathWithoutWaitsSeconds float64 `json:"critical_path_without_waits_seconds"`
	// SequentialSeconds is the seed sample's procedure done call after call on the same lab:
	// its checks, the traffic move it lacks, and the write check, polling at the cadence the
	// workflow's activities poll at (activities.FirstPollPause, NextPollPause), so the comparison
	// is of the calls and their concurrency, not of polling cadences.
	SequentialSeconds float64 `json:"sequential_seconds"`
	// RatioCriticalPath is wall / critical path; RatioCriticalPathWithoutWaits wall / critical path
	// without the intentional waits; RatioVsSequential wall / sequential.
	RatioCriticalPath             float64 `json:"ratio_critical_path"`
	RatioCriticalPathWithoutWaits float64 `json:"ratio_critical_path_without_waits"`
	RatioVsSequential             float64 `json:"ratio_vs_sequential"`
	// Steps breaks down the last run: wall time and time in activities per top-level step.
	Steps []BenchStep `json:"steps"`
	// StartSeconds is the last run's time from the start request to its first step (starting
	// the workflow, loading and validating the runbook); EndSeconds from its last step to the
	// result reaching the client (summary, completion).
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
}

// BenchStep is one top-level step of the measured failover.
type BenchStep struct {
	Path            string  `json:"path"`
	Seconds         float64 `json:"seconds"`
	ActivitySeconds float64 `json:"activity_seconds"`
	// WaitSeconds is the part of ActivitySeconds the activities spent in intentional pauses.
	WaitSeconds float64 `json:"wait_seconds"`
}

func runBenchFailover(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench failover", cio)
	var o benchFailoverOptions
	o.outputOptions.register(fs, "print the figures as JSON")
	o.runbooksOptions.register(fs, cio, "runbook folder")
	fs.DurationVar(&o.latency, "latency", 50*time.Millisecond, "fixed latency the lab adds to every control-plane call")
	fs.IntVar(&o.runs, "runs", 5, "failovers to measure (the median is reported)")
	fs.Float64Var(&o.rate, "rate", 200, "events per second of the lab's producers")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.runs < 1 {
		return fmt.Errorf("bench failover: --runs must be at least 1")
	}
	res, err := benchFailover(ctx, o, cio.stderr)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	fmt.Fprintf(cio.stdout, "failover with %d ms per control-plane call, median of %d runs:\n", res.LatencyMS, res.Runs)
	fmt.Fprintf(cio.stdout, "  wall %.3fs, critical path in activities %.3fs: ratio %.3f (goal <= 1.10)\n", res.Seconds, res.CriticalPathSeconds, res.RatioCriticalPath)
	fmt.Fprintf(cio.stdout, "  critical path without the activities' intentional waits %.3fs: ratio %.3f\n", res.CriticalPathWithoutWaitsSeconds, res.RatioCriticalPathWithoutWaits)
	fmt.Fprintf(cio.stdout, "  sequential seed procedure %.3fs: ratio %.3f (goal <= 0.5)\n", res.SequentialSeconds, res.RatioVsSequential)
	fmt.Fprintf(cio.stdout, "  before the first step %.3fs, after the last step %.3fs\n", res.StartSeconds, res.EndSeconds)
	for _, s := range res.Steps {
		fmt.Fprintf(cio.stdout, "  %-18s %.3fs (in activities %.3fs, of which waiting %.3fs)\n", s.Path, s.Seconds, s.ActivitySeconds, s.WaitSeconds)
	}
	return nil
}

func benchFailover(ctx context.Context, o benchFailoverOptions, logw io.Writer) (*BenchFailoverResult, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	timer := &activityTimer{}
	p, err := startPrivateLab(ctx, lab.Options{ProducerRate: o.rate, WithEventIDs: true, TestID: "bench", Route53ChangeDelay: -1},
		o.runbooks, []interceptor.WorkerInterceptor{timer}, quiet)
	if err != nil {
		return nil, err
	}
	defer p.close()
	l, env := p.lab, p.dev
	_, secondary := l.Regions()
	if o.latency > 0 {
		if _, err := l.Inject(ctx, lab.Fault{Kind: lab.FaultLatency, Delay: lab.Duration(o.latency)}); err != nil {
			return nil, err
		}
	}
	factory := awsclients.New(awsclients.Options{Logger: quiet})
	labEnv := l.Environment()

	var runs []failoverRun
	var last []BenchStep
	var startS, endS float64
	for i := 0; i < o.runs; i++ {
		if err := resetTraffic(ctx, l, factory, labEnv); err != nil {
			return nil, err
		}
		in := workflows.RunInput{Runbook: "failover", Environment: "lab", RequestedBy: "bench",
			Params: map[string]any{"target": secondary, "auto_approve": true, "verify_window": "30s"}, Trigger: workflows.Trigger{Kind: "bench"}}
		id := workflows.OperationID("lab")
		start := time.Now()
		run, err := env.client.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
		if err != nil {
			return nil, err
		}
		var res workflows.Result
		if err := run.Get(ctx, &res); err != nil {
			return nil, fmt.Errorf("failover run %d: %w", i+1, err)
		}
		end := time.Now()
		wall := end.Sub(start).Seconds()
		path, waits, steps := criticalPath(res.Steps, timer.of(run.GetRunID()))
		startS, endS = firstLast(res.Steps, start, end)
		last = steps
		fmt.Fprintf(logw, "run %d: failover %.3fs, critical path %.3fs (%.3fs of it intentional waits)\n", i+1, wall, path, waits)
		seq, err := sequentialSeedFailover(ctx, factory, labEnv, l, secondary)
		if err != nil {
			return nil, fmt.Errorf("sequential baseline: %w", err)
		}
		runs = append(runs, failoverRun{wall: wall, path: path, waits: waits, sequential: seq})
		fmt.Fprintf(logw, "run %d: sequential %.3fs\n", i+1, seq)
	}
	r := summarizeFailover(runs)
	r.LatencyMS, r.Steps, r.StartSeconds, r.EndSeconds = int(o.latency.Milliseconds()), last, startS, endS
	return r, nil
}

// failoverRun is one measured failover: its wall time, its critical path in activities, the
// intentional waits on that path, and the sequential procedure's time measured after it.
type failoverRun struct {
	wall, path, waits, sequential float64
}

// summarizeFailover takes the median of each figure over the runs and the ratios of the medians.
// A ratio whose denominator is 0 is reported as 0 (no figure), never as +Inf, which JSON cannot
// carry.
func summarizeFailover(runs []failoverRun) *BenchFailoverResult {
	var walls, paths, lean, seqs []float64
	for _, r := range runs {
		walls, paths, lean, seqs = append(walls, r.wall), append(paths, r.path), append(lean, r.path-r.waits), append(seqs, r.sequential)
	}
	res := &BenchFailoverResult{Runs: len(runs)}
	if len(runs) == 0 {
		return res
	}
	res.Seconds, res.CriticalPathSeconds, res.CriticalPathWithoutWaitsSeconds, res.SequentialSeconds = median(walls), median(paths), median(lean), median(seqs)
	res.RatioCriticalPath = ratio(res.Seconds, res.CriticalPathSeconds)
	res.RatioCriticalPathWithoutWaits = ratio(res.Seconds, res.CriticalPathWithoutWaitsSeconds)
	res.RatioVsSequential = ratio(res.Seconds, res.SequentialSeconds)
	return res
}

// ratio is a / b, or 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// criticalPath adds up the time the run's top-level steps spent in activities: a parallel step
// counts its slowest branch, any other step the activities it ran. Each call belongs to the step
// of its activity that started last before it: step times are workflow time, which trails the
// worker's clock by the task's dispatch (a local activity ends after its step's recorded end).
// It returns the path, the intentional waits on it (those of the branch a parallel step counts),
// and the top-level steps.
func criticalPath(steps []workflows.StepState, calls []timedCall) (float64, float64, []BenchStep) {
	const skew = 20 * time.Millisecond
	owned := map[string]float64{}
	waited := map[string]float64{}
	for _, c := range calls {
		var owner *workflows.StepState
		for i, st := range steps {
			if st.StartedAt == nil || st.StartedAt.After(c.start.Add(skew)) || (c.name != st.What && c.name != workflows.WaitUntilActivity) {
				continue
			}
			if owner == nil || st.StartedAt.After(*owner.StartedAt) {
				owner = &steps[i]
			}
		}
		if owner != nil {
			owned[owner.Path] += c.end.Sub(c.start).Seconds()
			waited[owner.Path] += c.waited.Seconds()
		}
	}
	var total, waits float64
	var out []BenchStep
	for _, st := range steps {
		if st.Path != st.ID { // nested: counted through its parent
			continue
		}
		in, wait := owned[st.Path], waited[st.Path]
		if st.Kind == runbook.KindParallel {
			in, wait = 0, 0
			for _, b := range steps {
				if len(b.Path) > len(st.Path) && b.Path[:len(st.Path)+1] == st.Path+"/" && owned[b.Path] > in {
					in, wait = owned[b.Path], waited[b.Path]
				}
			}
		}
		total, waits = total+in, waits+wait
		var wall float64
		if st.StartedAt != nil && st.EndedAt != nil {
			wall = st.EndedAt.Sub(*st.StartedAt).Seconds()
		}
		out = append(out, BenchStep{Path: st.Path, Seconds: wall, ActivitySeconds: in, WaitSeconds: wait})
	}
	return total, waits, out
}

// firstLast measures the time before the first step started and after the last step ended.
func firstLast(steps []workflows.StepState, start, end time.Time) (float64, float64) {
	var first, last time.Time
	for _, st := range steps {
		if st.StartedAt != nil && (first.IsZero() || st.StartedAt.Before(first)) {
			first = *st.StartedAt
		}
		if st.EndedAt != nil && st.EndedAt.After(last) {
			last = *st.EndedAt
		}
	}
	if first.IsZero() {
		return 0, 0
	}
	return first.Sub(start).Seconds(), end.Sub(last).Seconds()
}

// sequentialSeedFailover is the seed sample's failover procedure (docs/disaster-recovery-testing.md,
// scripts/dr-test.sh) done one call after another, as its script does: the baseline checks of
// both collections and the replication latency, the validation of the secondary (pipeline,
// collection, replicators, alarms), then the traffic move the sample lacks (Route 53 weights,
// GetChange until INSYNC) and a write check (count until it grows). Its fixed multi-minute sleeps
// are left out and its one-second polling is replaced by the workflow's own cadence — the pauses
// of activities' long polls (activities.FirstPollPause, NextPollPause) at the intervals the
// failover's steps poll at — so the comparison is of the calls and their concurrency, not of
// the waits.
func sequentialSeedFailover(ctx context.Context, f *awsclients.Factory, env *runbook.Environment, l *lab.Lab, target string) (float64, error) {
	start := time.Now()
	source := env.Peer(target)
	rc := func(r string) awsclients.Region { return awsclients.FromEnvironment(r, env.Regions[r]) }
	for _, r := range []string{source, target} {
		aoss, err := f.OpenSearchServerless(ctx, rc(r))
		if err != nil {
			return 0, err
		}
		if _, err := aoss.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{env.Regions[r].OpenSearch.Collection}}); err != nil {
			return 0, err
		}
	}
	cw, err := f.CloudWatch(ctx, rc(target))
	if err != nil {
		return 0, err
	}
	now := time.Now()
	if _, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("lat"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"),
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String("ReplicationLatency")}}}}}); err != nil {
		return 0, err
	}
	pipes, err := f.OSIS(ctx, rc(target))
	if err != nil {
		return 0, err
	}
	if _, err := pipes.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(env.Regions[target].Pipeline)}); err != nil {
		return 0, err
	}
	aoss, err := f.OpenSearchServerless(ctx, rc(target))
	if err != nil {
		return 0, err
	}
	if _, err := aoss.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{env.Regions[target].OpenSearch.Collection}}); err != nil {
		return 0, err
	}
	k, err := f.Kafka(ctx, rc(target))
	if err != nil {
		return 0, err
	}
	if _, err := k.ListReplicators(ctx, &kafka.ListReplicatorsInput{}); err != nil {
		return 0, err
	}
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm}); err != nil {
		return 0, err
	}
	r53, err := f.Route53(ctx, rc(target))
	if err != nil {
		return 0, err
	}
	change, err := upsertWeights(ctx, r53, env, map[string]int64{target: 100, source: 0})
	if err != nil {
		return 0, err
	}
	// traffic.shift's wait for INSYNC polls at the worker's default interval.
	wait := activities.FirstPollPause(activities.DefaultPollInterval)
	for change != "" {
		out, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(change)})
		if err != nil {
			return 0, err
		}
		if out.ChangeInfo.Status == r53types.ChangeStatusInsync {
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return 0, err
		}
		wait = activities.NextPollPause(wait, activities.DefaultPollInterval)
	}
	// opensearch.ingesting polls at the verify_writes step's interval.
	wait = activities.FirstPollPause(seedVerifyInterval)
	before := l.Collection(target).DocCount(lab.IndexPattern)
	for l.Collection(target).DocCount(lab.IndexPattern) <= before {
		if err := sleepCtx(ctx, wait); err != nil {
			return 0, err
		}
		wait = activities.NextPollPause(wait, seedVerifyInterval)
	}
	return time.Since(start).Seconds(), nil
}

// seedVerifyInterval is the interval of runbooks/failover.yaml's verify_writes step
// (opensearch.ingesting), the write check the sequential procedure's count loop stands for.
const seedVerifyInterval = time.Second

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// setWeights puts the lab's weighted records to w through Route 53, as an operator would.
func setWeights(ctx context.Context, f *awsclients.Factory, env *runbook.Environment, w map[string]int64) error {
	r53, err := f.Route53(ctx, awsclients.FromEnvironment(env.Primary, env.Regions[env.Primary]))
	if err != nil {
		return err
	}
	_, err = upsertWeights(ctx, r53, env, w)
	return err
}

// upsertWeights sets the weights of the environment's weighted records as an operator does with
// the CLI: it reads the record sets and upserts each with only its weight changed, so a record
// keeps its health check (the ARC lever's routing controls act through it; an upsert without
// it would leave the record always healthy, and traffic where it was).
func upsertWeights(ctx context.Context, r53 *route53.Client, env *runbook.Environment, w map[string]int64) (string, error) {
	t := env.Traffic
	out, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(t.HostedZoneID),
		StartRecordName: aws.String(t.RecordName), StartRecordType: r53types.RRType(t.RecordType)})
	if err != nil {
		return "", err
	}
	current := map[string]r53types.ResourceRecordSet{}
	for _, rs := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(rs.Name), ".") == strings.TrimSuffix(t.RecordName, ".") && string(rs.Type) == t.RecordType && rs.SetIdentifier != nil {
			current[*rs.SetIdentifier] = rs
		}
	}
	var changes []r53types.Change
	regions := make([]string, 0, len(w))
	for r := range w {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		rs, ok := current[t.SetIdentifiers[r]]
		if !ok {
			rs = r53types.ResourceRecordSet{Name: aws.String(t.RecordName), Type: r53types.RRType(t.RecordType), SetIdentifier: aws.String(t.SetIdentifiers[r]),
				TTL: aws.Int64(t.TTL), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(t.Values[r])}}}
		}
		rs.Weight = aws.Int64(w[r])
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rs})
	}
	res, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(t.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: changes}})
	if err != nil {
		return "", err
	}
	return aws.ToString(res.ChangeInfo.Id), nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// activityTimer is a worker interceptor that times every activity, local or not, by run.
type activityTimer struct {
	interceptor.WorkerInterceptorBase
	mu    sync.Mutex
	calls map[string][]timedCall
}

type timedCall struct {
	name       string
	start, end time.Time
	// waited is the time the activity spent in intentional pauses (activities.WithWaitObserver).
	waited time.Duration
}

func (t *activityTimer) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &timedActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, t: t}
}

func (t *activityTimer) of(runID string) []timedCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]timedCall(nil), t.calls[runID]...)
}

type timedActivity struct {
	interceptor.ActivityInboundInterceptorBase
	t *activityTimer
}

func (a *timedActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	var waited atomic.Int64
	ctx = activities.WithWaitObserver(ctx, func(d time.Duration) { waited.Add(int64(d)) })
	out, err := a.Next.ExecuteActivity(ctx, in)
	info := activity.GetInfo(ctx)
	a.t.mu.Lock()
	if a.t.calls == nil {
		a.t.calls = map[string][]timedCall{}
	}
	run := info.WorkflowExecution.RunID
	a.t.calls[run] = append(a.t.calls[run], timedCall{name: info.ActivityType.Name, start: start, end: time.Now(), waited: time.Duration(waited.Load())})
	a.t.mu.Unlock()
	return out, err
}
