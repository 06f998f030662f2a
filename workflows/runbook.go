// Package workflows holds Switchyard's deterministic workflow code: the runbook interpreter and
// the workflows it nests. Nothing here performs I/O, reads the clock or ranges over maps; every
// effect goes through an activity, so a run can be replayed from its history.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Default timings. They are deliberately conservative: a DR step that hangs must not hold a run
// forever, and a throttled AWS API must be retried long enough to ride out an incident's storm.
// A step's own defaults (timeout, wait interval) are the runbook package's: see runbook.Default*.
const (
	// localFirstTimeout bounds a local step's local attempt (see execAction): a healthy control
	// plane answers in well under a second, and queries never wait longer than this.
	localFirstTimeout = 2 * time.Second
	defaultAttempts   = 10
	defaultBackoff    = time.Second
	defaultMaxBackoff = 30 * time.Second
)

// RunbookWorkflow interprets one runbook against one environment.
func RunbookWorkflow(ctx workflow.Context, in RunInput) (*Result, error) {
	if err := validateInput(in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	r := newRun(ctx, in)
	r.out = startOutbox(ctx, r)
	if err := r.registerHandlers(ctx); err != nil {
		return nil, err
	}
	err := r.execute(ctx)
	return r.finish(ctx, err)
}

func validateInput(in RunInput) error {
	var errs []error
	if in.Runbook == "" {
		errs = append(errs, errors.New(`"runbook" is required (the runbook's name, e.g. "failover")`))
	}
	if in.Environment == "" {
		errs = append(errs, errors.New(`"environment" is required (an environment name under runbooks/environments, e.g. "lab")`))
	}
	switch in.Mode {
	case "", ModeExecute, ModePlan:
	default:
		errs = append(errs, fmt.Errorf(`"mode" must be "execute" or "plan", got %q`, in.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid workflow input: %w", err)
	}
	return nil
}

// run is the interpreter's state for one execution.
type run struct {
	in       RunInput
	info     *workflow.Info
	loaded   *Loaded
	rb       *runbook.Runbook
	progress Progress
	index    map[string]int // step path -> index in progress.Steps
	scope    runbook.Scope
	results  map[string]map[string]any
	// comp is the compensation stack: completed steps that declared compensate, oldest first.
	comp     []*runbook.Step
	rollback bool
	// approvals by step id; only steps currently waiting are decidable.
	approvals map[string]*approval
	// ctl is the state of operators' controls (controls.go).
	ctl    controlState
	out    *outbox
	logger interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
}

type approval struct {
	state   ApprovalState
	spec    *runbook.Approval
	decided bool
}

func newRun(ctx workflow.Context, in RunInput) *run {
	if in.Mode == "" {
		in.Mode = ModeExecute
	}
	if in.Trigger.Kind == "" {
		// A run with no trigger was typed into the Temporal UI's form: every other intake sets one.
		in.Trigger.Kind = "ui"
	}
	info := workflow.GetInfo(ctx)
	return &run{
		in:   in,
		info: info,
		progress: Progress{
			Runbook: in.Runbook, Environment: in.Environment, Mode: in.Mode,
			Outcome: OutcomeRunning, RequestedBy: in.RequestedBy, Trigger: in.Trigger,
			StartedAt: workflow.Now(ctx),
		},
		index:     map[string]int{},
		results:   map[string]map[string]any{},
		approvals: map[string]*approval{},
		logger:    workflow.GetLogger(ctx),
	}
}

func (r *run) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return r.progress, nil
	}); err != nil {
		return fmt.Errorf("register progress query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ApproveUpdate,
		func(ctx workflow.Context, d Decision) (ApprovalState, error) {
			return r.decide(ctx, d), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d Decision) error {
			return r.validateDecision(d)
		}},
	); err != nil {
		return fmt.Errorf("register approve update: %w", err)
	}
	ch := workflow.GetSignalChannel(ctx, ApproveSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d Decision
			if !ch.Receive(ctx, &d) {
				return
			}
			if err := r.validateDecision(d); err != nil {
				msg := fmt.Sprintf("%s: decision by %q on step %q ignored: %v", workflow.Now(ctx).UTC().Format(time.RFC3339), d.By, d.Step, err)
				r.progress.Ignored = append(r.progress.Ignored, msg)
				r.logger.Warn("approval signal ignored", "step", d.Step, "by", d.By, "err", err)
				continue
			}
			r.decide(ctx, d)
		}
	})
	if err := r.registerControls(ctx); err != nil {
		return err
	}
	alarms := workflow.GetSignalChannel(ctx, AlarmSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var t Trigger
			if !alarms.Receive(ctx, &t) {
				return
			}
			r.attachAlarm(ctx, t)
		}
	})
	return nil
}

