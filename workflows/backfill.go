package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Error types of backfill verification failures.
const (
	// ErrBackfillNotConverged: the timeout passed with documents still missing or gates closed.
	ErrBackfillNotConverged = "BackfillNotConverged"
	// ErrRegionUnreachable: a Region's OpenSearch or Kafka did not answer, even after retries.
	ErrRegionUnreachable = "RegionUnreachable"
)

// Defaults of BackfillInput. The settle delay covers OpenSearch Serverless's 10-60 s refresh
// interval plus replication and ingestion lag, so the newest seconds are not reported missing
// merely because they are still in flight.
const (
	defaultBackfillMargin   = 15 * time.Minute
	defaultBackfillLookback = 24 * time.Hour
	defaultBackfillSettle   = 2 * time.Minute
	defaultBackfillInterval = time.Minute
	defaultBackfillTimeout  = 2 * time.Hour
	defaultBackfillPass     = 30 * time.Minute
	// backfillIterationsPerRun bounds the loop iterations of one run before it continues as new,
	// so the history stays small even when the server never suggests it.
	backfillIterationsPerRun = 100
)

// BackfillInput starts a BackfillVerificationWorkflow. Like RunInput it is one JSON object, so
// the Temporal UI's start form can send it; only environment, source and target are required.
type BackfillInput struct {
	Environment string `json:"environment"`
	// Source is the Region that took the writes during the impairment; Target the recovered
	// Region that must now hold them all.
	Source string `json:"source"`
	Target string `json:"target"`
	// IndexPattern, TimestampField and IDField default to the environment's. IDField "-" forces a
	// count-only comparison.
	IndexPattern   string `json:"index_pattern,omitempty"`
	TimestampField string `json:"timestamp_field,omitempty"`
	IDField        string `json:"id_field,omitempty"`
	// The window starts at Since; else at ImpairmentStart minus Margin (default 15m); else
	// Lookback (default 24h) before the run started.
	Since           *time.Time       `json:"since,omitempty"`
	ImpairmentStart *time.Time       `json:"impairment_start,omitempty"`
	Margin          runbook.Duration `json:"margin,omitempty"`
	Lookback        runbook.Duration `json:"lookback,omitempty"`
	// The window ends at Until; else SettleDelay (default 2m) before each pass starts.
	Until       *time.Time       `json:"until,omitempty"`
	SettleDelay runbook.Duration `json:"settle_delay,omitempty"`
	// Tolerance is how many documents may be missing for the Regions to count as converged.
	// Duplicates never block.
	Tolerance int64 `json:"tolerance,omitempty"`
	// AcceptDLQ lets objects in the target's dead-letter bucket pass the gates (they are still
	// reported); by default a DLQ object means documents the pipeline failed to write.
	AcceptDLQ bool `json:"accept_dlq,omitempty"`
	// Interval between passes (default 1m), Timeout of the whole verification (default 2h),
	// PassTimeout of one reconciliation pass (default 30m).
	Interval    runbook.Duration `json:"interval,omitempty"`
	Timeout     runbook.Duration `json:"timeout,omitempty"`
	PassTimeout runbook.Duration `json:"pass_timeout,omitempty"`
	// State is carried across continue-as-new; callers leave it empty.
	State *BackfillState `json:"state,omitempty"`
}

// BackfillPlan is everything a pass needs, resolved once from the environment at the start and
// then carried, so every pass (and every continued run) compares exactly the same things.
type BackfillPlan struct {
	Environment  string               `json:"environment"`
	Source       string               `json:"source"`
	Target       string               `json:"target"`
	SourceRegion runbook.RegionConfig `json:"source_region"`
	TargetRegion runbook.RegionConfig `json:"target_region"`
	Topic        string               `json:"topic"`
	Scope        backfill.Scope       `json:"scope"`
	From         time.Time            `json:"from"`
}

// BackfillState is the verification's state carried across continue-as-new.
type BackfillState struct {
	Plan      BackfillPlan   `json:"plan"`
	StartedAt time.Time      `json:"started_at"`
	Deadline  time.Time      `json:"deadline"`
	Passes    int            `json:"passes"`
	Requests  int64          `json:"requests"`
	Runs      int            `json:"runs"`
	LastGates *GateResult    `json:"last_gates,omitempty"`
	LastPass  *CompareResult `json:"last_pass,omitempty"`
}

// GateRequest asks whether the pipeline into the target has drained: the replicator into it,
// its ingestion pipeline's consumer group, and its dead-letter bucket.
type GateRequest struct {
	Environment  string               `json:"environment"`
	Target       string               `json:"target"`
	TargetRegion runbook.RegionConfig `json:"target_region"`
	Topic        string               `json:"topic"`
	Since        time.Time            `json:"since"`
	AcceptDLQ    bool                 `json:"accept_dlq,omitempty"`
}

// GateResult is the state of the pipeline gates; OK when all three pass.
type GateResult struct {
	OK          bool            `json:"ok"`
	Reason      string          `json:"reason"`
	Replicator  ReplicatorGate  `json:"replicator"`
	ConsumerLag ConsumerLagGate `json:"consumer_lag"`
	DLQ         DLQGate         `json:"dlq"`
}

// ReplicatorGate: the replicator into the target is RUNNING and its MessageLag is 0.
type ReplicatorGate struct {
	OK         bool     `json:"ok"`
	Reason     string   `json:"reason"`
	Name       string   `json:"name,omitempty"`
	State      string   `json:"state,omitempty"`
	MessageLag *float64 `json:"message_lag,omitempty"`
}

// ConsumerLagGate: the target's ingestion consumer group has consumed everything.
type ConsumerLagGate struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Group  string `json:"group,omitempty"`
	Topic  string `json:"topic,omitempty"`
	Lag    int64  `json:"lag"`
}

