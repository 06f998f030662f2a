//go:build !nodev

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
	"github.com/switchyard-dr/switchyard/workflows"
)

// benchRTOOptions are the flags of `starter bench rto`.
type benchRTOOptions struct {
	outputOptions
	runbooksOptions
	profile string
	runs    int
	levers  string
	rate    float64
	timeout time.Duration
}

// BenchRTOResult is what `starter bench rto --json` prints.
type BenchRTOResult struct {
	// Profile is the latency profile the lab ran with (internal/lab/profile.go).
	Profile BenchRTOProfile `json:"profile"`
	// AttachedLab is true when the bench ran on a lab it did not start (the starter tests'):
	// the profile's TTL and ARC latency applied, its start-time delays are that lab's own.
	AttachedLab bool `json:"attached_lab,omitempty"`
	Runs        int  `json:"runs"`
	// GoalSeconds is issue 14's goal for arc_routing_control: RTO from the alarm <= TTL + 15 s.
	GoalSeconds float64         `json:"goal_seconds"`
	Levers      []BenchRTOLever `json:"levers"`
}

// BenchRTOProfile is a lab.Profile in seconds.
type BenchRTOProfile struct {
	Name                      string  `json:"name"`
	Route53ChangeDelaySeconds float64 `json:"route53_change_delay_seconds"`
	DNSTTLSeconds             float64 `json:"dns_ttl_seconds"`
	ARCUpdateLatencySeconds   float64 `json:"arc_update_latency_seconds"`
	PipelineStartDelaySeconds float64 `json:"pipeline_start_delay_seconds"`
	PipelineStopDelaySeconds  float64 `json:"pipeline_stop_delay_seconds"`
	MetricsIntervalSeconds    float64 `json:"metrics_interval_seconds"`
	AlarmWindowSeconds        float64 `json:"alarm_window_seconds"`
	TakesTrafficPeriodSeconds float64 `json:"takes_traffic_period_seconds"`
}

func profileSeconds(p lab.Profile) BenchRTOProfile {
	return BenchRTOProfile{Name: p.Name, Route53ChangeDelaySeconds: p.Route53ChangeDelay.Seconds(), DNSTTLSeconds: p.DNSTTL.Seconds(),
		ARCUpdateLatencySeconds: p.ARCUpdateLatency.Seconds(), PipelineStartDelaySeconds: p.PipelineStartDelay.Seconds(),
		PipelineStopDelaySeconds: p.PipelineStopDelay.Seconds(), MetricsIntervalSeconds: p.MetricsInterval.Seconds(),
		AlarmWindowSeconds: p.AlarmWindow.Seconds(), TakesTrafficPeriodSeconds: p.TakesTrafficPeriod.Seconds()}
}

// BenchRTOLever is one lever's figures. Phases and the totals are those of the median run (by
// TotalSeconds, the lower of the two middle runs for an even count), so that its phases add up
// to its total; PhaseMedians are each phase's own median over the runs.
type BenchRTOLever struct {
	Lever string `json:"lever"`
	// Skipped says why the lever was not measured; Error why its measurement failed.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	RTOPhases
	TotalSeconds     float64 `json:"total_seconds"`
	FromAlarmSeconds float64 `json:"from_alarm_seconds"`
	// ReportRTOSeconds is the run report's own RTO (the alarm to the step marked
	// traffic_verified), which does not wait for the last client to move.
	ReportRTOSeconds float64 `json:"report_rto_seconds"`
	// FromAlarmBoundSeconds is the from-alarm RTO had the last client refreshed its answer just
	// before the lever applied: decision + lever + TTL + verification. The lab's clients all
	// resolved when it started and refresh in step, and its alarms fire on its own monitor clock,
	// so the measured propagation depends on the phase between the two, not on chance as on a
	// fleet whose caches are spread: the bound is what a fleet can wait for its last client.
	FromAlarmBoundSeconds float64 `json:"from_alarm_bound_seconds"`
	// GoalMet compares FromAlarmBoundSeconds with the goal (TTL + 15 s); GoalMetMeasured
	// compares FromAlarmSeconds.
	GoalMet         bool          `json:"goal_met"`
	GoalMetMeasured bool          `json:"goal_met_measured"`
	PhaseMedians    *RTOPhases    `json:"phase_medians,omitempty"`
	RunDetails      []BenchRTORun `json:"run_details,omitempty"`
}

