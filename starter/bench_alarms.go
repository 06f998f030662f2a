//go:build !nodev

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
	"github.com/switchyard-dr/switchyard/workflows"
)

// benchAlarmsOptions are the flags of `starter bench alarms`.
type benchAlarmsOptions struct {
	outputOptions
	runbooksOptions
	repetitions int
	storm       int
	stormQueues int
	stormEnvs   int
	stormAlarms int
	profile     string
	rate        float64
	timeout     time.Duration
}

// BenchAlarmsResult is what `starter bench alarms --json` prints.
type BenchAlarmsResult struct {
	// ToShiftMS is, per repetition, the time from the alarm event's arrival in the lab's SQS
	// alarm queues to the lab's Route 53 receiving the failover's first ChangeResourceRecordSets:
	// the intake's poll, rule match and signal-with-start, the failover's parallel pre-flight, the
	// approval the auto policy grants, and the shift's call.
	ToShiftMS    []float64 `json:"to_shift_ms"`
	P50ToShiftMS float64   `json:"p50_to_shift_ms"`
	MaxToShiftMS float64   `json:"max_to_shift_ms"`
	// Profile is the lab's latency profile during the repetitions (internal/lab/profile.go).
	Profile string `json:"profile"`
	// Events alarm events were put in the alarm queues at once (stormEvents): Changes distinct
	// state changes of Alarms alarms over Environments environments, each alarm flapping
	// OK <-> ALARM, every change delivered to both Regions' queues (StormQueues 2) with the copies
	// interleaved. AckSeconds is the time from the first to the last of them being acknowledged
	// (deleted from the queue after the intake handled it).
	Events       int   `json:"events"`
	Changes      int   `json:"changes"`
	Alarms       int   `json:"alarms"`
	Environments int   `json:"environments"`
	StormQueues  int   `json:"storm_queues"`
	Acknowledged int64 `json:"acknowledged"`
	// ReceiveCalls counts the intake's ReceiveMessage calls (both queues) while the storm drained.
	ReceiveCalls int64 `json:"receive_calls"`
	Received     int64 `json:"received"`
	Deduped      int64 `json:"deduped"`
	// RunsStarted counts the runs the storm started as the Temporal server's visibility lists
	// them (workflow id switchyard/<environment>, started after the storm began), per environment
	// in RunsPerEnvironment; RunsExpected is one per environment (one DR operation per
	// environment, then the rules' cooldown). IntakeStarted is the intake's own counter, for
	// comparison only.
	RunsStarted        int64            `json:"runs_started"`
	RunsPerEnvironment map[string]int64 `json:"runs_per_environment"`
	RunsExpected       int64            `json:"runs_expected"`
	IntakeStarted      int64            `json:"intake_started"`
	AckSeconds         float64          `json:"ack_seconds"`
	// EnqueueSeconds is how long putting the storm into the queue took (part of AckSeconds).
	EnqueueSeconds float64 `json:"enqueue_seconds"`
	ShiftGoalMet   bool    `json:"shift_goal_met"`
	StormGoalMet   bool    `json:"storm_goal_met"`
}

// Goals of issue 7.
const (
	alarmsGoalShiftMS = 500
	alarmsGoalAckSecs = 2
)