// attachAlarm records an alarm that fired during the run. Only the first of each alarm name is
// posted to the run's thread: a storm must not flood the channel.
func (r *run) attachAlarm(ctx workflow.Context, t Trigger) {
	now := workflow.Now(ctx)
	at := now
	if t.At != nil {
		at = *t.At
	}
	name := t.Alarm
	if name == "" {
		name = t.Kind
	}
	for i := range r.progress.Alarms {
		if a := &r.progress.Alarms[i]; a.Alarm == name {
			a.Count++
			if at.After(a.Last) {
				a.Last = at
			}
			return
		}
	}
	r.progress.Alarms = append(r.progress.Alarms, AttachedAlarm{Alarm: name, Detail: t.Detail, First: at, Last: at, Count: 1})
	if name == r.in.Trigger.Alarm {
		return // the alarm that started the run, delivered with the start
	}
	if r.out != nil {
		r.out.post(Notification{Kind: NotifyMessage, Text: fmt.Sprintf("alarm %s fired during this run; attached to it, no new run started", name)})
	}
}

// execute loads the runbook and runs its steps; the returned error is the run's failure.
func (r *run) execute(ctx workflow.Context) error {
	loaded, err := r.load(ctx)
	if err != nil {
		return err
	}
	r.loaded = loaded
	r.rb = &loaded.Runbook
	r.progress.SHA256 = loaded.SHA256

	if err := r.checkLock(); err != nil {
		return err
	}
	r.scope = runbook.Scope{
		Params: loaded.Params,
		Env:    runbook.EnvScope(&loaded.Environment),
		Steps:  map[string]map[string]any{},
		Run: map[string]any{
			"id": r.info.WorkflowExecution.ID, "mode": string(r.in.Mode), "runbook": r.in.Runbook,
			"environment": r.in.Environment, "requested_by": r.in.RequestedBy,
			"trigger": map[string]any{"kind": r.in.Trigger.Kind, "alarm": r.in.Trigger.Alarm, "policy": r.in.Trigger.Policy},
		},
		Peers: map[string]string{
			loaded.Environment.Primary:   loaded.Environment.Secondary,
			loaded.Environment.Secondary: loaded.Environment.Primary,
		},
	}
	r.declare("", r.rb.Steps)
	r.inheritUngraceful()
	if err := r.upsertStartAttributes(ctx); err != nil {
		return err
	}
	r.out.stepUpdates = loaded.Environment.Slack != nil && r.in.Mode == ModeExecute
	started := fmt.Sprintf("%s on %s (%s) requested by %s via %s",
		r.in.Runbook, r.in.Environment, r.in.Mode, orUnknown(r.in.RequestedBy), r.in.Trigger.Kind)
	// The load's warnings for this run's values go where the run is watched: its status and the
	// UI (progress), its first message, and the worker's log.
	r.progress.Warnings = loaded.Warnings
	for _, w := range loaded.Warnings {
		r.logger.Warn("runbook warning", "warning", w)
		started += "\n" + w
	}
	r.out.post(Notification{Kind: NotifyRunStarted, Text: started})

	// An operator's abort cancels the steps, not the rollback that may follow.
	sctx, cancel := workflow.WithCancel(ctx)
	r.ctl.cancelRun = cancel
	err = r.runSteps(sctx, "", r.rb.Steps)
	if a := r.ctl.abort; a != nil {
		err, r.rollback = r.abortError(), a.Rollback
	}
	if err != nil && r.rollback && r.in.Mode == ModeExecute {
		r.progress.Outcome = OutcomeRolledBack
		r.ctl.compensating = true
		if cerr := r.compensate(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("rollback incomplete: %w", cerr))
			r.progress.Outcome = OutcomeFailed
		}
	}
	return err
}

func (r *run) load(ctx workflow.Context) (*Loaded, error) {
	// A local activity: loading is a fast file read on the worker, and its result (the source text
	// and sha256) is still recorded in history.
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var loaded Loaded
	err := workflow.ExecuteLocalActivity(lctx, LoadRunbookActivity, LoadRequest{
		Runbook: r.in.Runbook, Environment: r.in.Environment, Params: r.in.Params,
	}).Get(ctx, &loaded)
	if err != nil {
		msg := fmt.Sprintf("load runbook %q for environment %q: ", r.in.Runbook, r.in.Environment)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			// Keep the loader's type (InvalidInput, InvalidRunbook) so callers can tell bad input.
			return nil, temporal.NewNonRetryableApplicationError(msg+appErr.Message(), appErr.Type(), nil)
		}
		return nil, fmt.Errorf("%s%w", msg, err)
	}
	return &loaded, nil
}

