package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Operators' controls of a running run (issue 17): the control update and signal, their one
// validator, and what each control does to the interpreter.
//
// Decision table (run/step state × control → result); anything not listed is refused by the
// validator, which writes nothing to history (the signal records the refusal in
// Progress.Ignored):
//
//	state                                   pause    resume   retry                  skip                   abort                     ungraceful
//	running, between or inside steps        hold     refused  refused¹               refused                fail the run²             switch³
//	held (paused between steps)             refused  go on    refused¹               refused                fail the run²             switch³
//	a step paused on its failure            hold     refused⁴ run it again (with:)   mark skipped, result   fail the run² (the        switch³
//	                                                                                 null (skippable: false  step stays failed)
//	                                                                                 refused)
//	a check waiting between its attempts    hold     refused  next attempt now       refused                fail the run²             switch³
//	an action or wait_until in flight       hold     refused  cancel, run it again¹  refused                fail the run²             switch³
//	rolling back, or ended                  refused  refused  refused                refused                refused                   refused
//
// ¹ retry names a step: one paused on its failure, or one of kind action, check or wait_until
// that is running; its Temporal activity (in its retry backoff or in an attempt) is cancelled and
// started again now (catalog actions set a desired state, so running one twice is safe), a check's
// own wait between attempts is cut short. A step running as its local first attempt is retried
// when it hands over to the scheduled activity or to the backoff.
// ² abort cancels what runs, marks the run failed, and with Control.Rollback runs the
// compensations of the steps done so far (outcome rolled_back when they all succeed).
// ³ ungraceful: params.ungraceful becomes true for every later step (if:, with:), a step whose
// rendered region argument is the source Region (the peer of target_region) is skipped, and a
// running nested runbook whose step passes ungraceful gets the same control by signal, and one
// started later starts switched (RunInput.Ungraceful); runbooks without an ungraceful param
// refuse it. force is not implied: the pre-flight interlock still
// needs ungraceful and force.
// ⁴ resume ends only a hold: a failed step needs retry, skip or abort.
//
// Every accepted control needs a comment and an operator allowed to approve the run (the
// environment's approvers and groups; anyone when it names none), not the requester where the
// runbook asks for two people (an approval that disallows self-approval). It is recorded
// (Progress.Controls, the update in history), posted to the run's thread, and listed in the report.

// controlState is the interpreter's state for operators' controls.
type controlState struct {
	// hold is the operator's pause between steps while it lasts.
	hold *Hold
	// abort is the abort control once applied.
	abort *Control
	// cancelRun cancels the steps of the run (not its compensations) on abort.
	cancelRun workflow.CancelFunc
	// compensating is set while the rollback runs: controls are refused then.
	compensating bool
	// paused are the steps paused on their failure, by path.
	paused map[string]*pausedStep
	// running are the action, check and wait_until steps in flight, by path, for retry now.
	running map[string]*runningStep
}

// Hold is an operator's pause between steps (ControlPause) while it lasts.
type Hold struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
	Source  string `json:"source,omitempty"`
}

type pausedStep struct {
	s        *runbook.Step
	state    PauseState
	decision *Control
}

type runningStep struct {
	s *runbook.Step
	// retryNow counts retry controls; a wait that sees it change is cut short.
	retryNow int
}

func (r *run) registerControls(ctx workflow.Context) error {
	r.ctl.paused = map[string]*pausedStep{}
	r.ctl.running = map[string]*runningStep{}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ControlUpdate,
		func(ctx workflow.Context, c Control) (AppliedControl, error) {
			return r.applyControl(ctx, c), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c Control) error {
			return r.validateControl(c)
		}},
	); err != nil {
		return fmt.Errorf("register control update: %w", err)
	}
	ch := workflow.GetSignalChannel(ctx, ControlSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var c Control
			if !ch.Receive(ctx, &c) {
				return
			}
			if err := r.validateControl(c); err != nil {
				msg := fmt.Sprintf("%s: control %s by %q on step %q ignored: %v", workflow.Now(ctx).UTC().Format("2006-01-02T15:04:05Z07:00"), c.Action, c.By, c.Step, err)
				r.progress.Ignored = append(r.progress.Ignored, msg)
				r.logger.Warn("control signal ignored", "action", c.Action, "step", c.Step, "by", c.By, "err", err)
				continue
			}
			r.applyControl(ctx, c)
		}
	})
	return nil
}