// BenchRTORun is one measured failover.
type BenchRTORun struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Alarm      string `json:"alarm"`
	RTOPhases
	TotalSeconds     float64 `json:"total_seconds"`
	FromAlarmSeconds float64 `json:"from_alarm_seconds"`
	ReportRTOSeconds float64 `json:"report_rto_seconds"`
	// FromAlarmBoundSeconds: see BenchRTOLever.
	FromAlarmBoundSeconds float64  `json:"from_alarm_bound_seconds"`
	Marks                 RTOMarks `json:"marks"`
}

// RTOPhases split an RTO, in seconds.
type RTOPhases struct {
	// Detection: the fault to the alarm's state change (CloudWatch's evaluation).
	DetectionSeconds float64 `json:"detection_seconds"`
	// Decision: the alarm to the lever step's start: the intake's poll, rule match and
	// signal-with-start, the run's pre-flight, the approval the alarm policy grants.
	DecisionSeconds float64 `json:"decision_seconds"`
	// Lever: the lever step, until it reports the change applied (ARC update, PutMetricData and
	// the alarm's evaluation, Route 53 INSYNC).
	LeverSeconds float64 `json:"lever_seconds"`
	// Propagation: until every producer client resolves the target Region (they cache answers
	// for the record's TTL).
	PropagationSeconds float64 `json:"propagation_seconds"`
	// Verification: until the run's write check (milestone traffic_verified) passes.
	VerificationSeconds float64 `json:"verification_seconds"`
}

// RTOMarks are the recorded instants an RTO is split at: the lab's fault record (Fault.Since),
// the alarm's state change time the run's trigger carries, the run's start and the shift
// step's start and end (the run's progress), the first time every producer client held an
// answer naming the target Region (the producer's routing, read every rtoClientPoll), and the
// end of the step marked traffic_verified.
type RTOMarks struct {
	Fault        time.Time `json:"fault"`
	Alarm        time.Time `json:"alarm"`
	RunStarted   time.Time `json:"run_started"`
	LeverStarted time.Time `json:"lever_started"`
	LeverApplied time.Time `json:"lever_applied"`
	ClientsMoved time.Time `json:"clients_moved"`
	Verified     time.Time `json:"verified"`
}

// rtoClientPoll is how often the producer's routing is read: the resolution of ClientsMoved.
const rtoClientPoll = 50 * time.Millisecond

// splitRTO splits the time from the fault to recovery at the marks, in their order: detection,
// decision, lever, propagation, verification. Recovery is the later of the last client moving
// and the write check passing. A mark recorded before the one it follows (a client that moved
// while Route 53 still said PENDING, a write check that passed on the first writes while other
// clients still held the old answer) counts from the previous mark: that phase is 0 and the
// time stays in the phase where it was spent. The phases then add up to the total exactly.
func splitRTO(m RTOMarks) (RTOPhases, float64, error) {
	marks := []struct {
		name string
		at   time.Time
	}{{"fault", m.Fault}, {"alarm", m.Alarm}, {"lever step start", m.LeverStarted}, {"lever applied", m.LeverApplied},
		{"clients moved", m.ClientsMoved}, {"verified", m.Verified}}
	for _, mk := range marks {
		if mk.at.IsZero() {
			return RTOPhases{}, 0, fmt.Errorf("no %s time recorded", mk.name)
		}
	}
	durs := make([]float64, len(marks)-1)
	prev := marks[0].at
	for i, mk := range marks[1:] {
		at := mk.at
		if at.Before(prev) {
			at = prev
		}
		durs[i] = at.Sub(prev).Seconds()
		prev = at
	}
	p := RTOPhases{DetectionSeconds: durs[0], DecisionSeconds: durs[1], LeverSeconds: durs[2], PropagationSeconds: durs[3], VerificationSeconds: durs[4]}
	return p, prev.Sub(m.Fault).Seconds(), nil
}