// checkLock refuses a DR operation that was not started under its environment's lock id: the id
// is what makes the server refuse a second concurrent operation, so a run under another id
// (typed into the UI, say) would silently bypass the interlock.
func (r *run) checkLock() error {
	if !r.rb.Exclusive() || r.in.Mode != ModeExecute || r.in.Parent != "" {
		return nil
	}
	want := OperationID(r.in.Environment)
	if got := r.info.WorkflowExecution.ID; got != want {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"runbook %q is a DR operation: start it with workflow id %q (got %q) so that two operations on environment %q can never overlap",
			r.in.Runbook, want, got, r.in.Environment), ErrWrongWorkflow, nil)
	}
	return nil
}

func (r *run) upsertStartAttributes(ctx workflow.Context) error {
	updates := []temporal.SearchAttributeUpdate{
		SARunbook.ValueSet(r.in.Runbook),
		SAEnvironment.ValueSet(r.in.Environment),
		SATrigger.ValueSet(r.in.Trigger.Kind),
		SAOutcome.ValueSet(OutcomeRunning),
	}
	if r.rb.TargetRegion != "" {
		v, err := runbook.Eval(r.rb.TargetRegion, r.scope)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("evaluate target_region: %v", err), ErrInvalidInput, nil)
		}
		if s, ok := v.(string); ok && s != "" {
			updates = append(updates, SATargetRegion.ValueSet(s))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("set search attributes: %w", err)
	}
	return nil
}

// declare lists every step as pending up front, so that status shows the whole plan from the start.
func (r *run) declare(prefix string, steps []runbook.Step) {
	for i := range steps {
		s := &steps[i]
		path := join(prefix, s.ID)
		r.index[path] = len(r.progress.Steps)
		r.progress.Steps = append(r.progress.Steps, StepState{
			Path: path, ID: s.ID, Kind: s.Kind(), Name: s.Name, What: what(s), Status: StatusPending,
			Milestone: string(s.Milestone),
		})
		r.declare(path, s.Parallel)
		r.declare(path, s.Steps)
	}
}

func what(s *runbook.Step) string {
	switch {
	case s.Action != "":
		return s.Action
	case s.Check != "":
		return s.Check
	case s.WaitUntil != nil:
		return s.WaitUntil.Check
	case s.Runbook != "":
		return s.Runbook
	case s.Workflow != "":
		return s.Workflow
	}
	return ""
}

func join(prefix, id string) string {
	if prefix == "" {
		return id
	}
	return prefix + "/" + id
}

func (r *run) state(path string) *StepState {
	i, ok := r.index[path]
	if !ok {
		r.index[path] = len(r.progress.Steps)
		r.progress.Steps = append(r.progress.Steps, StepState{Path: path, Status: StatusPending})
		i = r.index[path]
	}
	return &r.progress.Steps[i]
}

