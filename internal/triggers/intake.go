package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Temporal is the part of client.Client the intake uses.
type Temporal interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// NotifierFunc posts a notify decision (and nothing else) for a human; see PostTo.
type NotifierFunc func(ctx context.Context, d Decision) error

// Options configure an Intake.
type Options struct {
	// Rules are the trigger rules; required.
	Rules *Set
	// Temporal starts and signals runs; required unless every rule's policy is notify.
	Temporal Temporal
	// Notifier receives notify decisions; nil only logs them.
	Notifier NotifierFunc
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for the cooldown and dedupe; nil means time.Now.
	Now func() time.Time
	// DedupeWindow is how long an event is remembered to drop its copies; 0 means 24h.
	DedupeWindow time.Duration
	// DedupeSize bounds the remembered events; 0 means 100,000.
	DedupeSize int
	// RecentSize is how many decisions Recent keeps; 0 means 200.
	RecentSize int
	// MaxAge is the age past which an alarm event is stale: recorded (Stats.Stale, the log,
	// Recent) but not acted on. Its age is from the alarm's state change (StateChangeTime, the
	// EventBridge state timestamp) or, when older, the SNS message's Timestamp. 0 means
	// DefaultMaxAge; a negative value acts on events of any age.
	MaxAge time.Duration
}

// DefaultMaxAge is the default Options.MaxAge. An alarm is acted on when it fires: an event that
// arrives a quarter of an hour late (a queue drained after an outage, an SNS retry, a replayed
// message) describes a state that may be long gone, and failing over on it could move traffic
// away from a Region that has recovered. A human reads the record and decides.
const DefaultMaxAge = 15 * time.Minute

// Stats are the intake's counters since it started, for export as Prometheus counters.
type Stats struct {
	// Received counts every message and alarm handed to the intake.
	Received int64 `json:"received"`
	// Invalid counts malformed messages and SNS messages that failed verification.
	Invalid int64 `json:"invalid"`
	// Started, Attached and Notified count decisions per environment.
	Started  int64 `json:"started"`
	Attached int64 `json:"attached"`
	Notified int64 `json:"notified"`
	// Ignored counts alarms and messages that led to nothing: no rule, another state, cooldown,
	// not an alarm, or a duplicate. Deduped is the duplicates among them.
	Ignored int64 `json:"ignored"`
	Deduped int64 `json:"deduped"`
	// Failed counts events whose handling failed on Temporal; they are retried (SQS redelivers,
	// SNS retries on a 5xx).
	Failed int64 `json:"failed"`
	// Stale counts alarm events older than the intake's max age: recorded and not acted on
	// (they are counted among Ignored too).
	Stale int64 `json:"stale"`
	// RateLimited counts requests to POST /alarms/sns refused with 429 because their source
	// sent too many (SNS delivers them again later); they are not counted as received.
	RateLimited int64 `json:"rate_limited"`
}

type counters struct {
	received, invalid, started, attached, notified, ignored, deduped, failed, stale, limited atomic.Int64
}

// Intake decides and acts on alarms. It is safe for concurrent use.
type Intake struct {
	rules    *Set
	temporal Temporal
	notifier NotifierFunc
	log      *slog.Logger
	now      func() time.Time
	dedupe   *dedupe
	maxAge   time.Duration
	c        counters

	envMu sync.Mutex
	envs  map[string]*sync.Mutex

	recentMu   sync.Mutex
	recent     []Decision
	recentSize int
}