// validateControl is the control update's validator and the signal's filter: it must not change
// state, so a refused update leaves no trace in history.
func (r *run) validateControl(c Control) error {
	switch c.Action {
	case ControlPause, ControlResume, ControlRetry, ControlSkip, ControlAbort, ControlUngraceful:
	default:
		return fmt.Errorf("unknown control %q: want pause, resume, retry, skip, abort or ungraceful", c.Action)
	}
	if c.By == "" {
		return errors.New(`"by" is required: who sends the control`)
	}
	if strings.TrimSpace(c.Comment) == "" {
		return fmt.Errorf("a %s needs a comment: it is the record of why the runbook was overridden", c.Action)
	}
	if r.rb == nil || r.loaded == nil {
		return errors.New("too early: the run has not loaded its runbook yet")
	}
	if r.progress.EndedAt != nil || r.progress.Outcome != OutcomeRunning {
		return fmt.Errorf("too late: the run has ended (%s)", r.progress.Outcome)
	}
	if r.in.Mode != ModeExecute {
		return errors.New("a plan runs only read-only checks and cannot be controlled")
	}
	if r.ctl.compensating {
		return errors.New("too late: the run is rolling back; compensations run to their end")
	}
	if r.ctl.abort != nil {
		return fmt.Errorf("too late: the run was aborted by %s", r.ctl.abort.By)
	}
	approvers := r.loaded.Environment.Approvers
	if !authorized(approvers, Decision{By: c.By, Groups: c.Groups}) {
		return fmt.Errorf("%s may not control runs on environment %s (its approvers: %v)", c.By, r.in.Environment, approvers)
	}
	if c.By == r.in.RequestedBy && r.twoPerson() {
		return fmt.Errorf("%s requested this run and cannot control it: runbook %s asks for two people (an approval that disallows self-approval)", c.By, r.in.Runbook)
	}
	if len(c.With) > 0 && c.Action != ControlRetry {
		return fmt.Errorf("with: values only go with a retry, not a %s", c.Action)
	}
	switch c.Action {
	case ControlPause:
		if h := r.ctl.hold; h != nil {
			return fmt.Errorf("already paused by %s: %s", h.By, h.Comment)
		}
	case ControlResume:
		if r.ctl.hold == nil {
			if len(r.ctl.paused) > 0 {
				return fmt.Errorf("not paused between steps: step %s failed and waits for retry, skip or abort", strings.Join(r.pausedPaths(), ", "))
			}
			return errors.New("not paused: nothing to resume")
		}
	case ControlRetry:
		path, err := r.controlPath(c.Step, true)
		if err != nil {
			return err
		}
		p, paused := r.ctl.paused[path]
		if !paused {
			if len(c.With) > 0 {
				return fmt.Errorf("with: values go with the retry of a failed step; %s is running (retry without them cuts its wait short)", path)
			}
			return nil
		}
		return checkWith(p.s, c.With, r.scope)
	case ControlSkip:
		path, err := r.controlPath(c.Step, false)
		if err != nil {
			return err
		}
		if p := r.ctl.paused[path]; !p.s.CanSkip() || p.s.Kind() == runbook.KindApproval {
			return fmt.Errorf("step %s must not be skipped (skippable: false: it is an interlock); retry it, or abort the run", path)
		}
	case ControlUngraceful:
		if r.progress.Ungraceful {
			return errors.New("already ungraceful")
		}
		if !r.hasParam("ungraceful") {
			return fmt.Errorf("runbook %s has no ungraceful mode (no ungraceful param)", r.in.Runbook)
		}
		if v, _ := r.scope.Params["ungraceful"].(bool); v {
			return errors.New("already ungraceful: the run was started with ungraceful=true")
		}
	}
	return nil
}

