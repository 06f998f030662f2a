package wire

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
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

// Validate checks what the input says on its own (required fields, signs, window order).
func (in BackfillInput) Validate() error {
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

// WithDefaults fills the durations the input leaves at zero.
func (in BackfillInput) WithDefaults() BackfillInput {
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

// PlanBackfill checks in against env and resolves the window start and the fields the
// environment provides. The workflow and the backfill.verify check share it, so both compare the
// same things the same way. It is pure (now is passed in), so the workflow may call it.
func PlanBackfill(in BackfillInput, env runbook.Environment, now time.Time) (BackfillPlan, error) {
	if err := in.Validate(); err != nil {
		return BackfillPlan{}, err
	}
	return in.WithDefaults().Plan(env, now)
}

// Plan checks the input, its defaults already applied, against the environment and fills the
// defaults it provides.
func (in BackfillInput) Plan(env runbook.Environment, now time.Time) (BackfillPlan, error) {
	var errs []error
	src, okS := env.Regions[in.Source]
	dst, okT := env.Regions[in.Target]
	if !okS || !okT {
		errs = append(errs, fmt.Errorf("environment %s has Regions %s and %s; source %q and target %q must be among them",
			env.Name, env.Primary, env.Secondary, in.Source, in.Target))
	}
	scope := backfill.Scope{Pattern: cmp.Or(in.IndexPattern, env.IndexPattern), TimeField: cmp.Or(in.TimestampField, env.TimestampField),
		IDField: cmp.Or(in.IDField, env.IDField)}
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
