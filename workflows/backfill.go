package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Error types of backfill verification failures (defined in wire, with the other error types).
const (
	ErrBackfillNotConverged = wire.ErrBackfillNotConverged
	ErrRegionUnreachable    = wire.ErrRegionUnreachable
)

// backfillIterationsPerRun bounds the loop iterations of one run before it continues as new,
// so the history stays small even when the server never suggests it.
const backfillIterationsPerRun = 100

// The backfill verification's input and the requests and results of its activities cross the
// workflow/activity boundary, so they are defined in wire; these aliases keep this package's
// callers unchanged.
type (
	BackfillInput   = wire.BackfillInput
	BackfillPlan    = wire.BackfillPlan
	BackfillState   = wire.BackfillState
	GateRequest     = wire.GateRequest
	GateResult      = wire.GateResult
	ReplicatorGate  = wire.ReplicatorGate
	ConsumerLagGate = wire.ConsumerLagGate
	DLQGate         = wire.DLQGate
	CompareRequest  = wire.CompareRequest
	CompareResult   = wire.CompareResult
)

// Backfill verification phases, as the progress query reports them.
const (
	BackfillResolving = "resolving"
	BackfillGating    = "gates"
	BackfillComparing = "comparing"
	BackfillWaiting   = "waiting"
	BackfillConverged = "converged"
	BackfillFailed    = "failed"
)

// BackfillProgress is what the progress query returns for a BackfillVerificationWorkflow.
type BackfillProgress struct {
	Phase          string      `json:"phase"`
	Environment    string      `json:"environment"`
	Source         string      `json:"source"`
	Target         string      `json:"target"`
	From           time.Time   `json:"from"`
	To             *time.Time  `json:"to,omitempty"`
	Deadline       time.Time   `json:"deadline"`
	Passes         int         `json:"passes"`
	BucketsChecked int64       `json:"buckets_checked"`
	DocsCompared   int64       `json:"docs_compared"`
	DivergentNow   int64       `json:"divergent_now"`
	Missing        int64       `json:"missing"`
	Duplicates     int64       `json:"duplicates"`
	Requests       int64       `json:"requests"`
	LastGates      *GateResult `json:"last_gates,omitempty"`
	LastError      string      `json:"last_error,omitempty"`
}

// BackfillResult is a verification's final report; a failed run carries it as error details.
type BackfillResult struct {
	Converged   bool             `json:"converged"`
	Reason      string           `json:"reason"`
	Environment string           `json:"environment"`
	Source      string           `json:"source"`
	Target      string           `json:"target"`
	Passes      int              `json:"passes"`
	Requests    int64            `json:"requests"`
	DLQObjects  int64            `json:"dlq_objects"`
	StartedAt   time.Time        `json:"started_at"`
	EndedAt     time.Time        `json:"ended_at"`
	Gates       *GateResult      `json:"gates,omitempty"`
	Report      *backfill.Report `json:"report,omitempty"`
}

// BackfillVerificationWorkflow proves that Target holds every document Source received since the
// window start: it waits for the pipeline gates (replicator caught up, ingestion drained), then
// runs reconciliation passes on durable timers until no more than Tolerance documents are missing
// or Timeout passes. It never reports converged without a completed pass in which both Regions
// answered.
func BackfillVerificationWorkflow(ctx workflow.Context, in BackfillInput) (*BackfillResult, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	v := &verification{in: in.WithDefaults(), st: in.State, phase: BackfillResolving}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, v.progress); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	if v.st == nil {
		if err := v.resolve(ctx); err != nil {
			return nil, err
		}
	}
	return v.run(ctx)
}

// verification is the workflow's state for one run.
type verification struct {
	in        BackfillInput
	st        *BackfillState
	phase     string
	lastTo    *time.Time
	lastError string
}