// controlPath resolves the step a retry or skip names (an id or a path) to the path of a step
// paused on its failure or, for a retry, a running action, check or wait_until step. An empty
// step is fine when exactly one step is paused.
func (r *run) controlPath(step string, orRunning bool) (string, error) {
	if step == "" {
		if paths := r.pausedPaths(); len(paths) == 1 {
			return paths[0], nil
		}
		return "", errors.New(`"step" is required: which step`)
	}
	var candidates []string
	for _, p := range r.pausedPaths() {
		if p == step || r.ctl.paused[p].s.ID == step {
			candidates = append(candidates, p)
		}
	}
	if orRunning {
		for _, st := range r.progress.Steps {
			if rs, ok := r.ctl.running[st.Path]; ok && (st.Path == step || rs.s.ID == step) && !slices.Contains(candidates, st.Path) {
				candidates = append(candidates, st.Path)
			}
		}
	}
	switch len(candidates) {
	case 1:
		return candidates[0], nil
	case 0:
		status := "not a step of this run"
		if i, ok := r.index[step]; ok {
			status = "it is " + string(r.progress.Steps[i].Status)
		} else {
			for _, st := range r.progress.Steps {
				if st.ID == step {
					status = "it is " + string(st.Status)
					break
				}
			}
		}
		want := "paused on its failure"
		if orRunning {
			want = "paused on its failure nor a running action, check or wait"
		}
		// A step of a nested runbook is controlled in its own run.
		var nested []string
		for _, st := range r.progress.Steps {
			if st.ChildID != "" && st.Status == StatusRunning {
				nested = append(nested, st.ChildID)
			}
		}
		if len(nested) > 0 {
			status += "; steps of nested runbooks are controlled in their own runs: " + strings.Join(nested, ", ")
		}
		return "", fmt.Errorf("too late or wrong step: step %q is not %s (%s)", step, want, status)
	}
	return "", fmt.Errorf("step %q is ambiguous: name one of %s", step, strings.Join(candidates, ", "))
}

func (r *run) pausedPaths() []string {
	var out []string
	for _, st := range r.progress.Steps {
		if _, ok := r.ctl.paused[st.Path]; ok {
			out = append(out, st.Path)
		}
	}
	return out
}

// twoPerson reports whether the runbook asks for two people: an approval step that disallows
// self-approval. Its requester may then not control the run either.
func (r *run) twoPerson() bool {
	two := false
	var walk func(steps []runbook.Step)
	walk = func(steps []runbook.Step) {
		for i := range steps {
			s := &steps[i]
			if s.Approval != nil && !s.Approval.SelfApprovalAllowed() {
				two = true
			}
			walk(s.Parallel)
			walk(s.Steps)
		}
	}
	walk(r.rb.Steps)
	return two
}