// runSteps runs steps in order. A failing step stops the sequence unless its policy is continue.
func (r *run) runSteps(ctx workflow.Context, prefix string, steps []runbook.Step) error {
	for i := range steps {
		if err := r.runStep(ctx, prefix, &steps[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) runStep(ctx workflow.Context, prefix string, s *runbook.Step) error {
	path := join(prefix, s.ID)
	st := r.state(path)
	st.ID, st.Kind, st.Name, st.What = s.ID, s.Kind(), s.Name, what(s)
	if err := r.holdBeforeStep(ctx); err != nil {
		return err // aborted (or canceled) while held: the step never started
	}

	if s.If != "" {
		ok, err := runbook.EvalBool(s.If, r.scope)
		if err != nil {
			if r.in.Mode == ModePlan {
				// In a plan, conditions often depend on results of steps that did not run.
				r.finishStep(ctx, st, s, stepOutcome{Summary: fmt.Sprintf("runs if %s (unknown until the run)", s.If), Status: StatusPlanned})
				return nil
			}
			return r.fail(ctx, st, s, fmt.Errorf("evaluate if: %w", err))
		}
		if !ok {
			r.finishStep(ctx, st, s, stepOutcome{Summary: "condition false: " + s.If, Status: StatusSkipped})
			r.skipChildren(path, s)
			return nil
		}
	}
	if r.skipsForUngraceful(ctx, st, s) {
		r.skipChildren(path, s)
		return nil
	}

	now := workflow.Now(ctx)
	st.StartedAt, st.Status = &now, StatusRunning
	r.setCurrent(ctx)
	r.out.step(st)

	var cancels []workflow.CancelFunc
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	cur := s // the step as it runs: a retry may change its with: values
	var out stepOutcome
	for {
		sctx, cancel := workflow.WithCancel(ctx)
		cancels = append(cancels, cancel)
		if s.Timeout > 0 && (s.Parallel != nil || s.Steps != nil || s.Runbook != "" || s.Workflow != "") {
			// Composite steps have no activity timeout to bound them, so a timer cancels them.
			workflow.Go(ctx, func(gctx workflow.Context) {
				if workflow.NewTimer(gctx, s.Timeout.D()).Get(gctx, nil) == nil {
					cancel()
				}
			})
		}

		out = r.exec(sctx, path, st, cur)
		err := out.Err
		if err == nil {
			break
		}
		if s.Timeout > 0 && sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %s: %w", s.Timeout, err)
		}
		if !r.pausesOn(s) || ctx.Err() != nil {
			return r.fail(ctx, st, s, err)
		}
		d := r.pauseOnFailure(ctx, path, st, s, err)
		if d == nil { // aborted while paused: the step stays failed
			r.finishStep(ctx, st, s, stepOutcome{Status: StatusFailed, Err: err})
			return fmt.Errorf("step %q failed: %w", st.Path, err)
		}
		if d.Action == ControlSkip {
			st.Error, st.Result = "", nil
			delete(r.results, s.ID)
			r.finishStep(ctx, st, s, stepOutcome{Status: StatusSkipped, Summary: fmt.Sprintf("skipped by %s after it failed: %s", d.By, d.Comment)})
			return nil
		}
		// Retry: the step runs again now, with the control's with: values over its own.
		cur = retried(cur, d.With)
		st.Error, st.Result, st.Summary, st.EndedAt, st.Status = "", nil, "", nil, StatusRunning
		r.setCurrent(ctx)
		r.out.step(st)
	}
	r.finishStep(ctx, st, s, out)
	if s.Compensate != nil && out.Status == StatusSucceeded {
		r.comp = append(r.comp, s)
	}
	return nil
}

func (r *run) skipChildren(prefix string, s *runbook.Step) {
	for _, children := range [][]runbook.Step{s.Parallel, s.Steps} {
		for i := range children {
			c := &children[i]
			p := join(prefix, c.ID)
			r.state(p).Status = StatusSkipped
			r.skipChildren(p, c)
		}
	}
}

// fail records a step failure and applies its on_failure policy: continue swallows it, rollback
// marks the run for compensation, abort (the default) stops the run.
func (r *run) fail(ctx workflow.Context, st *StepState, s *runbook.Step, err error) error {
	status := StatusFailed
	if temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
		status = StatusCanceled
	}
	r.finishStep(ctx, st, s, stepOutcome{Status: status, Err: err})
	if r.in.Mode == ModePlan {
		return nil // a plan reports every failing check instead of stopping at the first
	}
	if r.unprotectedBy(ctx, st, s, err) {
		return nil
	}
	switch s.OnFailure {
	case runbook.OnFailureContinue:
		return nil
	case runbook.OnFailureRollback:
		r.rollback = true
	}
	return fmt.Errorf("step %q failed: %w", st.Path, err)
}

// finishStep records a step's end: its state, its view in the scope (steps.<id>), its
// notification and its metrics.
func (r *run) finishStep(ctx workflow.Context, st *StepState, s *runbook.Step, out stepOutcome) {
	status, result, summary, err := out.Status, out.Result, out.Summary, out.Err
	now := workflow.Now(ctx)
	st.EndedAt = &now
	if st.StartedAt == nil {
		st.StartedAt = &now
	}
	st.Status = status
	if summary != "" {
		st.Summary = summary
	}
	if result != nil {
		st.Result = result
		r.results[s.ID] = result
	}
	if ws := ResultWarnings(result); len(ws) > 0 {
		st.Warnings = ws
		st.Summary = WithWarnings(st.Summary, ws)
	}
	view := map[string]any{"status": string(status), "ok": status == StatusSucceeded, "result": result, "reason": st.Summary}
	if ok, isBool := result["ok"].(bool); isBool {
		view["ok"] = ok && status == StatusSucceeded
	}
	if err != nil {
		st.Error = errorMessage(err)
		view["error"] = st.Error
		view["reason"] = st.Error
	}
	r.scope.Steps[s.ID] = view
	r.setCurrent(ctx)
	r.out.step(st)
	r.observeStepEnd(ctx, st)
}

// errorMessage unwraps Temporal's activity and child-workflow envelopes (ids and event numbers an
// operator does not need) down to the causes, keeping every branch of a joined error.
func errorMessage(err error) string {
	if err == nil {
		return ""
	}
	var (
		actErr     *temporal.ActivityError
		childErr   *temporal.ChildWorkflowExecutionError
		appErr     *temporal.ApplicationError
		timeoutErr *temporal.TimeoutError
	)
	switch {
	case errors.As(err, &actErr) && err == error(actErr):
		return errorMessage(actErr.Unwrap())
	case errors.As(err, &childErr) && err == error(childErr):
		return errorMessage(childErr.Unwrap())
	case errors.As(err, &appErr) && err == error(appErr):
		return appErr.Message()
	case errors.As(err, &timeoutErr) && err == error(timeoutErr):
		return "timed out (" + timeoutErr.TimeoutType().String() + ")"
	case temporal.IsCanceledError(err):
		return "canceled"
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var parts []string
		for _, e := range joined.Unwrap() {
			parts = append(parts, errorMessage(e))
		}
		return strings.Join(parts, "; ")
	}
	if inner := errors.Unwrap(err); inner != nil {
		return strings.TrimSuffix(err.Error(), inner.Error()) + errorMessage(inner)
	}
	return err.Error()
}

func (r *run) setCurrent(ctx workflow.Context) {
	var cur []string
	for _, s := range r.progress.Steps {
		if s.Status == StatusRunning || s.Status == StatusWaiting || s.Status == StatusPaused {
			cur = append(cur, s.Path)
		}
	}
	r.progress.Current = cur
}

// stepOutcome is what running one step produced. Status is the status the step ends in; Err, when
// set, fails the step (runStep applies its on_failure) and Result and Summary are not recorded.
type stepOutcome struct {
	// Result is the step's result, which later steps read as steps.<id>.result.
	Result map[string]any
	// Summary is the one line that status, Slack and the report show for the step.
	Summary string
	Status  StepStatus
	Err     error
}

// exec runs one step of any kind and returns its outcome.
func (r *run) exec(ctx workflow.Context, path string, st *StepState, s *runbook.Step) stepOutcome {
	switch s.Kind() {
	case runbook.KindAction:
		return r.execAction(ctx, st, s, s.Action, false)
	case runbook.KindCheck:
		return r.execAction(ctx, st, s, s.Check, true)
	case runbook.KindWaitUntil:
		return r.execWait(ctx, st, s)
	case runbook.KindApproval:
		return r.execApproval(ctx, st, s)
	case runbook.KindParallel:
		return r.execParallel(ctx, path, s)
	case runbook.KindSequence:
		return stepOutcome{Status: StatusSucceeded, Err: r.runSteps(ctx, path, s.Steps)}
	case runbook.KindRunbook:
		return r.execChild(ctx, st, s)
	case runbook.KindNotify:
		return r.execNotify(ctx, st, s)
	case runbook.KindWorkflow:
		return r.execWorkflow(ctx, st, s)
	}
	return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %q has no kind", s.ID), ErrInvalidRunbook, nil)}
}

func (r *run) renderArgs(with map[string]any) (map[string]any, error) {
	if len(with) == 0 {
		return map[string]any{}, nil
	}
	v, err := runbook.Render(with, r.scope)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("arguments rendered to %T, want a map", v)
	}
	return m, nil
}

