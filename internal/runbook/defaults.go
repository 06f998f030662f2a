package runbook

import (
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// What a runbook may leave out, and the value it then gets. normalize writes these into the
// runbook once, when the file is parsed, so the validator, the interpreter and the schema's hover
// text read one value instead of each knowing the default.
const (
	// DefaultLock is a runbook's lock: a DR operation, never beside another on its environment.
	DefaultLock = LockEnvironment
	// DefaultOnFailure is what a step's failure does: stop the run.
	DefaultOnFailure = OnFailureAbort
	// DefaultWaitInterval is how often wait_until polls.
	DefaultWaitInterval = 10 * time.Second
	// DefaultQuorum is how many distinct approvers an approval needs.
	DefaultQuorum = 1
	// DefaultOnTimeout is what an approval nobody decided in time does: stop the run.
	DefaultOnTimeout = TimeoutAbort
	// DefaultStepTimeout is the start-to-close timeout of an action or check without timeout:,
	// raised to cover its entry's run-time bound (see CallTimeout).
	DefaultStepTimeout = 2 * time.Minute
)

// normalize fills in what the file left out (the Default* values) and what the catalog decides
// for each step (read-only, local, run-time bounds). It runs once, right after decoding and before
// validation, on every runbook the loader parses. A field written with a value keeps it, even an
// invalid one, so the validator reports what the file says; an approval's quorum is filled only
// when it is not written, since `quorum: 0` is a mistake to report, not a default to apply.
func normalize(rb *Runbook, pos posTable, cat *catalog.Catalog) {
	if rb.Lock == "" {
		rb.Lock = DefaultLock
	}
	forEachStep(rb.Steps, func(s *Step) {
		if s.OnFailure == "" {
			s.OnFailure = DefaultOnFailure
		}
		if w := s.WaitUntil; w != nil && w.Interval == 0 {
			w.Interval = Duration(DefaultWaitInterval)
		}
		if a := s.Approval; a != nil {
			if a.Quorum == 0 && !pos.has(a, "quorum") {
				a.Quorum = DefaultQuorum
			}
			if a.OnTimeout == "" {
				a.OnTimeout = DefaultOnTimeout
			}
		}
	})
	for i := range rb.Steps {
		fillReadOnly(&rb.Steps[i], cat)
	}
}

// fillReadOnly sets Step.ReadOnly: plan mode runs only read-only steps, so a step is read-only
// only when it certainly changes nothing. With the catalog it also sets RunLocal and Bounds.
func fillReadOnly(s *Step, cat *catalog.Catalog) bool {
	for i := range s.Compensate {
		fillReadOnly(&s.Compensate[i], cat)
	}
	ro := false
	switch s.Kind() {
	case KindWaitUntil, KindWorkflow:
		ro = true // a child workflow step names only read-only workflows (ChildWorkflows)
		if cat != nil && s.WaitUntil != nil {
			spec, _ := cat.Lookup(s.WaitUntil.Check)
			s.ArgTypes = argTypes(spec)
		}
	case KindCheck:
		ro = true
		if cat != nil {
			spec, ok := cat.Lookup(s.Check)
			s.RunLocal = ok && spec.Local
			s.Bounds = spec.Bounds()
			s.ArgTypes = argTypes(spec)
		}
	case KindAction:
		if cat != nil {
			spec, ok := cat.Lookup(s.Action)
			ro = ok && spec.ReadOnly
			s.RunLocal = ok && spec.Local
			s.Bounds = spec.Bounds()
			s.ArgTypes = argTypes(spec)
		}
	case KindParallel, KindSequence:
		ro = true
		for _, children := range [][]Step{s.Parallel, s.Steps} {
			for i := range children {
				// Every child is visited, so each gets its own flag.
				ro = fillReadOnly(&children[i], cat) && ro
			}
		}
	}
	if s.Local != nil {
		s.RunLocal = *s.Local
	}
	// approval and notify have effects on people; a nested runbook decides for its own steps.
	s.ReadOnly = ro
	return ro
}

// argTypes maps a catalog entry's arguments to their types (nil for an unknown entry, which the
// validator reports).
func argTypes(spec catalog.Spec) map[string]catalog.Type {
	if len(spec.Args) == 0 {
		return nil
	}
	out := make(map[string]catalog.Type, len(spec.Args))
	for _, f := range spec.Args {
		out[f.Name] = f.Type
	}
	return out
}

// CanSkip reports whether an operator may skip the step after it failed: every step may, except
// those marked skippable: false (interlocks such as failover's pre-flight verdict).
func (s *Step) CanSkip() bool { return s.Skippable == nil || *s.Skippable }

// PausesOnFailure reports whether a failure of the step waits for an operator's decision: its
// own on_failure: pause, or the environment's on_failure: pause for a step whose failure would
// stop the run (abort or rollback; continue already lets the run go on).
func (s *Step) PausesOnFailure(env *Environment) bool {
	switch s.OnFailure {
	case OnFailurePause:
		return true
	case OnFailureAbort, OnFailureRollback, "":
		return env != nil && env.OnFailure == OnFailurePause
	}
	return false
}

// SelfApprovalAllowed reports whether the person who requested the run counts towards the quorum:
// as allow_self_approval says, else only for a quorum of one (a quorum of two or more is a
// two-person rule). It is derived from the quorum rather than filled in, so runs recorded before
// normalize existed decide the same way on replay.
func (a *Approval) SelfApprovalAllowed() bool {
	if a.AllowSelfApproval != nil {
		return *a.AllowSelfApproval
	}
	return a.Quorum <= 1
}

// CallTimeout is the start-to-close timeout of an action or check step called with args: its own
// timeout when it has one (the loader refused one that cannot cover its entry's bound), else
// DefaultStepTimeout raised to cover the run-time bound of its entry with these arguments (a
// soak's duration, a wait's timeout) plus catalog.BoundMargin. Without that, a 5m soak under the
// default would time out, retry and time out again. It depends on the rendered arguments, so the
// interpreter asks for it at each call rather than the loader filling it in.
func (s *Step) CallTimeout(args map[string]any) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout.D()
	}
	bound, _ := catalog.RunBound(s.Bounds, args)
	return max(DefaultStepTimeout, catalog.MinTimeout(bound))
}