func (r *run) hasParam(name string) bool {
	for _, p := range r.rb.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// checkWith checks a retry's with: values against the step's catalog arguments: known names,
// literal values of the argument's type (an expression is rendered against the run's scope).
func checkWith(s *runbook.Step, with map[string]any, scope runbook.Scope) error {
	if len(with) == 0 {
		return nil
	}
	switch s.Kind() {
	case runbook.KindAction, runbook.KindCheck, runbook.KindWaitUntil, runbook.KindRunbook:
	default:
		return fmt.Errorf("with: values apply to action, check, wait_until and runbook steps; step %s is a %s", s.ID, s.Kind())
	}
	var errs []error
	for _, k := range workflow.DeterministicKeys(with) {
		v := with[k]
		if str, ok := v.(string); ok && strings.Contains(str, "${{") {
			rendered, err := runbook.Render(str, scope)
			if err != nil {
				errs = append(errs, fmt.Errorf("with.%s: %w", k, err))
				continue
			}
			v = rendered
		}
		if s.Kind() == runbook.KindRunbook || s.ArgTypes == nil {
			continue // a nested runbook checks its own params when it loads
		}
		t, ok := s.ArgTypes[k]
		if !ok {
			errs = append(errs, fmt.Errorf("with.%s: not an argument of %s (its arguments: %s)", k, what(s), strings.Join(workflow.DeterministicKeys(s.ArgTypes), ", ")))
			continue
		}
		if err := catalog.CheckLiteral(t, v); err != nil {
			errs = append(errs, fmt.Errorf("with.%s: %w", k, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retry of step %s: %w", s.ID, err)
	}
	return nil
}

// applyControl applies a validated control: it records it, posts it to the run's thread and
// changes what the interpreter does next.
func (r *run) applyControl(ctx workflow.Context, c Control) AppliedControl {
	a := AppliedControl{Control: c, At: workflow.Now(ctx)}
	switch c.Action {
	case ControlPause:
		r.ctl.hold = &Hold{By: c.By, Comment: c.Comment, Source: c.Source}
		r.progress.Hold = r.ctl.hold
		a.Result = "run paused: no new step starts until resume"
	case ControlResume:
		r.ctl.hold, r.progress.Hold = nil, nil
		a.Result = "run resumed"
	case ControlRetry:
		path, _ := r.controlPath(c.Step, true)
		a.Path = path
		if p, ok := r.ctl.paused[path]; ok {
			p.decision = &c
			a.Result = "step " + path + " runs again"
			if len(c.With) > 0 {
				a.Result += " with " + formatArgs(c.With)
			}
		} else if rs, ok := r.ctl.running[path]; ok {
			rs.retryNow++
			a.Result = "step " + path + " tried again now"
		}
	case ControlSkip:
		path, _ := r.controlPath(c.Step, false)
		a.Path = path
		r.ctl.paused[path].decision = &c
		a.Result = "step " + path + " skipped (result null)"
	case ControlAbort:
		r.ctl.abort = &c
		if r.ctl.cancelRun != nil {
			r.ctl.cancelRun()
		}
		a.Result = "run aborted without rollback"
		if c.Rollback {
			a.Result = "run aborted; rolling back the steps done so far"
		}
	case ControlUngraceful:
		a.Result = r.switchUngraceful(ctx, c)
	}
	r.progress.Controls = append(r.progress.Controls, a)
	r.logger.Info("control applied", "action", c.Action, "step", a.Path, "by", c.By, "comment", c.Comment)
	text := fmt.Sprintf("%s by %s: %s — %q", c.Action, c.By, a.Result, c.Comment)
	r.out.post(Notification{Kind: NotifyMessage, Step: a.Path, Text: text})
	return a
}

// switchUngraceful makes the rest of the run ungraceful (see the table above) and returns what
// it did.
func (r *run) switchUngraceful(ctx workflow.Context, c Control) string {
	r.markUngraceful()
	var children []string
	for i := range r.progress.Steps {
		st := &r.progress.Steps[i]
		if st.Status != StatusRunning || st.ChildID == "" || st.Kind != runbook.KindRunbook {
			continue
		}
		if _, passes := st.Args["ungraceful"]; !passes {
			continue
		}
		children = append(children, st.ChildID)
		fwd := c
		fwd.Source = "runbook"
		// Best effort: a child that ended meanwhile has nothing left to switch.
		workflow.SignalExternalWorkflow(ctx, st.ChildID, "", ControlSignal, fwd)
	}
	out := "from now on steps that call the source Region are skipped"
	if r.progress.SourceRegion != "" {
		out = fmt.Sprintf("from now on steps that call the source Region %s are skipped", r.progress.SourceRegion)
	}
	if len(children) > 0 {
		out += "; nested " + strings.Join(children, ", ") + " switched too"
	}
	return out
}

// markUngraceful switches the rest of the run to ungraceful: params.ungraceful for later steps,
// and the source Region whose calls are skipped.
func (r *run) markUngraceful() {
	r.progress.Ungraceful = true
	r.scope.Params["ungraceful"] = true
	if r.rb.TargetRegion != "" {
		if v, err := runbook.Eval(r.rb.TargetRegion, r.scope); err == nil {
			if target, ok := v.(string); ok {
				r.progress.SourceRegion = r.scope.Peers[target]
			}
		}
	}
}

// inheritUngraceful starts a nested run switched to ungraceful when its parent was switched
// (RunInput.Ungraceful).
func (r *run) inheritUngraceful() {
	if r.in.Ungraceful && r.hasParam("ungraceful") {
		r.markUngraceful()
	}
}

// childUngraceful tells whether a nested run with these params starts switched to ungraceful:
// when this run was switched and passes it ungraceful (a nested failback, which has no
// ungraceful mode, is not switched).
func (r *run) childUngraceful(params map[string]any) bool {
	_, passes := params["ungraceful"]
	return r.progress.Ungraceful && passes
}

// holdBeforeStep waits while an operator holds the run between steps, and stops a run that was
// aborted before the step starts.
func (r *run) holdBeforeStep(ctx workflow.Context) error {
	if r.ctl.compensating {
		return nil
	}
	if r.ctl.hold != nil {
		if err := workflow.Await(ctx, func() bool { return r.ctl.hold == nil || r.ctl.abort != nil }); err != nil {
			return err
		}
	}
	if r.ctl.abort != nil {
		return r.abortError()
	}
	return nil
}

func (r *run) abortError() error {
	c := r.ctl.abort
	how := "without rollback"
	if c.Rollback {
		how = "with rollback"
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("aborted by %s (%s): %s", c.By, how, c.Comment), ErrStepFailed, nil)
}

// skipsForUngraceful skips a step of a run switched to ungraceful when it would call the source
// Region (its rendered region argument); it reports whether it did.
func (r *run) skipsForUngraceful(ctx workflow.Context, st *StepState, s *runbook.Step) bool {
	if !r.progress.Ungraceful || r.progress.SourceRegion == "" {
		return false
	}
	with := s.With
	switch s.Kind() {
	case runbook.KindAction, runbook.KindCheck:
	case runbook.KindWaitUntil:
		with = s.WaitUntil.With
	default:
		return false
	}
	args, err := r.renderArgs(with)
	if err != nil {
		return false // the step reports its own argument error
	}
	if region, _ := args["region"].(string); region != r.progress.SourceRegion {
		return false
	}
	r.finishStep(ctx, st, s, stepOutcome{Status: StatusSkipped, Summary: "ungraceful: skipped, it calls the source Region " + r.progress.SourceRegion})
	return true
}

// pausesOn reports whether a failure of s pauses the run (on_failure: pause, or the
// environment's pause for a DR runbook's step that would stop it). Plans, rollbacks, approvals
// (a rejection or a timeout is a decision already) and re-protection milestones never pause.
func (r *run) pausesOn(s *runbook.Step) bool {
	if r.in.Mode != ModeExecute || r.ctl.compensating || s.Kind() == runbook.KindApproval || r.ctl.abort != nil {
		return false
	}
	if s.OnFailure == runbook.OnFailurePause {
		return true
	}
	if !r.rb.Exclusive() || s.Milestone == runbook.MilestoneReprotected {
		return false
	}
	return s.PausesOnFailure(&r.loaded.Environment)
}

// pauseOnFailure pauses the run on a failed step until an operator decides; it returns the
// decision (retry or skip), or nil when the run was aborted or canceled meanwhile.
func (r *run) pauseOnFailure(ctx workflow.Context, path string, st *StepState, s *runbook.Step, err error) *Control {
	controls := []string{ControlRetry}
	if s.CanSkip() {
		controls = append(controls, ControlSkip)
	}
	controls = append(controls, ControlAbort)
	p := &pausedStep{s: s, state: PauseState{
		Step: s.ID, Path: path, Error: errorMessage(err), Controls: controls, Approvers: r.loaded.Environment.Approvers,
	}}
	r.ctl.paused[path] = p
	defer delete(r.ctl.paused, path)
	st.Status, st.Error = StatusPaused, p.state.Error
	state := p.state
	st.Pause = &state
	r.setCurrent(ctx)
	r.out.post(Notification{Kind: NotifyPaused, Step: s.ID, Text: fmt.Sprintf("step %s failed: %s\npaused: %s", path, p.state.Error, strings.Join(controls, ", ")), Pause: &state})

	_ = workflow.Await(ctx, func() bool { return p.decision != nil || r.ctl.abort != nil })
	d := p.decision
	if d == nil && r.ctl.abort != nil {
		d = r.ctl.abort
	}
	final := p.state
	if d != nil {
		at := workflow.Now(ctx)
		final.Action, final.By, final.Comment, final.Rollback, final.Source, final.At = d.Action, d.By, d.Comment, d.Rollback, d.Source, &at
	}
	st.Pause = &final
	r.out.post(Notification{Kind: NotifyPauseUpdate, Step: s.ID, Text: pauseOutcome(path, &final), Pause: &final})
	if p.decision == nil {
		return nil
	}
	return p.decision
}

func pauseOutcome(path string, p *PauseState) string {
	switch p.Action {
	case ControlRetry:
		return fmt.Sprintf("step %s: retried by %s: %s", path, p.By, p.Comment)
	case ControlSkip:
		return fmt.Sprintf("step %s: skipped by %s: %s", path, p.By, p.Comment)
	case ControlAbort:
		return fmt.Sprintf("step %s: run aborted by %s: %s", path, p.By, p.Comment)
	}
	return fmt.Sprintf("step %s: the run ended while it was paused", path)
}

// retried is the step to run again after a retry control: s itself, or a copy with the
// control's with: values over its own.
func retried(s *runbook.Step, with map[string]any) *runbook.Step {
	if len(with) == 0 {
		return s
	}
	cp := *s
	merge := func(base map[string]any) map[string]any {
		out := make(map[string]any, len(base)+len(with))
		for _, k := range workflow.DeterministicKeys(base) {
			out[k] = base[k]
		}
		for _, k := range workflow.DeterministicKeys(with) {
			out[k] = with[k]
		}
		return out
	}
	if s.WaitUntil != nil {
		w := *s.WaitUntil
		w.With = merge(w.With)
		cp.WaitUntil = &w
	} else {
		cp.With = merge(s.With)
	}
	return &cp
}

// track registers a running action, check or wait_until step for retry now; the returned func
// unregisters it.
func (r *run) track(path string, s *runbook.Step) (*runningStep, func()) {
	rs := &runningStep{s: s}
	r.ctl.running[path] = rs
	return rs, func() {
		if r.ctl.running[path] == rs {
			delete(r.ctl.running, path)
		}
	}
}

// retryable runs call (one activity, started with the context it is given) and starts it again
// whenever a retry control arrives before it completes: the activity in flight, or waiting in
// its retry backoff on the server, is cancelled. Without a control it issues exactly the commands
// call alone would.
func (rs *runningStep) retryable(ctx workflow.Context, call func(ctx workflow.Context) workflow.Future, result any) error {
	for {
		cctx, cancel := workflow.WithCancel(ctx)
		seen := rs.retryNow
		f := call(cctx)
		_ = workflow.Await(ctx, func() bool { return f.IsReady() || rs.retryNow != seen })
		if f.IsReady() || rs.retryNow == seen || ctx.Err() != nil {
			err := f.Get(ctx, result)
			cancel()
			return err
		}
		cancel()
		_ = f.Get(ctx, nil) // the cancellation
	}
}

// sleep waits d between a check's attempts, cut short by a retry control. Without a control it
// issues the commands workflow.Sleep would.
func (rs *runningStep) sleep(ctx workflow.Context, d time.Duration) error {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	seen := rs.retryNow
	t := workflow.NewTimer(tctx, d)
	if err := workflow.Await(ctx, func() bool { return t.IsReady() || rs.retryNow != seen }); err != nil {
		return err
	}
	if t.IsReady() {
		return t.Get(ctx, nil)
	}
	return nil
}