// stepTimeout is a step's start-to-close timeout with these arguments (runbook.Step.CallTimeout).
func stepTimeout(s *runbook.Step, args map[string]any) time.Duration {
	return s.CallTimeout(args)
}

func (r *run) activityOptions(s *runbook.Step, args map[string]any, summary string) workflow.ActivityOptions {
	timeout := stepTimeout(s, args)
	rp := &temporal.RetryPolicy{
		InitialInterval:    defaultBackoff,
		BackoffCoefficient: 2,
		MaximumInterval:    defaultMaxBackoff,
		MaximumAttempts:    defaultAttempts,
	}
	if s.Retry != nil {
		rp.MaximumAttempts = int32(s.Retry.Attempts)
		if s.Retry.Backoff > 0 {
			rp.InitialInterval = s.Retry.Backoff.D()
		}
		if s.Retry.MaxBackoff > 0 {
			rp.MaximumInterval = s.Retry.MaxBackoff.D()
		}
		// A backoff above the default ceiling, with no max_backoff, raises the ceiling: Temporal
		// refuses a retry policy whose maximum interval is below its initial one, and the step
		// would fail at once without running.
		rp.MaximumInterval = max(rp.MaximumInterval, rp.InitialInterval)
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    heartbeatFor(timeout),
		RetryPolicy:         rp,
		Summary:             summary,
	}
}