// Sum adds the phases up.
func (p RTOPhases) Sum() float64 {
	return p.DetectionSeconds + p.DecisionSeconds + p.LeverSeconds + p.PropagationSeconds + p.VerificationSeconds
}

// rtoTarget is what the bench measures on: a running lab, a client of the server whose worker
// reads dir, and that folder.
type rtoTarget struct {
	lab    *lab.Lab
	client client.Client
	dir    string
}

// rtoTargetHook, when set (the starter tests), gives `bench rto` a running lab to measure on
// instead of starting one with the profile. The bench puts it back as it found it.
var rtoTargetHook func() *rtoTarget

// rtoLevers are the levers in the order they are measured.
var rtoLevers = []string{runbook.LeverARCRoutingControl, runbook.LeverHealthCheckMetric, runbook.LeverRoute53Weights}

func runBenchRTO(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench rto", cio)
	var o benchRTOOptions
	o.outputOptions.register(fs, "print the figures as JSON")
	o.runbooksOptions.register(fs, cio, "runbook folder")
	fs.StringVar(&o.profile, "profile", "realistic", "latency profile: "+strings.Join(lab.ProfileNames, " or ")+" (internal/lab/profile.go: each figure with its AWS source)")
	fs.IntVar(&o.runs, "runs", 3, "failovers per lever (the median run is reported)")
	fs.StringVar(&o.levers, "levers", strings.Join(rtoLevers, ","), "traffic levers to measure, comma-separated")
	fs.Float64Var(&o.rate, "rate", 20, "events per second of the lab's producers")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up on one failover (or on the lab settling before it) after this long")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.runs < 1 {
		return errors.New("bench rto: --runs must be at least 1")
	}
	prof, err := lab.ProfileByName(o.profile)
	if err != nil {
		return fmt.Errorf("bench rto: %w", err)
	}
	var levers []string
	for _, lv := range strings.Split(o.levers, ",") {
		lv = strings.TrimSpace(lv)
		if !slices.Contains(rtoLevers, lv) {
			return fmt.Errorf("bench rto: unknown lever %q (levers: %s)", lv, strings.Join(rtoLevers, ", "))
		}
		levers = append(levers, lv)
	}
	res, err := benchRTO(ctx, o, prof, levers, cio.stderr)
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(cio.stdout, res); err != nil {
			return err
		}
	} else {
		printRTO(cio.stdout, res)
	}
	for _, lv := range res.Levers {
		if lv.Error != "" {
			return fmt.Errorf("bench rto: lever %s: %s", lv.Lever, lv.Error)
		}
	}
	return nil
}

func printRTO(w io.Writer, r *BenchRTOResult) {
	fmt.Fprintf(w, "RTO of the alarm-triggered failover, profile %s (TTL %.0fs), median of %d runs, seconds:\n", r.Profile.Name, r.Profile.DNSTTLSeconds, r.Runs)
	fmt.Fprintf(w, "  %-20s %9s %8s %6s %11s %12s %6s %10s %10s\n", "lever", "detection", "decision", "lever", "propagation", "verification", "total", "from alarm", "report RTO")
	for _, lv := range r.Levers {
		switch {
		case lv.Skipped != "":
			fmt.Fprintf(w, "  %-20s skipped: %s\n", lv.Lever, lv.Skipped)
		case lv.Error != "":
			fmt.Fprintf(w, "  %-20s FAILED: %s\n", lv.Lever, lv.Error)
		default:
			fmt.Fprintf(w, "  %-20s %9.1f %8.1f %6.1f %11.1f %12.1f %6.1f %10.1f %10.1f\n", lv.Lever, lv.DetectionSeconds, lv.DecisionSeconds,
				lv.LeverSeconds, lv.PropagationSeconds, lv.VerificationSeconds, lv.TotalSeconds, lv.FromAlarmSeconds, lv.ReportRTOSeconds)
		}
	}
	for _, lv := range r.Levers {
		if lv.Lever == runbook.LeverARCRoutingControl && lv.Skipped == "" && lv.Error == "" {
			verdict := func(ok bool) string {
				if ok {
					return "met"
				}
				return "NOT met"
			}
			fmt.Fprintf(w, "goal (arc_routing_control, RTO from the alarm <= TTL + 15 s = %.0fs): measured %.1fs, %s; bound with a full TTL of propagation %.1fs, %s\n",
				r.GoalSeconds, lv.FromAlarmSeconds, verdict(lv.GoalMetMeasured), lv.FromAlarmBoundSeconds, verdict(lv.GoalMet))
		}
	}
}