// DLQGate counts dead-letter objects written since the window start.
type DLQGate struct {
	OK      bool     `json:"ok"`
	Reason  string   `json:"reason"`
	Bucket  string   `json:"bucket,omitempty"`
	Objects int64    `json:"objects"`
	Bytes   int64    `json:"bytes"`
	Sample  []string `json:"sample,omitempty"`
}

// CompareRequest is one reconciliation pass.
type CompareRequest struct {
	Environment  string               `json:"environment"`
	Source       string               `json:"source"`
	Target       string               `json:"target"`
	SourceRegion runbook.RegionConfig `json:"source_region"`
	TargetRegion runbook.RegionConfig `json:"target_region"`
	Scope        backfill.Scope       `json:"scope"`
	From         time.Time            `json:"from"`
	To           time.Time            `json:"to"`
	Tolerance    int64                `json:"tolerance"`
}

// CompareResult is one pass's outcome.
type CompareResult struct {
	Converged bool            `json:"converged"`
	Report    backfill.Report `json:"report"`
}

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
	if err := in.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	v := &verification{in: in.withDefaults(), st: in.State, phase: BackfillResolving}
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

func (in BackfillInput) validate() error {
	var errs []error
	if in.Environment == "" {
		errs = append(errs, errors.New(`"environment" is required (an environment name, e.g. "lab")`))
	}
	if in.Source == "" || in.Target == "" {
		errs = append(errs, errors.New(`"source" (the Region that took the writes) and "target" (the recovered Region) are required`))
	} else if in.Source == in.Target {
		errs = append(errs, fmt.Errorf(`"source" and "target" are both %q: they must be the two Regions of the environment`, in.Source))
	}
	for _, d := range []struct {
		name string
		v    runbook.Duration
	}{{"margin", in.Margin}, {"lookback", in.Lookback}, {"settle_delay", in.SettleDelay}, {"interval", in.Interval}, {"timeout", in.Timeout}, {"pass_timeout", in.PassTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%q must not be negative, got %s", d.name, d.v))
		}
	}
	if in.Tolerance < 0 {
		errs = append(errs, fmt.Errorf(`"tolerance" must not be negative, got %d`, in.Tolerance))
	}
	if in.Since != nil && in.Until != nil && !in.Since.Before(*in.Until) {
		errs = append(errs, fmt.Errorf(`"since" %s is not before "until" %s`, in.Since.Format(time.RFC3339), in.Until.Format(time.RFC3339)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid backfill verification input: %w", err)
	}
	return nil
}

func (in BackfillInput) withDefaults() BackfillInput {
	def := func(d *runbook.Duration, v time.Duration) {
		if *d == 0 {
			*d = runbook.Duration(v)
		}
	}
	def(&in.Margin, defaultBackfillMargin)
	def(&in.Lookback, defaultBackfillLookback)
	def(&in.SettleDelay, defaultBackfillSettle)
	def(&in.Interval, defaultBackfillInterval)
	def(&in.Timeout, defaultBackfillTimeout)
	def(&in.PassTimeout, defaultBackfillPass)
	return in
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
	plan, err := v.in.plan(env, workflow.Now(ctx))
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

// PlanBackfill checks in against env and resolves the window start and the fields the
// environment provides. The workflow and the backfill.verify check share it, so both compare the
// same things the same way.
func PlanBackfill(in BackfillInput, env runbook.Environment, now time.Time) (BackfillPlan, error) {
	if err := in.validate(); err != nil {
		return BackfillPlan{}, err
	}
	return in.withDefaults().plan(env, now)
}

// plan checks the input against the environment and fills the defaults it provides.
func (in BackfillInput) plan(env runbook.Environment, now time.Time) (BackfillPlan, error) {
	var errs []error
	src, okS := env.Regions[in.Source]
	dst, okT := env.Regions[in.Target]
	if !okS || !okT {
		errs = append(errs, fmt.Errorf("environment %s has Regions %s and %s; source %q and target %q must be among them",
			env.Name, env.Primary, env.Secondary, in.Source, in.Target))
	}
	scope := backfill.Scope{Pattern: firstNonEmpty(in.IndexPattern, env.IndexPattern), TimeField: firstNonEmpty(in.TimestampField, env.TimestampField),
		IDField: firstNonEmpty(in.IDField, env.IDField)}
	if scope.IDField == "-" {
		scope.IDField = ""
	}
	if scope.Pattern == "" || scope.TimeField == "" {
		errs = append(errs, fmt.Errorf("environment %s names no index_pattern or timestamp_field, and the input gives none", env.Name))
	}
	if okT && dst.OpenSearch.Endpoint == "" || okS && src.OpenSearch.Endpoint == "" {
		errs = append(errs, fmt.Errorf("environment %s: both Regions need an opensearch endpoint", env.Name))
	}
	from := now.Add(-in.Lookback.D())
	switch {
	case in.Since != nil:
		from = *in.Since
	case in.ImpairmentStart != nil:
		from = in.ImpairmentStart.Add(-in.Margin.D())
	}
	if err := errors.Join(errs...); err != nil {
		return BackfillPlan{}, fmt.Errorf("invalid backfill verification input: %w", err)
	}
	return BackfillPlan{Environment: env.Name, Source: in.Source, Target: in.Target, SourceRegion: src, TargetRegion: dst,
		Topic: env.Topic, Scope: scope, From: from.UTC()}, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// retryPolicy of the verification's activities: a Region that stays unreachable for about a
// minute fails the verification with a clear reason rather than hanging on.
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
	// Recomputed here rather than trusted from the activity: the decision belongs to the workflow.
	return res.Report.Converged(v.in.Tolerance), nil
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