// callArgs are the arguments a catalog call gets: they carry catalog.EnvArg (see below), and in
// plan mode catalog.PlanArg, so that entries that watch for a while (a soak, a write window) read
// once and report what they would watch instead of sleeping through the plan. The step's recorded
// Args stay as written.
func (r *run) callArgs(args map[string]any) map[string]any {
	out := make(map[string]any, len(args)+2)
	for _, k := range workflow.DeterministicKeys(args) {
		out[k] = args[k]
	}
	if r.in.Mode == ModePlan {
		out[catalog.PlanArg] = true
	}
	// The environment this run loaded, by sha256: an entry that resolves it refuses a file
	// edited since on its worker. Only the input changes, not the commands, so histories
	// recorded without it replay.
	if r.loaded != nil && r.loaded.EnvSHA256 != "" {
		out[catalog.EnvArg] = map[string]any{"environment": r.in.Environment, "sha256": r.loaded.EnvSHA256}
	}
	return out
}

// heartbeatFor gives long activities a heartbeat timeout so cancellation and worker loss are
// noticed in seconds rather than at the end of the start-to-close timeout.
func heartbeatFor(timeout time.Duration) time.Duration {
	if timeout <= time.Minute {
		return 0
	}
	return 30 * time.Second
}

func (r *run) execAction(ctx workflow.Context, st *StepState, s *runbook.Step, name string, isCheck bool) stepOutcome {
	args, err := r.renderArgs(s.With)
	if err != nil {
		if r.in.Mode == ModePlan && !s.ReadOnly {
			return stepOutcome{Summary: "would run " + name + " (arguments depend on results of earlier steps)", Status: StatusPlanned}
		}
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("arguments of %s: %v", name, err), ErrInvalidInput, nil)}
	}
	st.Args = args
	if r.in.Mode == ModePlan && !s.ReadOnly {
		return stepOutcome{Summary: "would run " + name + " with " + formatArgs(args), Status: StatusPlanned}
	}
	actx := workflow.WithActivityOptions(ctx, r.activityOptions(s, args, s.ID+": "+name))
	args = r.callArgs(args)
	attempts := 1
	if isCheck && s.Retry != nil {
		attempts = s.Retry.Attempts
	}
	backoff := defaultBackoff
	if s.Retry != nil && s.Retry.Backoff > 0 {
		backoff = s.Retry.Backoff.D()
	}
	// An operator's retry control cuts the step's wait short (retry now): see runningStep.
	rs, untrack := r.track(st.Path, s)
	defer untrack()
	call := func(result *map[string]any) error {
		return rs.retryable(actx, func(c workflow.Context) workflow.Future { return workflow.ExecuteActivity(c, name, args) }, result)
	}
	if s.RunLocal {
		// Local first: one short call costs ~1 ms of overhead instead of a scheduled task's tens,
		// and its result is still recorded in history. While it runs the workflow task stays open
		// and status queries wait, so it gets localFirstTimeout; a call that fails or takes longer
		// runs again as a scheduled activity with the step's timeout and retries (every catalog
		// action sets a desired state, so running it twice is safe).
		ao := r.activityOptions(s, args, "")
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: min(ao.StartToCloseTimeout, localFirstTimeout),
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1}, Summary: s.ID + ": " + name,
		})
		scheduled := call
		call = func(result *map[string]any) error {
			err := workflow.ExecuteLocalActivity(lctx, name, args).Get(ctx, result)
			if err == nil || !retryable(err) || ctx.Err() != nil {
				return err
			}
			*result = nil
			return scheduled(result)
		}
	}
	var result map[string]any
	for attempt := 1; ; attempt++ {
		st.Attempts = attempt
		result = nil
		if err := call(&result); err != nil {
			return stepOutcome{Status: StatusFailed, Err: err}
		}
		if !isCheck {
			return stepOutcome{Result: result, Summary: summarize(result), Status: StatusSucceeded}
		}
		ok, _ := result["ok"].(bool)
		reason, _ := result["reason"].(string)
		if ok {
			return stepOutcome{Result: result, Summary: reason, Status: StatusSucceeded}
		}
		if attempt >= attempts {
			return stepOutcome{Result: result, Summary: reason, Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("check %s not ok: %s", name, reason), ErrCheckFailed, nil)}
		}
		if err := rs.sleep(ctx, backoff); err != nil {
			return stepOutcome{Status: StatusCanceled, Err: err}
		}
	}
}