func benchRTO(ctx context.Context, o benchRTOOptions, prof lab.Profile, levers []string, logw io.Writer) (*BenchRTOResult, error) {
	quiet := slog.New(slog.DiscardHandler)
	res := &BenchRTOResult{Profile: profileSeconds(prof), Runs: o.runs, GoalSeconds: prof.DNSTTL.Seconds() + 15}
	var t *rtoTarget
	if rtoTargetHook != nil {
		t = rtoTargetHook()
		res.AttachedLab = true
		ttl, err := t.lab.DNSTTL()
		if err != nil {
			return nil, err
		}
		arcLatency := t.lab.ARC().UpdateLatency()
		defer func() {
			_ = t.lab.SetDNSTTL(ttl)
			t.lab.ARC().SetUpdateLatency(arcLatency)
			_ = t.lab.SetTakesTrafficPeriod(lab.TakesTrafficPeriod) // the period a lab starts with
		}()
	} else {
		fmt.Fprintf(logw, "starting a private lab with the %s profile\n", prof.Name)
		p, err := startPrivateLab(ctx, prof.Options(lab.Options{ProducerRate: o.rate, WithEventIDs: true, TestID: "bench-rto"}), o.runbooks, nil, quiet)
		if err != nil {
			return nil, err
		}
		defer p.close()
		t = &rtoTarget{lab: p.lab, client: p.dev.client, dir: p.dir}
	}
	if err := t.lab.ApplyProfile(prof); err != nil {
		return nil, err
	}
	if t.lab.Producer() == nil {
		return nil, errors.New("bench rto: the lab has no producer: nothing would show clients moving")
	}
	b := &rtoBench{t: t, o: o, prof: prof, log: logw, quiet: quiet}
	for _, lever := range levers {
		lv := b.measureLever(ctx, lever)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Levers = append(res.Levers, lv)
	}
	for i := range res.Levers {
		lv := &res.Levers[i]
		ok := lv.Skipped == "" && lv.Error == ""
		lv.GoalMet = ok && lv.FromAlarmBoundSeconds <= res.GoalSeconds
		lv.GoalMetMeasured = ok && lv.FromAlarmSeconds <= res.GoalSeconds
	}
	return res, nil
}

type rtoBench struct {
	t     *rtoTarget
	o     benchRTOOptions
	prof  lab.Profile
	log   io.Writer
	quiet *slog.Logger
}

// leverEnvironment is the lab's environment under name with lever; ok false (and why) when this
// lab cannot provide the lever.
func leverEnvironment(l *lab.Lab, lever, name string) (*runbook.Environment, string) {
	switch lever {
	case runbook.LeverARCRoutingControl:
		return l.ARCEnvironment(name), ""
	case runbook.LeverHealthCheckMetric:
		return l.HealthCheckMetricEnvironment(name), ""
	}
	env := l.Environment()
	env.Name = name
	env.Traffic.Lever = runbook.LeverRoute53Weights
	env.Traffic.ARC, env.Traffic.HealthCheckMetric = nil, nil
	return env, ""
}