func (v *verification) progress() (BackfillProgress, error) {
	p := BackfillProgress{Phase: v.phase, Environment: v.in.Environment, Source: v.in.Source, Target: v.in.Target,
		To: v.lastTo, LastError: v.lastError}
	if v.st == nil {
		return p, nil
	}
	p.From, p.Deadline, p.Passes, p.Requests, p.LastGates = v.st.Plan.From, v.st.Deadline, v.st.Passes, v.st.Requests, v.st.LastGates
	if lp := v.st.LastPass; lp != nil {
		r := lp.Report
		p.BucketsChecked, p.DocsCompared, p.DivergentNow, p.Missing = r.BucketsChecked, r.DocsCompared, r.LeavesDivergent, r.MissingDocs()
		p.Duplicates = r.SourceDuplicates.IDs + r.TargetDuplicates.IDs
	}
	return p, nil
}

// resolve loads the environment once (a local activity: a file read on the worker, recorded in
// history) and fixes the plan and the deadline for the whole verification.
func (v *verification) resolve(ctx workflow.Context) error {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var env runbook.Environment
	if err := workflow.ExecuteLocalActivity(lctx, BackfillEnvironmentActivity, v.in.Environment).Get(ctx, &env); err != nil {
		msg := fmt.Sprintf("load environment %q: %s", v.in.Environment, errorMessage(err))
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, appErr.Type(), nil)
		}
		return temporal.NewNonRetryableApplicationError(msg, ErrInvalidInput, nil)
	}
	plan, err := v.in.Plan(env, workflow.Now(ctx))
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	now := workflow.Now(ctx)
	v.st = &BackfillState{Plan: plan, StartedAt: now, Deadline: now.Add(v.in.Timeout.D())}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAEnvironment.ValueSet(plan.Environment), SATargetRegion.ValueSet(plan.Target)); err != nil {
		workflow.GetLogger(ctx).Warn("set search attributes", "err", err)
	}
	return nil
}

var backfillRetry = &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5}

func (v *verification) run(ctx workflow.Context) (*BackfillResult, error) {
	plan := v.st.Plan
	gctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute, RetryPolicy: backfillRetry,
		Summary: fmt.Sprintf("pipeline gates into %s", plan.Target),
	})
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: v.in.PassTimeout.D(), HeartbeatTimeout: time.Minute, RetryPolicy: backfillRetry,
		Summary: fmt.Sprintf("reconcile %s against %s", plan.Target, plan.Source),
	})
	for iteration := 0; ; iteration++ {
		if iteration >= backfillIterationsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return nil, v.continueAsNew(ctx)
		}
		v.phase = BackfillGating
		var gates GateResult
		err := workflow.ExecuteActivity(gctx, BackfillGatesActivity, GateRequest{Environment: plan.Environment, Target: plan.Target,
			TargetRegion: plan.TargetRegion, Topic: plan.Topic, Since: plan.From, AcceptDLQ: v.in.AcceptDLQ}).Get(ctx, &gates)
		if err != nil {
			return v.fail(ctx, err)
		}
		v.st.LastGates = &gates
		if gates.OK {
			if done, err := v.pass(ctx, cctx); done || err != nil {
				if err != nil {
					return v.fail(ctx, err)
				}
				return v.finish(ctx, true, v.convergedReason()), nil
			}
		}
		now := workflow.Now(ctx)
		if !now.Before(v.st.Deadline) {
			reason := v.notConvergedReason()
			res := v.finish(ctx, false, reason)
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("backfill of %s into %s not verified within %s: %s", plan.Environment, plan.Target, v.in.Timeout, reason),
				ErrBackfillNotConverged, nil, res)
		}
		v.phase = BackfillWaiting
		if err := workflow.Sleep(ctx, min(v.in.Interval.D(), v.st.Deadline.Sub(now))); err != nil {
			return v.fail(ctx, err)
		}
	}
}