func (r *run) execWait(ctx workflow.Context, st *StepState, s *runbook.Step) stepOutcome {
	w := s.WaitUntil
	args, err := r.renderArgs(w.With)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("arguments of %s: %v", w.Check, err), ErrInvalidInput, nil)}
	}
	st.Args = args
	args = r.callArgs(args)
	interval := w.Interval // filled in by the loader (runbook.DefaultWaitInterval)
	timeout := w.Timeout
	if r.in.Mode == ModePlan {
		timeout = 0 // a plan checks once and reports; it never waits
	}
	if s.RunLocal {
		// The condition often holds already (a drained replicator): one local check costs ~1 ms
		// where the scheduled wait below costs tens. A probe that fails or says "not yet" only
		// hands over to the wait.
		var probe map[string]any
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: localFirstTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
			Summary:             s.ID + ": " + w.Check + " (first check)",
		})
		if err := workflow.ExecuteLocalActivity(lctx, w.Check, args).Get(ctx, &probe); err == nil {
			if ok, _ := probe["ok"].(bool); ok {
				st.Attempts = 1
				reason, _ := probe["reason"].(string)
				return stepOutcome{Result: probe, Summary: reason, Status: StatusSucceeded}
			}
		} else if ctx.Err() != nil {
			return stepOutcome{Status: StatusCanceled, Err: ctx.Err()}
		}
	}
	// One activity polls in-process and heartbeats: polling from workflow code would cost a
	// history event and ~100 ms of overhead per poll.
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout.D() + time.Minute,
		HeartbeatTimeout:    max(3*interval.D(), 30*time.Second),
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
		Summary:             s.ID + ": wait until " + w.Check,
	}
	var result map[string]any
	rs, untrack := r.track(st.Path, s)
	defer untrack()
	err = rs.retryable(workflow.WithActivityOptions(ctx, opts), func(c workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(c, WaitUntilActivity, WaitRequest{Check: w.Check, Args: args, Interval: interval, Timeout: timeout})
	}, &result)
	st.Attempts = 1
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: err}
	}
	ok, _ := result["ok"].(bool)
	reason, _ := result["reason"].(string)
	if !ok {
		if r.in.Mode == ModePlan {
			// A condition that does not hold yet is what the run would wait for, not a failure of
			// the plan: a busy topic's consumer lag is rarely 0 at the moment of one read.
			return stepOutcome{Result: result, Summary: fmt.Sprintf("would wait up to %s for %s; now: not yet: %s", catalog.ShortDuration(w.Timeout.D()), w.Check, reason), Status: StatusPlanned}
		}
		return stepOutcome{Result: result, Summary: reason, Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s did not become ok within %s: %s", w.Check, w.Timeout, reason), ErrCheckFailed, nil)}
	}
	return stepOutcome{Result: result, Summary: reason, Status: StatusSucceeded}
}

func (r *run) execParallel(ctx workflow.Context, path string, s *runbook.Step) stepOutcome {
	errs := make([]error, len(s.Parallel))
	pending := len(s.Parallel)
	for i := range s.Parallel {
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer func() { pending-- }()
			errs[i] = r.runStep(gctx, path, &s.Parallel[i])
		})
	}
	// Every branch runs to its end, so a pre-flight reports every failing check, not just the first.
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
		return stepOutcome{Status: StatusCanceled, Err: err}
	}
	var failed []error
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		return stepOutcome{Status: StatusFailed, Err: fmt.Errorf("%d of %d branches failed: %w", len(failed), len(s.Parallel), errors.Join(failed...))}
	}
	return stepOutcome{Summary: fmt.Sprintf("%d branches succeeded", len(s.Parallel)), Status: StatusSucceeded}
}

func (r *run) execChild(ctx workflow.Context, st *StepState, s *runbook.Step) stepOutcome {
	params, err := r.renderArgs(s.With)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("params of runbook %s: %v", s.Runbook, err), ErrInvalidInput, nil)}
	}
	st.Args = params
	childID := ChildID(r.info.WorkflowExecution.ID, s.ID)
	st.ChildID = childID
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: childID,
		TaskQueue:  r.info.TaskQueueName,
		// The child is part of the parent's operation: it must not outlive it.
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_TERMINATE,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         fmt.Sprintf("%s (nested in %s)", s.Runbook, r.in.Runbook),
	})
	var res Result
	err = workflow.ExecuteChildWorkflow(cctx, RunbookWorkflowType, RunInput{
		Runbook: s.Runbook, Environment: r.in.Environment, Params: params, Mode: r.in.Mode,
		RequestedBy: r.in.RequestedBy, Trigger: Trigger{Kind: "runbook", Detail: r.in.Runbook}, Parent: r.info.WorkflowExecution.ID,
		Ungraceful: r.childUngraceful(params),
	}).Get(ctx, &res)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: err}
	}
	r.inheritUnprotected(&res)
	out := map[string]any{"outcome": res.Outcome}
	steps := map[string]any{}
	for _, id := range workflow.DeterministicKeys(res.StepResults) {
		steps[id] = res.StepResults[id]
	}
	out["steps"] = steps
	status := StatusSucceeded
	if res.Outcome == OutcomePlanned {
		status = StatusPlanned
	}
	return stepOutcome{Result: out, Summary: fmt.Sprintf("runbook %s %s", s.Runbook, res.Outcome), Status: status}
}