// benchRTORules are the trigger rules of the benchmark's environment: the demo's failover
// (ungraceful, approval granted by the policy after a green pre-flight) when either of the
// primary's alarms that an impaired Region raises fires. The lab's own rules ask a human for the
// collection alarm and fail over gracefully on the pipeline one; a benchmark of the lever must
// not wait for a person, and a graceful failover out of a dead Region would wait for its drain.
// The impaired primary's own CloudWatch sends nothing; its collection alarm arrives from the copy
// the secondary keeps on its canary, whose ARN names the secondary: the Region is read from the
// environment's alarms lists.
func benchRTORules(env, primary string, verifyWindow time.Duration) string {
	return fmt.Sprintf(`schema: switchyard/v1
environment: %s
description: RTO benchmark - fail over when the primary Region goes down.
cooldown: 0s
rules:
  - name: region-down
    alarm_regexp: lab-%s-(pipeline-not-ingesting|collection-unreachable)
    region_from: environment
    state: ALARM
    runbook: failover
    params:
      target: ${peer}
      ungraceful: true
      force: false
      verify_window: %q
    policy: auto
`, env, primary, verifyWindow.String())
}

func (b *rtoBench) measureLever(ctx context.Context, lever string) BenchRTOLever {
	out := BenchRTOLever{Lever: lever}
	l := b.t.lab
	primary, _ := l.Regions()
	name := "bench-rto-" + strings.ReplaceAll(lever, "_", "-")
	env, why := leverEnvironment(l, lever, name)
	if why != "" {
		out.Skipped = why
		fmt.Fprintf(b.log, "%s: skipped: %s\n", lever, why)
		return out
	}
	env.Traffic.TTL = int64(b.prof.DNSTTL / time.Second)
	verifyWindow := max(2*time.Minute, 2*b.prof.DNSTTL+30*time.Second)
	cleanup, intakeDir, err := b.writeEnvironment(env, benchRTORules(name, primary, verifyWindow))
	defer cleanup()
	if err != nil {
		out.Error = err.Error()
		return out
	}
	if lever == runbook.LeverRoute53Weights {
		// Measured as if Route 53's control plane answered while us-east-1 is down, which AWS's
		// does not (its failover then fails at pre-flight, by design): the figure is the lever's
		// own latency. The lab's placement (us-east-1) is put back afterwards.
		l.SetGlobalControlPlaneInHomeRegion(false)
		defer l.SetGlobalControlPlaneInHomeRegion(true)
	}
	if lever == runbook.LeverHealthCheckMetric {
		// The records carry health checks on the takes-traffic alarms while this lever is
		// measured, as a team using it sets them up; the lab's own kind is put back afterwards.
		prev := l.RecordHealthChecks()
		if err := l.SetRecordHealthChecks(lab.RecordChecksCloudWatchMetric); err != nil {
			out.Error = err.Error()
			return out
		}
		defer func() { _ = l.SetRecordHealthChecks(prev) }()
	}
	var runs []BenchRTORun
	for i := range b.o.runs {
		r, err := b.runOnce(ctx, env, intakeDir)
		if berr := b.baseline(ctx); err == nil && berr != nil {
			err = fmt.Errorf("put the lab back: %w", berr)
		}
		if err != nil {
			out.Error = fmt.Sprintf("run %d: %v", i+1, err)
			return out
		}
		fmt.Fprintf(b.log, "%s run %d: total %.1fs (detection %.1f, decision %.1f, lever %.1f, propagation %.1f, verification %.1f), from the alarm %.1fs, report RTO %.1fs\n",
			lever, i+1, r.TotalSeconds, r.DetectionSeconds, r.DecisionSeconds, r.LeverSeconds, r.PropagationSeconds, r.VerificationSeconds, r.FromAlarmSeconds, r.ReportRTOSeconds)
		runs = append(runs, r)
	}
	byTotal := slices.Clone(runs)
	sort.SliceStable(byTotal, func(i, j int) bool { return byTotal[i].TotalSeconds < byTotal[j].TotalSeconds })
	mid := byTotal[(len(byTotal)-1)/2]
	out.RTOPhases, out.TotalSeconds, out.FromAlarmSeconds, out.ReportRTOSeconds = mid.RTOPhases, mid.TotalSeconds, mid.FromAlarmSeconds, mid.ReportRTOSeconds
	out.FromAlarmBoundSeconds = mid.FromAlarmBoundSeconds
	pick := func(f func(RTOPhases) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r.RTOPhases)
		}
		return median(xs)
	}
	out.PhaseMedians = &RTOPhases{
		DetectionSeconds:    pick(func(p RTOPhases) float64 { return p.DetectionSeconds }),
		DecisionSeconds:     pick(func(p RTOPhases) float64 { return p.DecisionSeconds }),
		LeverSeconds:        pick(func(p RTOPhases) float64 { return p.LeverSeconds }),
		PropagationSeconds:  pick(func(p RTOPhases) float64 { return p.PropagationSeconds }),
		VerificationSeconds: pick(func(p RTOPhases) float64 { return p.VerificationSeconds }),
	}
	out.RunDetails = runs
	return out
}