// New returns an Intake.
func New(opts Options) (*Intake, error) {
	if opts.Rules == nil {
		return nil, errors.New("triggers: no rules")
	}
	if opts.Temporal == nil {
		for _, f := range opts.Rules.Files {
			for _, r := range f.Rules {
				if r.Policy != PolicyNotify {
					return nil, fmt.Errorf("triggers: rule %s of %s starts runs but no Temporal client was given", r.Name, f.Environment)
				}
			}
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DedupeWindow <= 0 {
		opts.DedupeWindow = 24 * time.Hour
	}
	if opts.DedupeSize <= 0 {
		opts.DedupeSize = 100_000
	}
	if opts.RecentSize <= 0 {
		opts.RecentSize = 200
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	return &Intake{maxAge: opts.MaxAge,
		rules: opts.Rules, temporal: opts.Temporal, notifier: opts.Notifier, log: opts.Logger, now: opts.Now,
		dedupe: newDedupe(opts.DedupeWindow, opts.DedupeSize), envs: map[string]*sync.Mutex{}, recentSize: opts.RecentSize,
	}, nil
}

// Rules returns the intake's rules.
func (in *Intake) Rules() *Set { return in.rules }

// Stats returns a snapshot of the counters.
func (in *Intake) Stats() Stats {
	return Stats{
		Received: in.c.received.Load(), Invalid: in.c.invalid.Load(), Started: in.c.started.Load(),
		Attached: in.c.attached.Load(), Notified: in.c.notified.Load(), Ignored: in.c.ignored.Load(),
		Deduped: in.c.deduped.Load(), Failed: in.c.failed.Load(), Stale: in.c.stale.Load(), RateLimited: in.c.limited.Load(),
	}
}

// Recent returns the latest decisions, oldest first (duplicates are counted, not kept).
func (in *Intake) Recent() []Decision {
	in.recentMu.Lock()
	defer in.recentMu.Unlock()
	return append([]Decision(nil), in.recent...)
}

// HandleMessage parses a queue message (see ParseMessage) and handles the alarm in it. A
// malformed message returns an error wrapping ErrMalformed (delete it: no retry can fix it); a
// message that is not an alarm is ignored with no error; any other error means the event was not
// handled and should be retried.
func (in *Intake) HandleMessage(ctx context.Context, body []byte) ([]Decision, error) {
	a, err := ParseMessage(body)
	switch {
	case errors.Is(err, ErrNotAlarm):
		in.NotAlarm(err)
		return nil, nil
	case err != nil:
		in.Invalid(err, "body", truncate(string(body), 200))
		return nil, err
	}
	return in.Handle(ctx, a)
}

// Invalid counts (as received and invalid) and logs a message that could not be used.
func (in *Intake) Invalid(err error, attrs ...any) {
	in.c.received.Add(1)
	in.c.invalid.Add(1)
	in.log.Warn("alarm intake: invalid message dropped", append([]any{"err", err}, attrs...)...)
}

// NotAlarm counts (as received and ignored) a well-formed message that is not an alarm.
func (in *Intake) NotAlarm(err error) {
	in.c.received.Add(1)
	in.c.ignored.Add(1)
	in.log.Debug("alarm intake: not an alarm state change, ignored", "err", err)
}

// Handle decides what alarm a calls for on every environment and acts: starts the runbook (a
// signal-with-start on switchyard/<environment>), attaches the alarm to the running operation,
// notifies, or ignores it. The decisions say what was done and why. An error means Temporal could
// not be reached for some environment; the event is then forgotten by the dedupe so that its
// redelivery is handled.
func (in *Intake) Handle(ctx context.Context, a Alarm) ([]Decision, error) {
	return in.handle(ctx, a, time.Time{})
}

// RateLimited counts (as rate_limited, not received) a request refused because its source sent
// too many.
func (in *Intake) RateLimited(source string) {
	in.c.limited.Add(1)
	in.log.Debug("alarm intake: request refused: too many from its source", "source", source)
}

// handle is Handle for an alarm that was published (an SNS message's Timestamp) at published;
// zero when unknown.
func (in *Intake) handle(ctx context.Context, a Alarm, published time.Time) ([]Decision, error) {
	in.c.received.Add(1)
	now := in.now()
	if reason, stale := in.stale(a, published, now); stale {
		return in.recordStale(a, reason, now), nil
	}
	key := a.Key()
	if !in.dedupe.claim(key, now) {
		in.c.ignored.Add(1)
		in.c.deduped.Add(1)
		in.log.Debug("alarm intake: duplicate event ignored", "alarm", a.Name, "state", a.State, "at", a.At)
		return []Decision{{Action: ActionIgnore, Alarm: a, DecidedAt: now,
			Reason: "duplicate: this state change of the alarm was already received"}}, nil
	}
	decisions := in.rules.Match(a)
	var errs []error
	for i := range decisions {
		d := &decisions[i]
		d.DecidedAt = now
		switch d.Action {
		case ActionStart:
			if err := in.start(ctx, d, now); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", d.Environment, err))
				continue
			}
		case ActionNotify:
			in.notify(ctx, *d)
		}
		in.record(*d)
	}
	if len(errs) > 0 {
		in.dedupe.release(key)
		in.c.failed.Add(1)
		err := errors.Join(errs...)
		in.log.Error("alarm intake: alarm not handled; it will be retried", "alarm", a.Name, "state", a.State, "err", err)
		return decisions, err
	}
	return decisions, nil
}

// stale reports whether a is older than the max age, from the older of its state change and its
// publication, and says why.
func (in *Intake) stale(a Alarm, published, now time.Time) (string, bool) {
	if in.maxAge < 0 {
		return "", false
	}
	at, what := a.At, "changed state"
	if !published.IsZero() && (at.IsZero() || published.Before(at)) {
		at, what = published, "was published"
	}
	if at.IsZero() {
		return "", false
	}
	age := now.Sub(at)
	if age <= in.maxAge {
		return "", false
	}
	return fmt.Sprintf("stale: alarm %s %s at %s, %s ago, longer than the intake's max age %s; recorded, not acted on",
		a.Name, what, at.UTC().Format(time.RFC3339), age.Round(time.Second), in.maxAge), true
}

// recordStale records a stale event: what the rules would have decided, each turned into an
// ignore that says why, so that the record shows which runbook a late alarm would have started.
func (in *Intake) recordStale(a Alarm, reason string, now time.Time) []Decision {
	in.c.stale.Add(1)
	in.log.Warn("alarm intake: stale alarm event recorded, not acted on", "alarm", a.Name, "state", a.State, "at", a.At,
		"max_age", in.maxAge, "reason", reason)
	decisions := in.rules.Match(a)
	for i := range decisions {
		d := &decisions[i]
		d.DecidedAt = now
		d.Reason = reason + "; the rules say: " + d.Reason
		d.Action = ActionIgnore
		in.record(*d)
	}
	return decisions
}

func (in *Intake) record(d Decision) {
	switch d.Action {
	case ActionStart:
		in.c.started.Add(1)
	case ActionAttach:
		in.c.attached.Add(1)
	case ActionNotify:
		in.c.notified.Add(1)
	default:
		in.c.ignored.Add(1)
	}
	in.log.Info("alarm intake: "+string(d.Action), "alarm", d.Alarm.Name, "state", d.Alarm.State, "environment", d.Environment,
		"rule", d.Rule, "runbook", d.Runbook, "workflow_id", d.WorkflowID, "run_id", d.RunID, "reason", d.Reason)
	in.recentMu.Lock()
	defer in.recentMu.Unlock()
	if len(in.recent) >= in.recentSize {
		in.recent = append(in.recent[:0], in.recent[1:]...)
	}
	in.recent = append(in.recent, d)
}

func (in *Intake) notify(ctx context.Context, d Decision) {
	if in.notifier == nil {
		return
	}
	if err := in.notifier(ctx, d); err != nil {
		// A notification is advice for a human; failing the event would redeliver the alarm
		// and act on it twice, so the failure is only logged.
		in.log.Warn("alarm intake: notification failed", "alarm", d.Alarm.Name, "environment", d.Environment, "err", err)
	}
}

func (in *Intake) envLock(env string) *sync.Mutex {
	in.envMu.Lock()
	defer in.envMu.Unlock()
	mu, ok := in.envs[env]
	if !ok {
		mu = &sync.Mutex{}
		in.envs[env] = mu
	}
	return mu
}

// start turns a start decision into a started run, an attachment or a cooldown ignore.
//
// The environment's lock id is described first, so that a running operation gets a plain signal
// (attach) and a recently ended one holds off new starts (cooldown); only then is the run
// started, by signal-with-start, so that a run started meanwhile by another intake still gets
// this alarm instead of a second run. Alarms of one environment are serialized in this process,
// so a storm of distinct alarms starts one run and attaches the rest.
func (in *Intake) start(ctx context.Context, d *Decision, now time.Time) error {
	mu := in.envLock(d.Environment)
	mu.Lock()
	defer mu.Unlock()
	id := workflows.OperationID(d.Environment)
	trig := d.Trigger()
	f := in.rules.File(d.Environment)
	for range 3 {
		desc, err := in.temporal.DescribeWorkflowExecution(ctx, id, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			// No operation ever ran on the environment (or its history was deleted).
		case err != nil:
			return fmt.Errorf("describe %s: %w", id, err)
		default:
			info := desc.GetWorkflowExecutionInfo()
			runID := info.GetExecution().GetRunId()
			what := searchAttr(desc, workflows.SARunbook.GetName())
			if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				err := in.temporal.SignalWorkflow(ctx, id, runID, workflows.AlarmSignal, trig)
				if errors.As(err, &nf) {
					continue // it ended in between: look again
				}
				if err != nil {
					return fmt.Errorf("signal %s to %s: %w", workflows.AlarmSignal, id, err)
				}
				d.Action, d.WorkflowID, d.RunID = ActionAttach, id, runID
				d.Reason += fmt.Sprintf("; attached to the running operation %s (%s, run %s): one operation per environment", id, orUnknown(what), runID)
				return nil
			}
			if cd := f.CooldownOrDefault(); cd > 0 && info.GetCloseTime() != nil {
				ended := info.GetCloseTime().AsTime()
				if resume := ended.Add(cd); now.Before(resume) {
					outcome := strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
					if o := searchAttr(desc, workflows.SAOutcome.GetName()); o != "" {
						outcome = o
					}
					d.Action, d.WorkflowID, d.RunID = ActionIgnore, id, runID
					d.Reason += fmt.Sprintf("; cooldown: the last operation on %s (%s, %s) ended at %s; automatic starts resume at %s (cooldown %s)",
						d.Environment, orUnknown(what), outcome, ended.UTC().Format(time.RFC3339), resume.UTC().Format(time.RFC3339), cd)
					return nil
				}
			}
		}
		run, err := in.temporal.SignalWithStartWorkflow(ctx, id, workflows.AlarmSignal, trig, StartOptions(d.RunInput(), id),
			workflows.RunbookWorkflowType, d.RunInput())
		if err != nil {
			return fmt.Errorf("signal-with-start %s: %w", id, err)
		}
		d.WorkflowID, d.RunID = id, run.GetRunID()
		d.Reason += fmt.Sprintf("; started %s on %s as %s run %s", d.Runbook, d.Environment, id, d.RunID)
		return nil
	}
	return fmt.Errorf("%s kept ending while the alarm was being attached; giving up for now", id)
}

// StartOptions are the options of a run the starter's other intakes would give it: the task
// queue, and the Runbook, Environment and Trigger search attributes, so that alarm-started runs
// are filterable in the Temporal UI like the rest.
func StartOptions(in workflows.RunInput, id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SARunbook.ValueSet(in.Runbook), workflows.SAEnvironment.ValueSet(in.Environment),
			workflows.SATrigger.ValueSet(in.Trigger.Kind)),
		StaticSummary: fmt.Sprintf("%s on %s (%s) by %s", in.Runbook, in.Environment, orDefault(string(in.Mode), string(workflows.ModeExecute)), in.RequestedBy),
	}
}