func runBenchAlarms(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("bench alarms", cio)
	var o benchAlarmsOptions
	o.outputOptions.register(fs, "print the figures as JSON")
	o.runbooksOptions.register(fs, cio, "runbook folder (its triggers/lab.yaml gives the rules)")
	fs.IntVar(&o.repetitions, "repetitions", 5, "alarm-to-shift measurements (the median is reported)")
	fs.IntVar(&o.storm, "storm", 10_000, "alarm events of the storm (0: skip the storm)")
	fs.IntVar(&o.stormQueues, "storm-queues", 2, "queues each state change is delivered to: 2 (both Regions', as the lab's cross-Region rule delivers) or 1")
	fs.IntVar(&o.stormEnvs, "storm-environments", 3, "environments the storm's alarms belong to (each with the lab's trigger rules)")
	fs.IntVar(&o.stormAlarms, "storm-alarms", 30, "alarms per environment besides the 4 its rules act on (they match no rule)")
	fs.StringVar(&o.profile, "profile", "realistic", "latency profile of the lab: "+strings.Join(lab.ProfileNames, " or ")+" (internal/lab/profile.go)")
	fs.Float64Var(&o.rate, "rate", 20, "events per second of the lab's producers")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "give up on a repetition or the storm after this long")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.repetitions < 0 || o.storm < 0 || o.stormQueues < 1 || o.stormQueues > 2 || (o.repetitions == 0 && o.storm == 0) || o.stormEnvs < 1 || o.stormAlarms < 0 {
		return errors.New("bench alarms: want --repetitions >= 0, --storm >= 0 (not both 0), --storm-queues 1 or 2, --storm-environments >= 1 and --storm-alarms >= 0")
	}
	if _, err := lab.ProfileByName(o.profile); err != nil {
		return fmt.Errorf("bench alarms: %w", err)
	}
	res, err := benchAlarms(ctx, o, cio.stderr)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(cio.stdout, res)
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	if len(res.ToShiftMS) > 0 {
		fmt.Fprintf(cio.stdout, "alarm event -> first traffic shift (policy auto, profile %s), %d repetitions: %v ms\n", res.Profile, len(res.ToShiftMS), res.ToShiftMS)
		fmt.Fprintf(cio.stdout, "  p50 %.1f ms, max %.1f ms (goal p50 <= %d ms: %s)\n", res.P50ToShiftMS, res.MaxToShiftMS, alarmsGoalShiftMS, verdict(res.ShiftGoalMet))
	}
	if res.Events > 0 {
		fmt.Fprintf(cio.stdout, "storm of %d alarm events (%d state changes of %d alarms in %d environments, flapping, in %d queue(s)): %d acknowledged in %.3fs (enqueued in %.3fs), %d deduplicated\n",
			res.Events, res.Changes, res.Alarms, res.Environments, res.StormQueues, res.Acknowledged, res.AckSeconds, res.EnqueueSeconds, res.Deduped)
		fmt.Fprintf(cio.stdout, "  runs in Temporal's visibility: %d %v (want %d, one per environment; the intake counted %d) (goal: all acknowledged within %ds, one run per environment: %s)\n",
			res.RunsStarted, res.RunsPerEnvironment, res.RunsExpected, res.IntakeStarted, alarmsGoalAckSecs, verdict(res.StormGoalMet))
	}
	return nil
}

// awsCallWatch observes the lab's AWS calls, injecting nothing.
type awsCallWatch struct {
	mu    sync.Mutex
	shift chan time.Time // armed: receives the time of the next ChangeResourceRecordSets

	receives atomic.Int64
}

func (w *awsCallWatch) observe(fc awstwin.FaultContext, _ awstwin.Fault) {
	now := time.Now()
	switch {
	case fc.Service == awstwin.ServiceRoute53 && fc.Operation == "ChangeResourceRecordSets":
		w.mu.Lock()
		if w.shift != nil {
			w.shift <- now
			w.shift = nil
		}
		w.mu.Unlock()
	case fc.Service == awstwin.ServiceSQS && fc.Operation == "ReceiveMessage":
		w.receives.Add(1)
	}
}

// firstShift is when the failover's lever first changed traffic: the Route 53 change the watch
// saw (lever route53_weights) or the first routing-control update (arc_routing_control, the
// lab's), whichever came first.
func firstShift(route53 <-chan time.Time, updates []arctwin.Update) (time.Time, bool) {
	var at time.Time
	select {
	case at = <-route53:
	default:
	}
	for _, u := range updates {
		if at.IsZero() || u.At.Before(at) {
			at = u.At
		}
	}
	return at, !at.IsZero()
}

// resetTraffic sends writes back to the primary before a repetition: weights 100/0 and every
// routing control On.
func resetTraffic(ctx context.Context, l *lab.Lab, factory *awsclients.Factory, env *runbook.Environment) error {
	primary, secondary := l.Regions()
	if err := setWeights(ctx, factory, env, map[string]int64{primary: 100, secondary: 0}); err != nil {
		return err
	}
	return l.ResetRoutingControls()
}