// writeEnvironment puts the lever's environment into the worker's folder, and a folder for the
// intake with the runbooks, that environment and its rules only (the worker's folder also holds
// the lab's own rules, which would start failovers of their own). cleanup removes both.
func (b *rtoBench) writeEnvironment(env *runbook.Environment, rules string) (func(), string, error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	y, err := yaml.Marshal(env)
	if err != nil {
		return cleanup, "", fmt.Errorf("environment %s: %w", env.Name, err)
	}
	envFile := env.Name + ".yaml"
	workerEnv := filepath.Join(b.t.dir, "environments", envFile)
	if err := os.WriteFile(workerEnv, y, 0o644); err != nil {
		return cleanup, "", err
	}
	undo = append(undo, func() { _ = os.Remove(workerEnv) })
	dir, err := os.MkdirTemp("", "switchyard-bench-rto-")
	if err != nil {
		return cleanup, "", err
	}
	undo = append(undo, func() { _ = os.RemoveAll(dir) })
	if _, err := copyYAML(b.t.dir, dir); err != nil {
		return cleanup, "", err
	}
	for _, sub := range []string{"environments", triggers.Dir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return cleanup, "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", envFile), y, 0o644); err != nil {
		return cleanup, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, triggers.Dir, envFile), []byte(rules), 0o644); err != nil {
		return cleanup, "", err
	}
	return cleanup, dir, nil
}

// runOnce impairs the primary Region with the lab at its baseline and measures the failover the
// alarm starts, until it ends and every producer client writes to the target.
func (b *rtoBench) runOnce(ctx context.Context, env *runbook.Environment, intakeDir string) (BenchRTORun, error) {
	l, c := b.t.lab, b.t.client
	primary, secondary := l.Regions()
	if err := b.baseline(ctx); err != nil {
		return BenchRTORun{}, fmt.Errorf("the lab did not settle before the run: %w", err)
	}
	factory := awsclients.New(awsclients.Options{Logger: b.quiet})
	labEnv := l.Environment()
	var queues []string
	for _, r := range []string{primary, secondary} {
		q := l.Endpoints().AlarmQueues[r]
		// Alarm events of earlier runs and tests: the intake would act on them at once.
		if err := drainQueue(ctx, factory, awsclients.FromEnvironment(r, labEnv.Regions[r]), q); err != nil {
			return BenchRTORun{}, fmt.Errorf("drain the alarm queue of %s: %w", r, err)
		}
		queues = append(queues, r+"="+q)
	}
	svc, err := triggers.NewService(ctx, triggers.ServiceOptions{RunbookDir: intakeDir, Temporal: c, Queues: queues, AWS: factory, Logger: b.quiet})
	if err != nil {
		return BenchRTORun{}, err
	}
	sctx, stopService := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- svc.Run(sctx) }()
	defer func() { stopService(); <-served }()

	moved := watchClients(l.Producer(), secondary)
	defer moved.stop()
	f, err := l.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: primary})
	if err != nil {
		return BenchRTORun{}, fmt.Errorf("impair %s: %w", primary, err)
	}
	fault := f.Since
	id := workflows.OperationID(env.Name)
	var runID string
	if err := waitUntil(ctx, b.o.timeout, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return false
		}
		info := d.GetWorkflowExecutionInfo()
		if info.GetStartTime().AsTime().Before(fault) {
			return false
		}
		runID = info.GetExecution().GetRunId()
		return true
	}); err != nil {
		return BenchRTORun{}, fmt.Errorf("no failover started on %s within %s of the fault (intake %+v)", id, b.o.timeout, svc.Intake().Stats())
	}
	rctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	res, runErr := result(rctx, c, id, runID)
	if res == nil {
		return BenchRTORun{}, fmt.Errorf("failover %s: %w", id, runErr)
	}
	if runErr != nil || res.Outcome != workflows.OutcomeSucceeded {
		return BenchRTORun{}, fmt.Errorf("failover %s ended %s: %v", id, res.Outcome, firstFailure(&res.Progress, runErr))
	}
	// The write check can pass on the first writes while other clients still hold the old
	// answer: recovery is when the last one moved too.
	if err := waitUntil(ctx, b.prof.DNSTTL+b.o.timeout, func() bool { return !moved.at().IsZero() }); err != nil {
		return BenchRTORun{}, fmt.Errorf("not every producer client resolved %s after the failover: %v", secondary, l.Producer().Stats().Routing)
	}
	return rtoRun(id, runID, fault, moved.at(), metricAlarmFired(l, env, primary), b.prof.DNSTTL, &res.Progress)
}