// pass runs one reconciliation pass; done is true when it converged.
func (v *verification) pass(ctx, cctx workflow.Context) (done bool, err error) {
	plan := v.st.Plan
	to := workflow.Now(ctx).Add(-v.in.SettleDelay.D())
	if v.in.Until != nil {
		to = *v.in.Until
	}
	to = to.UTC()
	if !plan.From.Before(to) {
		return false, nil // the window has not settled yet
	}
	v.phase, v.lastTo = BackfillComparing, &to
	var res CompareResult
	err = workflow.ExecuteActivity(cctx, BackfillCompareActivity, CompareRequest{Environment: plan.Environment,
		Source: plan.Source, Target: plan.Target, SourceRegion: plan.SourceRegion, TargetRegion: plan.TargetRegion,
		Scope: plan.Scope, From: plan.From, To: to, Tolerance: v.in.Tolerance}).Get(ctx, &res)
	if err != nil {
		return false, err
	}
	v.st.Passes++
	v.st.Requests += res.Report.Requests.Total()
	v.st.LastPass = &res
	v.lastError = ""
	// Recomputed here rather than trusted from the activity, by the rule backfill.verify applies
	// too (backfill.PassConverged): the decision belongs to the workflow.
	converged, _ := backfill.PassConverged(&res.Report, plan.Target, backfill.Policy{Tolerance: v.in.Tolerance})
	return converged, nil
}

func (v *verification) convergedReason() string {
	r := v.st.LastPass.Report
	msg := fmt.Sprintf("%s holds every document of %s from %s to %s (%d compared",
		v.st.Plan.Target, v.st.Plan.Source, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.DocsCompared)
	if m := r.MissingDocs(); m > 0 {
		msg += fmt.Sprintf(", %d missing within tolerance %d", m, v.in.Tolerance)
	}
	if d := r.TargetDuplicates.IDs + r.SourceDuplicates.IDs; d > 0 {
		msg += fmt.Sprintf(", %d duplicated ids", d)
	}
	return msg + ")"
}

func (v *verification) notConvergedReason() string {
	if g := v.st.LastGates; g != nil && !g.OK {
		return "pipeline gates still closed: " + g.Reason
	}
	if lp := v.st.LastPass; lp != nil {
		r := lp.Report
		return fmt.Sprintf("%d documents still missing from %s (tolerance %d) after %d passes", r.MissingDocs(), v.st.Plan.Target, v.in.Tolerance, v.st.Passes)
	}
	return "no reconciliation pass completed"
}

func (v *verification) continueAsNew(ctx workflow.Context) error {
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	next := v.in
	st := *v.st
	st.Runs++
	next.State = &st
	return workflow.NewContinueAsNewError(ctx, BackfillVerificationType, next)
}

// fail ends the run on an activity error. It never reports converged.
func (v *verification) fail(ctx workflow.Context, err error) (*BackfillResult, error) {
	msg := errorMessage(err)
	v.lastError = msg
	// Keep the activity's error type when it is one of ours (RegionUnreachable) or a classified
	// permanent failure (AccessDenied, NotFound, ...); a retryable error that ran out of retries
	// may carry a Go type name, which callers must not match on.
	typ := ErrStepFailed
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() != "" && (appErr.NonRetryable() || appErr.Type() == ErrRegionUnreachable) {
		typ = appErr.Type()
	}
	if temporal.IsCanceledError(err) {
		return nil, err
	}
	res := v.finish(ctx, false, msg)
	return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("backfill verification of %s failed: %s", v.in.Environment, msg), typ, err, res)
}

func (v *verification) finish(ctx workflow.Context, converged bool, reason string) *BackfillResult {
	res := &BackfillResult{Converged: converged, Reason: reason, Environment: v.in.Environment, Source: v.in.Source, Target: v.in.Target,
		EndedAt: workflow.Now(ctx)}
	outcome := OutcomeFailed
	v.phase = BackfillFailed
	if converged {
		outcome, v.phase = OutcomeSucceeded, BackfillConverged
	}
	if v.st != nil {
		res.Passes, res.Requests, res.StartedAt, res.Gates = v.st.Passes, v.st.Requests, v.st.StartedAt, v.st.LastGates
		if v.st.LastGates != nil {
			res.DLQObjects = v.st.LastGates.DLQ.Objects
		}
		if v.st.LastPass != nil {
			r := v.st.LastPass.Report
			res.Report = &r
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAOutcome.ValueSet(outcome)); err != nil {
		workflow.GetLogger(ctx).Warn("set Outcome search attribute", "err", err)
	}
	return res
}