// armShift returns a channel that receives the time of the next ChangeResourceRecordSets.
func (w *awsCallWatch) armShift() <-chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.shift = make(chan time.Time, 1)
	return w.shift
}

func benchAlarms(ctx context.Context, o benchAlarmsOptions, logw io.Writer) (*BenchAlarmsResult, error) {
	quiet := slog.New(slog.DiscardHandler)
	prof, err := lab.ProfileByName(cmp.Or(o.profile, "fast"))
	if err != nil {
		return nil, err
	}
	p, err := startPrivateLab(ctx, prof.Options(lab.Options{ProducerRate: o.rate, WithEventIDs: true, TestID: "bench-alarms"}),
		o.runbooks, nil, quiet)
	if err != nil {
		return nil, err
	}
	defer p.close()
	if err := p.lab.ApplyProfile(prof); err != nil {
		return nil, err
	}
	l, env, dir := p.lab, p.dev, p.dir
	if err := writeBenchRules(o.runbooks, dir); err != nil {
		return nil, err
	}
	stormEnvs := make([]string, 0, o.stormEnvs)
	for i := range o.stormEnvs {
		stormEnvs = append(stormEnvs, fmt.Sprintf("storm-%d", i+1))
	}
	if o.storm > 0 {
		if err := writeStormEnvironments(o.runbooks, dir, l.Environment(), stormEnvs); err != nil {
			return nil, err
		}
	}
	primary, secondary := l.Regions()
	labEnv := l.Environment()
	alarm := ""
	for _, a := range labEnv.Regions[primary].Alarms {
		if strings.HasSuffix(a, "-pipeline-not-ingesting") {
			alarm = a
		}
	}
	if alarm == "" {
		return nil, fmt.Errorf("the lab has no pipeline-not-ingesting alarm in %s", primary)
	}

	watch := &awsCallWatch{}
	defer l.ObserveControlPlane(watch.observe)()

	// The pre-flight wants the target's alarms OK; the lab's start in INSUFFICIENT_DATA, for
	// the profile's alarm window and more.
	if err := waitUntil(ctx, max(time.Minute, 4*prof.AlarmWindow), func() bool {
		for _, states := range l.Status().Alarms {
			for _, s := range states {
				if s != "OK" {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("the lab's alarms did not all become OK: %w", err)
	}

	// The intake as `starter serve --alarm-queue` runs it, polling both Regions' queues.
	queues := make([]string, 0, 2)
	for _, r := range []string{primary, secondary} {
		queues = append(queues, r+"="+l.Endpoints().AlarmQueues[r])
	}
	svc, err := triggers.NewService(ctx, triggers.ServiceOptions{RunbookDir: dir, Temporal: env.client, Queues: queues,
		AWS: awsclients.New(awsclients.Options{Logger: quiet}), Logger: quiet})
	if err != nil {
		return nil, err
	}
	sctx, stopService := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- svc.Run(sctx) }()
	defer func() { stopService(); <-served }()

	factory := awsclients.New(awsclients.Options{Logger: quiet})
	opID := workflows.OperationID("lab")
	event := func(at time.Time) string {
		return string(lab.NewAlarmEvent(fmt.Sprintf("bench-%d", at.UnixNano()), lab.AccountID, primary, alarm, "AWS/OSIS",
			lab.SubPipeline+".opensearch.documentsSuccess.count", map[string]string{"PipelineName": labEnv.Regions[primary].Pipeline},
			"OK", "ALARM", "Threshold Crossed: bench", at).JSON())
	}
	res := &BenchAlarmsResult{Profile: prof.Name}

	for i := range o.repetitions {
		if err := endOperationOn(ctx, env.client, opID, o.timeout); err != nil {
			return nil, err
		}
		if err := resetTraffic(ctx, l, factory, labEnv); err != nil {
			return nil, err
		}
		shifted := watch.armShift()
		arcFrom := len(l.ARC().Updates())
		body := event(time.Now())
		sent := time.Now()
		// As the lab delivers an alarm: the same event into both Regions' queues.
		for _, r := range []string{primary, secondary} {
			if _, err := l.Twin().SendMessage(r, lab.AlarmQueue, body); err != nil {
				return nil, fmt.Errorf("send the alarm event: %w", err)
			}
		}
		// The shift finishes before the run ends, so its change never lands after the next reset.
		var p *workflows.Progress
		if err := waitUntil(ctx, o.timeout, func() bool {
			p, err = queryProgress(ctx, env.client, opID, "")
			// The operation's id names the last run until this alarm's starts: wait for a run
			// started after the alarm.
			return err == nil && !p.StartedAt.Before(sent.Truncate(time.Millisecond)) && stepAt(p, "shift").Status == workflows.StatusSucceeded
		}); err != nil {
			return nil, fmt.Errorf("repetition %d: no traffic shift within %s of the alarm (intake %+v): %w", i+1, o.timeout, svc.Intake().Stats(), err)
		}
		at, ok := firstShift(shifted, l.ARC().Updates()[arcFrom:])
		if !ok {
			return nil, fmt.Errorf("repetition %d: the shift step succeeded but the lab saw no Route 53 change and no routing-control update", i+1)
		}
		ms := float64(at.Sub(sent).Microseconds()) / 1000
		// What was timed must be this alarm's failover, approved by the policy after a green
		// pre-flight, and the call its shift step's.
		shift, approve := stepAt(p, "shift"), stepAt(p, "approve")
		switch {
		case p.Trigger.Kind != "alarm" || p.Trigger.Alarm != alarm || p.Runbook != "failover":
			return nil, fmt.Errorf("repetition %d: the run on %s is %s triggered by %s %s, not the alarm's failover", i+1, opID, p.Runbook, p.Trigger.Kind, p.Trigger.Alarm)
		case approve.Approval == nil || approve.Approval.Status != workflows.ApprovalApproved || stepAt(p, "forced").Status == workflows.StatusSucceeded:
			return nil, fmt.Errorf("repetition %d: the failover was not approved by policy after a green pre-flight (approve step %+v)", i+1, approve)
		case shift.StartedAt == nil || at.Before(*shift.StartedAt):
			return nil, fmt.Errorf("repetition %d: the traffic change seen at %s came before the shift step started", i+1, at.Format(time.RFC3339Nano))
		}
		res.ToShiftMS = append(res.ToShiftMS, ms)
		pre := stepAt(p, "preflight")
		var preMS float64
		if pre.StartedAt != nil && pre.EndedAt != nil {
			preMS = float64(pre.EndedAt.Sub(*pre.StartedAt).Microseconds()) / 1000
		}
		fmt.Fprintf(logw, "repetition %d: alarm -> first traffic change (Route 53 change or ARC update) %.1f ms (pre-flight %.1f ms; shift step began %.1f ms after the alarm)\n",
			i+1, ms, preMS, float64(shift.StartedAt.Sub(sent).Microseconds())/1000)
	}
	if len(res.ToShiftMS) > 0 {
		res.P50ToShiftMS = median(res.ToShiftMS)
		res.MaxToShiftMS = slices.Max(res.ToShiftMS)
		res.ShiftGoalMet = res.P50ToShiftMS <= alarmsGoalShiftMS
	}

	if o.storm > 0 {
		if err := endOperationOn(ctx, env.client, opID, o.timeout); err != nil {
			return nil, err
		}
		spec := stormSpec{events: o.storm, environments: stormEnvs, quietAlarms: o.stormAlarms, regions: []string{primary, secondary}[:o.stormQueues],
			seed: 1, at: time.Now()}
		events := stormEvents(spec)
		before, receives := svc.Intake().Stats(), watch.receives.Load()
		// Acknowledged means deleted from the queue, counted by the twin itself: the intake
		// deletes in batches, so counting calls would not count messages.
		deleted := func() int64 {
			var n int64
			for _, r := range spec.regions {
				n += l.Twin().DeletedMessages(r, lab.AlarmQueue)
			}
			return n
		}
		base := deleted()
		start := time.Now()
		for _, e := range events {
			if _, err := l.Twin().SendMessage(e.queue, lab.AlarmQueue, e.body); err != nil {
				return nil, fmt.Errorf("send the storm: %w", err)
			}
		}
		res.EnqueueSeconds = time.Since(start).Seconds()
		sum := summarizeStorm(events)
		res.Events, res.Changes, res.Alarms, res.Environments, res.StormQueues = len(events), sum.changes, sum.alarms, len(stormEnvs), len(spec.regions)
		for deleted()-base < int64(len(events)) {
			if time.Since(start) > o.timeout {
				return nil, fmt.Errorf("storm: %d of %d events acknowledged within %s", deleted()-base, len(events), o.timeout)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
		res.AckSeconds = time.Since(start).Seconds()
		res.ReceiveCalls = watch.receives.Load() - receives
		// The last delete is seen as it is sent; the intake's counters settle with it.
		_ = waitUntil(ctx, 10*time.Second, func() bool { return svc.Intake().Stats().Received-before.Received >= int64(len(events)) })
		after := svc.Intake().Stats()
		res.Acknowledged = deleted() - base
		res.Received = after.Received - before.Received
		res.Deduped = after.Deduped - before.Deduped
		res.IntakeStarted = after.Started - before.Started
		// Every event was handled (acknowledged after its start returned); visibility is
		// eventually consistent, so read it until two reads a second apart agree.
		perEnv, err := visibleRuns(ctx, env.client, stormEnvs, start.Add(-time.Second), o.timeout)
		if err != nil {
			return nil, err
		}
		res.RunsPerEnvironment, res.RunsExpected = perEnv, int64(len(stormEnvs))
		for _, n := range perEnv {
			res.RunsStarted += n
		}
		res.StormGoalMet = res.Acknowledged >= int64(len(events)) && res.AckSeconds <= alarmsGoalAckSecs && stormRunsAsExpected(perEnv, stormEnvs)
		fmt.Fprintf(logw, "storm: %d events acknowledged in %.3fs, runs in visibility %v (intake counted %d)\n", res.Acknowledged, res.AckSeconds, perEnv, res.IntakeStarted)
		for _, e := range stormEnvs {
			if err := endOperationOn(ctx, env.client, workflows.OperationID(e), o.timeout); err != nil {
				return nil, err
			}
		}
	}
	if err := endOperationOn(ctx, env.client, opID, o.timeout); err != nil {
		return nil, err
	}
	return res, nil
}

// endOperationOn terminates the DR operation id if it runs and waits until it is closed.
// Terminate, not cancel: cancelling a failover runs its compensation, which would shift traffic
// back while the next repetition is being measured.
func endOperationOn(ctx context.Context, c client.Client, id string, timeout time.Duration) error {
	running := func() (bool, error) {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	}
	on, err := running()
	if err != nil {
		return fmt.Errorf("describe %s: %w", id, err)
	}
	if !on {
		return nil
	}
	if err := c.TerminateWorkflow(ctx, id, "", "bench alarms: measured"); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return fmt.Errorf("terminate %s: %w", id, err)
		}
	}
	return waitUntil(ctx, timeout, func() bool { on, err := running(); return err == nil && !on })
}

var cooldownLine = regexp.MustCompile(`(?m)^cooldown:.*$`)

// writeBenchRules puts the lab's trigger rules into dir with the cooldown off: the benchmark
// ends a run and alarms again at once, which a cooldown exists to refuse.
func writeBenchRules(src, dir string) error {
	b, err := os.ReadFile(filepath.Join(src, triggers.Dir, "lab.yaml"))
	if err != nil {
		return fmt.Errorf("lab trigger rules: %w", err)
	}
	rules := string(b)
	if cooldownLine.MatchString(rules) {
		rules = cooldownLine.ReplaceAllString(rules, "cooldown: 0s")
	} else {
		rules = strings.Replace(rules, "\nrules:", "\ncooldown: 0s\nrules:", 1)
	}
	if err := os.MkdirAll(filepath.Join(dir, triggers.Dir), 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, triggers.Dir, "lab.yaml")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		return err
	}
	set, err := triggers.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("lab trigger rules: %w", err)
	}
	if f := set.File("lab"); f == nil || f.CooldownOrDefault() != 0 {
		return fmt.Errorf("lab trigger rules in %s: the cooldown is still on", path)
	}
	return nil
}