// metricAlarmFired is when the health_check_metric lever's alarm on the source Region last went
// into ALARM (CloudWatch's StateTransitioned, in the Region that keeps it): traffic.shift
// returns once PutMetricData is accepted, and the change applies when the alarm evaluates it.
// Zero for the other levers.
func metricAlarmFired(l *lab.Lab, env *runbook.Environment, source string) time.Time {
	h := env.Traffic.HealthCheckMetric
	if env.Traffic.Lever != runbook.LeverHealthCheckMetric || h == nil {
		return time.Time{}
	}
	c, ok := h.Checks[source]
	if !ok {
		return time.Time{}
	}
	for _, a := range l.Twin().Alarms(c.AlarmRegion) {
		if a.Name == c.AlarmName && a.State == "ALARM" {
			return a.StateTransitioned
		}
	}
	return time.Time{}
}

// rtoRun reads a finished failover's marks and splits its RTO. The lever counts as applied when
// the shift step ended, or when applied says (the metric alarm's evaluation) if that is later.
func rtoRun(id, runID string, fault, moved, applied time.Time, ttl time.Duration, p *workflows.Progress) (BenchRTORun, error) {
	r := BenchRTORun{WorkflowID: id, RunID: runID, Alarm: p.Trigger.Alarm}
	if p.Trigger.Kind != "alarm" || p.Trigger.At == nil {
		return r, fmt.Errorf("run %s was not started by an alarm (trigger %+v)", runID, p.Trigger)
	}
	shift, verified := stepAt(p, "shift"), stepAt(p, "verify_writes")
	if shift.StartedAt == nil || shift.EndedAt == nil || verified.EndedAt == nil {
		return r, fmt.Errorf("run %s has no shift or verify_writes times", runID)
	}
	r.Marks = RTOMarks{Fault: fault, Alarm: *p.Trigger.At, RunStarted: p.StartedAt, LeverStarted: *shift.StartedAt,
		LeverApplied: *shift.EndedAt, ClientsMoved: moved, Verified: *verified.EndedAt}
	if applied.After(r.Marks.LeverApplied) {
		r.Marks.LeverApplied = applied
	}
	var err error
	if r.RTOPhases, r.TotalSeconds, err = splitRTO(r.Marks); err != nil {
		return r, err
	}
	r.FromAlarmSeconds = r.TotalSeconds - r.DetectionSeconds
	r.FromAlarmBoundSeconds = r.DecisionSeconds + r.LeverSeconds + ttl.Seconds() + r.VerificationSeconds
	r.ReportRTOSeconds = verified.EndedAt.Sub(*p.Trigger.At).Seconds()
	return r, nil
}