func (r *run) execNotify(ctx workflow.Context, st *StepState, s *runbook.Step) stepOutcome {
	v, err := runbook.Render(s.Notify.Message, r.scope)
	if err != nil {
		return stepOutcome{Status: StatusFailed, Err: temporal.NewNonRetryableApplicationError(fmt.Sprintf("message: %v", err), ErrInvalidInput, nil)}
	}
	text := fmt.Sprint(v)
	if r.in.Mode == ModePlan {
		return stepOutcome{Summary: "would notify: " + text, Status: StatusPlanned}
	}
	r.out.post(Notification{Kind: NotifyMessage, Step: s.ID, Text: text, Channel: s.Notify.Channel})
	return stepOutcome{Result: map[string]any{"text": text}, Summary: text, Status: StatusSucceeded}
}

// compensate runs the compensations of completed steps, newest first. A failing compensation is
// reported and the others still run: stopping half-way would leave the system in a worse state.
func (r *run) compensate(ctx workflow.Context) error {
	if ctx.Err() != nil {
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	var errs []error
	for i := len(r.comp) - 1; i >= 0; i-- {
		s := r.comp[i]
		prefix := "compensate/" + s.ID
		r.declare(prefix, s.Compensate)
		if err := r.runSteps(ctx, prefix, s.Compensate); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *run) finish(ctx workflow.Context, err error) (*Result, error) {
	now := workflow.Now(ctx)
	r.progress.EndedAt = &now
	r.progress.Current = nil
	switch {
	case err == nil && r.in.Mode == ModePlan:
		r.progress.Outcome = OutcomePlanned
	case err == nil && r.progress.Unprotected != "":
		r.progress.Outcome = OutcomeSucceededUnprotected
	case err == nil:
		r.progress.Outcome = OutcomeSucceeded
	case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
		r.progress.Outcome = OutcomeCanceled
	case r.progress.Outcome == OutcomeRolledBack:
	case r.expired(ctx, err):
		r.progress.Outcome = OutcomeExpired
	default:
		r.progress.Outcome = OutcomeFailed
	}
	if err != nil {
		r.progress.Error = errorMessage(err)
	}
	actx := ctx
	if ctx.Err() != nil {
		actx, _ = workflow.NewDisconnectedContext(ctx)
	}
	if uerr := workflow.UpsertTypedSearchAttributes(actx, SAOutcome.ValueSet(r.progress.Outcome)); uerr != nil {
		r.logger.Warn("set Outcome search attribute", "err", uerr)
	}
	m := Measure(&r.progress)
	r.progress.Measures = &m
	r.observeRunEnd(ctx)
	summary := fmt.Sprintf("%s on %s: %s", r.in.Runbook, r.in.Environment, r.progress.Outcome)
	if r.progress.Error != "" {
		summary += ": " + r.progress.Error
	}
	if r.progress.Unprotected != "" {
		summary += ": not re-protected: " + r.progress.Unprotected
	}
	if ms := m.String(); ms != "" {
		summary += " — " + ms
	}
	r.out.post(Notification{Kind: NotifySummary, Text: summary})
	r.out.drain(actx)
	// Let in-flight approval updates return before the run closes, so callers get an answer.
	_ = workflow.Await(actx, func() bool { return workflow.AllHandlersFinished(actx) })

	res := &Result{Progress: r.progress, StepResults: r.results}
	if err == nil {
		return res, nil
	}
	if r.rb == nil {
		// Loading failed: nothing ran, so the error itself is the whole story.
		return nil, err
	}
	var appErr *temporal.ApplicationError
	// A run under the wrong workflow id ran nothing: its refusal is the whole story.
	if errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() == ErrWrongWorkflow {
		return nil, err
	}
	// The run failed: fail the workflow (so the UI shows it red) but carry the report as details.
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("runbook %s %s: %s", r.in.Runbook, r.progress.Outcome, r.progress.Error), ErrStepFailed, err, res)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func summarize(result map[string]any) string {
	if s, ok := result["summary"].(string); ok {
		return s
	}
	if s, ok := result["reason"].(string); ok {
		return s
	}
	return ""
}

func formatArgs(args map[string]any) string {
	keys := workflow.DeterministicKeys(args)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, args[k])
	}
	return strings.Join(parts, " ")
}

// retryable tells whether a failed local attempt is worth a scheduled one: not when the activity
// said no for good (AccessDenied, validation) or the run was canceled.
func retryable(err error) bool {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return false
	}
	var canceled *temporal.CanceledError
	return !errors.As(err, &canceled)
}