func searchAttr(desc *workflowservice.DescribeWorkflowExecutionResponse, name string) string {
	p, ok := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(p.GetData(), &s) != nil {
		return ""
	}
	return s
}

func orUnknown(s string) string { return orDefault(s, "unknown runbook") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// dedupe remembers recent event keys, bounded in time and number.
type dedupe struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	order  []dedupeEntry
	head   int
	window time.Duration
	size   int
}

type dedupeEntry struct {
	key string
	at  time.Time
}

func newDedupe(window time.Duration, size int) *dedupe {
	return &dedupe{seen: map[string]time.Time{}, window: window, size: size}
}

// claim reports whether key is new, and remembers it.
func (d *dedupe) claim(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.head < len(d.order) {
		e := d.order[d.head]
		if now.Sub(e.at) < d.window && len(d.seen) < d.size {
			break
		}
		if t, ok := d.seen[e.key]; ok && t.Equal(e.at) {
			delete(d.seen, e.key)
		}
		d.head++
	}
	if d.head > len(d.order)/2 && d.head > 1024 {
		d.order = append([]dedupeEntry(nil), d.order[d.head:]...)
		d.head = 0
	}
	if _, ok := d.seen[key]; ok {
		return false
	}
	d.seen[key] = now
	d.order = append(d.order, dedupeEntry{key, now})
	return true
}

// release forgets key, so that a redelivery of an event that failed is handled.
func (d *dedupe) release(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.seen, key)
}