func firstFailure(p *workflows.Progress, err error) string {
	for _, s := range p.Steps {
		if s.Status == workflows.StatusFailed {
			return fmt.Sprintf("step %s failed: %s", s.Path, s.Error)
		}
	}
	if err != nil {
		return err.Error()
	}
	return "no step failed"
}

// baseline puts the lab back as it starts and waits until it is there: the primary healed,
// routing controls On, both Regions taking traffic by their metrics, weights 100/0, pipelines
// ACTIVE, replicators RUNNING, no alarm firing,
// and every producer client writing to the primary again (up to a TTL).
func (b *rtoBench) baseline(ctx context.Context) error {
	l := b.t.lab
	primary, secondary := l.Regions()
	if _, err := l.Heal(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: primary}); err != nil {
		return err
	}
	if err := l.ResetRoutingControls(); err != nil {
		return err
	}
	l.ResetTakesTraffic()
	if err := setRecordWeights(l, map[string]int64{primary: 100, secondary: 0}); err != nil {
		return err
	}
	var why string
	start, said := time.Now(), time.Now()
	err := waitUntil(ctx, b.o.timeout, func() bool {
		if time.Since(said) >= 30*time.Second {
			said = time.Now()
			fmt.Fprintf(b.log, "waiting %s for the lab to settle: %s\n", time.Since(start).Round(time.Second), why)
		}
		for _, r := range []string{primary, secondary} {
			if s := l.Pipeline(r).Status(); s != "ACTIVE" {
				why = fmt.Sprintf("pipeline of %s is %s", r, s)
				return false
			}
			if s := l.InboundReplicator(r).State(); s != "RUNNING" {
				why = fmt.Sprintf("replicator into %s is %s", r, s)
				return false
			}
			for _, a := range l.Twin().Alarms(r) {
				if a.State == "ALARM" {
					why = fmt.Sprintf("alarm %s is in ALARM", a.Name)
					return false
				}
			}
		}
		st := l.Producer().Stats()
		total := 0
		for _, n := range st.Routing {
			total += n
		}
		why = fmt.Sprintf("producer clients route %v", st.Routing)
		return total > 0 && st.Routing[primary] == total
	})
	if err != nil {
		return fmt.Errorf("%w: %s", err, why)
	}
	return nil
}

// setRecordWeights sets the weighted ingest records' weights in the twin directly (as an
// operator's console would, whatever Route 53's control plane is doing), keeping the rest.
func setRecordWeights(l *lab.Lab, weights map[string]int64) error {
	twin := l.Twin()
	sets, err := twin.RecordSets(lab.HostedZoneID)
	if err != nil {
		return err
	}
	for _, rs := range sets {
		if w, ok := weights[rs.SetIdentifier]; ok && rs.Weight != nil && *rs.Weight != w {
			rs.Weight = &w
			if err := twin.UpsertRecordSet(lab.HostedZoneID, rs); err != nil {
				return err
			}
		}
	}
	return nil
}

// drainQueue receives and deletes every message of an SQS queue.
func drainQueue(ctx context.Context, f *awsclients.Factory, r awsclients.Region, queueURL string) error {
	q, err := f.SQS(ctx, r)
	if err != nil {
		return err
	}
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			return err
		}
		if len(out.Messages) == 0 {
			return nil
		}
		for _, m := range out.Messages {
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return err
			}
		}
	}
}

// clientWatch records the first time every producer client holds an answer naming a Region.
type clientWatch struct {
	mu    sync.Mutex
	first time.Time
	done  chan struct{}
	once  sync.Once
}

func watchClients(p *lab.Producer, region string) *clientWatch {
	w := &clientWatch{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(rtoClientPoll)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case now := <-t.C:
				routing := p.Stats().Routing
				total := 0
				for _, n := range routing {
					total += n
				}
				if total > 0 && routing[region] == total {
					w.mu.Lock()
					w.first = now
					w.mu.Unlock()
					return
				}
			}
		}
	}()
	return w
}

func (w *clientWatch) at() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

func (w *clientWatch) stop() { w.once.Do(func() { close(w.done) }) }
