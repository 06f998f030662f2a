package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// BackfillReplicators is the MSK control-plane call the replicator gate makes.
type BackfillReplicators interface {
	DescribeReplicator(ctx context.Context, in *kafka.DescribeReplicatorInput, opts ...func(*kafka.Options)) (*kafka.DescribeReplicatorOutput, error)
}

// BackfillMetrics is the CloudWatch call the replicator gate makes.
type BackfillMetrics interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// BackfillObjects is the S3 call the dead-letter gate makes.
type BackfillObjects interface {
	s3.ListObjectsV2APIClient
}

// BackfillLagFunc measures a consumer group's total lag on a topic at the Region's brokers.
type BackfillLagFunc func(ctx context.Context, region string, rc runbook.RegionConfig, group, topic string) (int64, error)

// BackfillSideFunc opens a Region's OpenSearch as a backfill side.
type BackfillSideFunc func(ctx context.Context, region string, rc runbook.RegionConfig) (backfill.Side, error)

// BackfillOptions configure the backfill verification activities. Only RunbookDir is required;
// the client hooks exist so tests and the lab can substitute their own.
type BackfillOptions struct {
	// RunbookDir holds the environments (RunbookDir/environments/NAME.yaml).
	RunbookDir string
	// Store reads RunbookDir; nil makes one. The worker passes the one its engine loads runbooks
	// through, so every activity sees the file the run recorded.
	Store *runbook.Store
	// AWS builds per-Region clients; nil uses a default factory.
	AWS *awsclients.Factory
	// Replicators, Metrics and Objects return the AWS clients of a Region; nil uses AWS.
	Replicators func(ctx context.Context, r awsclients.Region) (BackfillReplicators, error)
	Metrics     func(ctx context.Context, r awsclients.Region) (BackfillMetrics, error)
	Objects     func(ctx context.Context, r awsclients.Region) (BackfillObjects, error)
	// Lag measures consumer lag; nil uses kadm against the Region's kafka_bootstrap.
	Lag BackfillLagFunc
	// Sides opens OpenSearch; nil uses opensearch-go, signed with SigV4 outside the lab.
	Sides BackfillSideFunc
	// Engine tunes passes (page size, caps); its scope and window are ignored.
	Engine backfill.Options
	Logger *slog.Logger
}

// Backfill holds the activities that verify a recovered Region holds every document before
// failback: the environment lookup, the pipeline gates and the reconciliation pass, plus the
// backfill.verify catalog check that runs them in one go for runbooks.
type Backfill struct {
	opts BackfillOptions
	// fields remembers, across passes, which id field each cluster sorts on.
	fields backfill.FieldCache
	envs   *envLoader
}

// NewBackfill returns the backfill activities.
func NewBackfill(opts BackfillOptions) *Backfill {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AWS == nil {
		opts.AWS = awsclients.New(awsclients.Options{Logger: opts.Logger})
	}
	f := opts.AWS
	if opts.Replicators == nil {
		opts.Replicators = func(ctx context.Context, r awsclients.Region) (BackfillReplicators, error) { return f.Kafka(ctx, r) }
	}
	if opts.Metrics == nil {
		opts.Metrics = func(ctx context.Context, r awsclients.Region) (BackfillMetrics, error) { return f.CloudWatch(ctx, r) }
	}
	if opts.Objects == nil {
		opts.Objects = func(ctx context.Context, r awsclients.Region) (BackfillObjects, error) { return f.S3(ctx, r) }
	}
	b := &Backfill{opts: opts, envs: newEnvLoader(cmp.Or(opts.Store, runbook.NewStore(opts.RunbookDir)))}
	if b.opts.Lag == nil {
		b.opts.Lag = b.kafkaLag
	}
	if b.opts.Sides == nil {
		b.opts.Sides = b.openSearchSide
	}
	return b
}

// Register registers the verification workflow's activities under their stable names.
func (b *Backfill) Register(w ActivityRegistry) {
	w.RegisterActivityWithOptions(b.Environment, activity.RegisterOptions{Name: wire.BackfillEnvironmentActivity})
	w.RegisterActivityWithOptions(b.Gates, activity.RegisterOptions{Name: wire.BackfillGatesActivity})
	w.RegisterActivityWithOptions(b.Compare, activity.RegisterOptions{Name: wire.BackfillCompareActivity})
}

// RegisterBackfillChecks adds the backfill.verify check to the catalog: one read-only pass of the
// proof, which plan mode runs for a `workflow: backfill-verification` step (runs start
// BackfillVerificationWorkflow, the one orchestration that waits and decides convergence).
func RegisterBackfillChecks(r *Registry, b *Backfill) {
	Register(r, catalog.Spec{Name: "backfill.verify", Kind: catalog.KindCheck, ReadOnly: true,
		Description: "Check once, read-only, that the target Region holds every document the source received since a time: pipeline gates, then one reconciliation pass (what a plan runs for a backfill-verification workflow step).",
		IAM:         []string{"kafka:DescribeReplicator", "cloudwatch:GetMetricData", "s3:ListBucket", "aoss:APIAccessAll", "es:ESHttpPost", "es:ESHttpGet", "es:ESHttpDelete", "kafka-cluster:Connect", "kafka-cluster:DescribeGroup", "kafka-cluster:DescribeTopic"},
	}, b.Verify)
}

// Environment loads one environment file. The workflow calls it once and carries the result, so
// every pass of a verification uses the same configuration even if the file changes.
func (b *Backfill) Environment(ctx context.Context, name string) (runbook.Environment, error) {
	return b.envs.load(ctx, name)
}

// Gates reports whether the pipeline into the target has drained. Read failures that a retry may
// fix are returned as errors (the activity retries); access denied, not found and validation
// failures are permanent and name the resource and Region.
func (b *Backfill) Gates(ctx context.Context, req wire.GateRequest) (wire.GateResult, error) {
	region := awsclients.FromEnvironment(req.Target, req.TargetRegion)
	var res wire.GateResult
	var err error
	var mode replicatorMode
	if res.Replicator, mode, err = b.replicatorGate(ctx, region, req.TargetRegion); err != nil {
		return res, err
	}
	if res.ConsumerLag, err = b.consumerGate(ctx, req, mode); err != nil {
		return res, err
	}
	if res.DLQ, err = b.dlqGate(ctx, region, req); err != nil {
		return res, err
	}
	var closed []string
	for _, g := range []struct {
		ok     bool
		reason string
	}{{res.Replicator.OK, res.Replicator.Reason}, {res.ConsumerLag.OK, res.ConsumerLag.Reason}, {res.DLQ.OK, res.DLQ.Reason}} {
		if !g.ok {
			closed = append(closed, g.reason)
		}
	}
	res.OK = len(closed) == 0
	res.Reason = "pipeline into " + req.Target + " drained"
	if !res.OK {
		res.Reason = strings.Join(closed, "; ")
	}
	return res, nil
}

// replicatorGate: MSK Replicator publishes its metrics in the target cluster's Region under the
// dimension ReplicatorName, and MessageLag 0 is the documented sign it has caught up (read as
// readReplicatorMetrics defines, the one reader msk.replicator_lag uses too). It also returns how
// the replicator copies, so that the consumer gate drains the topic the copies really land in.
func (b *Backfill) replicatorGate(ctx context.Context, region awsclients.Region, rc runbook.RegionConfig) (wire.ReplicatorGate, replicatorMode, error) {
	arn := rc.InboundReplicatorARN
	if arn == "" {
		return wire.ReplicatorGate{Reason: "no inbound_replicator_arn configured for " + region.Name}, replicatorMode{}, nil
	}
	kc, err := b.opts.Replicators(ctx, region)
	if err != nil {
		return wire.ReplicatorGate{}, replicatorMode{}, Permanent(err)
	}
	out, err := kc.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(arn)})
	if err != nil {
		return wire.ReplicatorGate{}, replicatorMode{}, Wrap(err, "describe replicator", arn, region.Name)
	}
	mode := modeOf(out)
	g := wire.ReplicatorGate{Name: aws.ToString(out.ReplicatorName), State: string(out.ReplicatorState)}
	if g.Name == "" {
		g.Name = replicatorNameFromARN(arn)
	}
	cw, err := b.opts.Metrics(ctx, region)
	if err != nil {
		return g, mode, Permanent(err)
	}
	m, err := readReplicatorMetrics(ctx, cw, g.Name, backfill.DefaultMetricsLookback, rc.Replication.Period())
	if err != nil {
		return g, mode, Wrap(err, "read MessageLag of replicator", g.Name, region.Name)
	}
	g.MessageLag = m.messageLag
	// The strict policy: RUNNING, MessageLag 0 (the rule msk.replicator_lag applies too).
	g.OK, g.Reason = backfill.ReplicatorCaughtUp(m.observe(g.Name, region.Name, g.State, backfill.DefaultMetricsLookback), backfill.Policy{})
	return g, mode, nil
}

// replicatorNameFromARN takes the name from arn:aws:kafka:REGION:ACCOUNT:replicator/NAME/UUID.
func replicatorNameFromARN(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return arn
}

// consumerGate measures the target pipeline's consumer-group lag at the brokers: the ingestion
// pipeline's own metrics are not documented for its Kafka source, the brokers' offsets are exact.
// It drains the topic and, when the replicator prefixes names, the topic its copies land in
// (<sourceKafkaClusterAlias>.<topic>): the documents the source took meanwhile are there.
func (b *Backfill) consumerGate(ctx context.Context, req wire.GateRequest, mode replicatorMode) (wire.ConsumerLagGate, error) {
	rc := req.TargetRegion
	g := wire.ConsumerLagGate{Group: rc.ConsumerGroup, Topic: req.Topic}
	if rc.ConsumerGroup == "" || req.Topic == "" {
		g.Reason = "no consumer_group or topic configured for " + req.Target
		return g, nil
	}
	topics := mode.topicsToDrain(req.Topic)
	g.Topic = strings.Join(topics, ", ")
	obs := backfill.ConsumerObservation{Group: g.Group, Region: req.Target, Topics: topics}
	for _, topic := range topics {
		lag, err := b.opts.Lag(ctx, req.Target, rc, rc.ConsumerGroup, topic)
		if err != nil {
			var notReady backfillLagNotReady
			if !errors.As(err, &notReady) {
				return g, err
			}
			obs.NotMeasurable = string(notReady)
			break
		}
		obs.Lag += lag
	}
	g.Lag = obs.Lag
	// The strict policy: lag 0 (the rule msk.consumer_lag applies with its max_lag).
	g.OK, g.Reason = backfill.ConsumerDrained(obs, backfill.Policy{})
	return g, nil
}

// backfillLagNotReady is a lag that cannot be measured yet (no group, no commits): a closed gate, not an
// error.
type backfillLagNotReady string

func (l backfillLagNotReady) Error() string { return string(l) }

// kafkaLag reads the group's lag with kadm through the helpers the msk.* checks share.
func (b *Backfill) kafkaLag(ctx context.Context, region string, rc runbook.RegionConfig, group, topic string) (int64, error) {
	if len(rc.KafkaBootstrap) == 0 {
		return 0, backfillLagNotReady("no kafka_bootstrap configured for " + region + ": cannot measure consumer lag")
	}
	adm, err := kafkaAdmin(ctx, b.opts.AWS, region, rc)
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	return groupLag(ctx, adm, region, rc, group, topic)
}

// dlqGate counts the objects the target pipeline wrote to its dead-letter bucket since the window
// start: each holds documents OpenSearch refused, which no replay will bring back.
func (b *Backfill) dlqGate(ctx context.Context, region awsclients.Region, req wire.GateRequest) (wire.DLQGate, error) {
	rc := req.TargetRegion
	g := wire.DLQGate{Bucket: rc.DLQBucket}
	if rc.DLQBucket == "" {
		g.OK, g.Reason = backfill.DLQClear(backfill.DLQObservation{Region: req.Target}, backfill.Policy{})
		return g, nil
	}
	c, err := b.opts.Objects(ctx, region)
	if err != nil {
		return g, Permanent(err)
	}
	d, err := listDLQ(ctx, c, region.Name, rc.DLQBucket, rc.DLQPrefix, req.Since)
	if err != nil {
		return g, err
	}
	g.Objects, g.Bytes, g.Sample = d.Objects, d.Bytes, d.Sample
	g.OK, g.Reason = backfill.DLQClear(backfill.DLQObservation{Bucket: rc.DLQBucket, Region: req.Target, Since: req.Since,
		Objects: d.Objects, Bytes: d.Bytes}, backfill.Policy{AcceptDLQ: req.AcceptDLQ})
	return g, nil
}

// maxCheckpointLeaves keeps a checkpoint (about 60 bytes per leaf) well under Temporal's 2 MB
// payload limit.
const maxCheckpointLeaves = 20000

// compareHeartbeat is what a pass heartbeats: progress for operators, and a checkpoint a retried
// attempt resumes from.
type compareHeartbeat struct {
	Progress   backfill.Progress    `json:"progress"`
	Checkpoint *backfill.Checkpoint `json:"checkpoint,omitempty"`
	From       time.Time            `json:"from"`
	To         time.Time            `json:"to"`
}

// Compare runs one reconciliation pass. It heartbeats progress and, during the id merge, a
// checkpoint: a retried attempt of the same pass resumes there instead of starting over.
func (b *Backfill) Compare(ctx context.Context, req wire.CompareRequest) (wire.CompareResult, error) {
	src, dst, err := b.sides(ctx, req.Source, req.SourceRegion, req.Target, req.TargetRegion)
	if err != nil {
		return wire.CompareResult{}, err
	}
	defer closeBackfillSide(src)
	defer closeBackfillSide(dst)
	opts := b.opts.Engine
	opts.Scope, opts.From, opts.To, opts.Logger = req.Scope, req.From, req.To, b.opts.Logger
	opts.Resume = nil
	if activity.IsActivity(ctx) {
		var hb compareHeartbeat
		if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &hb) == nil &&
			hb.Checkpoint != nil && hb.From.Equal(req.From) && hb.To.Equal(req.To) {
			opts.Resume = hb.Checkpoint
		}
		last := hb
		last.From, last.To = req.From, req.To
		opts.Progress = func(p backfill.Progress) {
			last.Progress = p
			activity.RecordHeartbeat(ctx, last)
		}
		opts.Checkpoint = func(c backfill.Checkpoint) {
			// Heartbeat details are bounded by Temporal's payload limit: a pass with a huge number of
			// leaves keeps heartbeating progress but, if retried, starts over.
			if len(c.Leaves) > maxCheckpointLeaves {
				return
			}
			last.Checkpoint = &c
			activity.RecordHeartbeat(ctx, last)
		}
	}
	rep, err := backfill.Compare(ctx, src, dst, opts)
	if err != nil {
		return wire.CompareResult{}, b.sideError(req.Environment, err)
	}
	logFor(ctx, b.opts.Logger).Info("backfill pass", "environment", req.Environment, "source", req.Source, "target", req.Target,
		"missing", rep.MissingDocs(), "duplicates", rep.TargetDuplicates.IDs, "requests", rep.Requests.Total(), "elapsed", rep.Elapsed)
	return wire.CompareResult{Converged: rep.Converged(req.Tolerance), Report: *rep}, nil
}

func closeBackfillSide(s backfill.Side) {
	if c, ok := s.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

func (b *Backfill) sides(ctx context.Context, srcName string, src runbook.RegionConfig, dstName string, dst runbook.RegionConfig) (backfill.Side, backfill.Side, error) {
	s, err := b.opts.Sides(ctx, srcName, src)
	if err != nil {
		return nil, nil, err
	}
	d, err := b.opts.Sides(ctx, dstName, dst)
	if err != nil {
		closeBackfillSide(s)
		return nil, nil, err
	}
	return s, d, nil
}

// openSearchSide signs every request with SigV4 for the service of the Region's kind (aoss for
// a collection — also when the environment leaves kind out — es for a domain), in the lab too:
// the lab verifies signatures as AWS does.
func (b *Backfill) openSearchSide(ctx context.Context, region string, rc runbook.RegionConfig) (backfill.Side, error) {
	osc := rc.OpenSearch
	if osc.Endpoint == "" {
		return nil, Permanent(fmt.Errorf("no opensearch endpoint configured for %s", region))
	}
	o := backfill.OpenSearchOptions{Name: region + " (" + osc.Endpoint + ")", Endpoint: osc.Endpoint,
		Service: runbook.SigningService(osc.ClusterKind()), Fields: &b.fields}
	cfg, err := b.opts.AWS.Config(ctx, awsclients.FromEnvironment(region, rc))
	if err != nil {
		return nil, Permanent(err)
	}
	o.AWS = &cfg
	s, err := backfill.NewOpenSearch(o)
	if err != nil {
		return nil, Permanent(err)
	}
	return s, nil
}

// sideError turns an engine error into what Temporal should do with it: unreachable Regions are
// retried and typed RegionUnreachable, other transient failures retried, the rest permanent.
func (b *Backfill) sideError(env string, err error) error {
	var se *backfill.Error
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &se) && se.Unreachable:
		return temporal.NewApplicationErrorWithCause(err.Error(), wire.ErrRegionUnreachable, err)
	case backfill.IsTransient(err):
		return temporal.NewApplicationErrorWithCause(fmt.Sprintf("backfill pass on %s: %v", env, err), ErrBackfillTransient, err)
	}
	return Permanent(fmt.Errorf("backfill pass on %s: %w", env, err))
}

// ErrBackfillTransient is the error type of retryable backfill failures (throttling, 5xx, timeouts), so
// a verification that gives up after its retries reports a stable type rather than a Go type
// name.
const ErrBackfillTransient = wire.ErrBackfillTransient

func regionUnreachable(err error) error {
	return temporal.NewApplicationErrorWithCause(err.Error(), wire.ErrRegionUnreachable, err)
}

// VerifyArgs is the input of backfill.verify.
type VerifyArgs struct {
	Environment string    `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Source      string    `json:"source" catalog:"region,required" doc:"the Region that took the writes during the impairment"`
	Target      string    `json:"target" catalog:"region,required" doc:"the recovered Region that must hold every document"`
	Since       time.Time `json:"since,omitzero" doc:"window start (RFC 3339): the impairment start minus a margin; default lookback before now"`
	// Lookback and SettleDelay bound the window when Since is not given: [now-lookback, now-settle).
	Lookback    runbook.Duration `json:"lookback,omitempty" catalog:"duration" doc:"window length when since is not given (default 24h)"`
	SettleDelay runbook.Duration `json:"settle_delay,omitempty" catalog:"duration" doc:"how far before now the window ends (default 2m)"`
	IDField     string           `json:"id_field,omitempty" doc:"unique event field (default the environment's; - for counts only)"`
	Tolerance   int64            `json:"tolerance,omitempty" doc:"documents that may be missing (default 0)"`
	AcceptDLQ   bool             `json:"accept_dlq,omitempty" doc:"let dead-letter objects pass (they are still reported)"`
}

// VerifyResult is the output of backfill.verify.
type VerifyResult struct {
	OK            bool     `json:"ok"`
	Reason        string   `json:"reason"`
	Missing       int64    `json:"missing"`
	Extra         int64    `json:"extra"`
	Duplicates    int64    `json:"duplicates"`
	DLQObjects    int64    `json:"dlq_objects"`
	SourceDocs    int64    `json:"source_docs"`
	TargetDocs    int64    `json:"target_docs"`
	Requests      int64    `json:"requests"`
	MissingSample []string `json:"missing_sample,omitempty"`
}

// Verify is the backfill.verify check: the gates and one reconciliation pass, synchronously and
// read-only — what plan mode runs for a `workflow: backfill-verification` step, judged by the same
// rules (internal/backfill's ReplicatorCaughtUp, ConsumerDrained, DLQClear, PassConverged) as
// BackfillVerificationWorkflow, which runs are given. An unreachable Region is a not-ok result
// with the reason (the Region is not ready for failback), never ok; access denied and bad
// configuration fail.
func (b *Backfill) Verify(ctx context.Context, in VerifyArgs) (VerifyResult, error) {
	env, err := b.Environment(ctx, in.Environment)
	if err != nil {
		return VerifyResult{}, err
	}
	now := time.Now()
	bi := wire.BackfillInput{Environment: in.Environment, Source: in.Source, Target: in.Target, IDField: in.IDField,
		Lookback: in.Lookback, Tolerance: in.Tolerance, AcceptDLQ: in.AcceptDLQ}
	if !in.Since.IsZero() {
		bi.Since = &in.Since
	}
	plan, err := wire.PlanBackfill(bi, env, now)
	if err != nil {
		return VerifyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrBadArguments, nil)
	}
	to := now.Add(-cmp.Or(in.SettleDelay.D(), 2*time.Minute))
	if !plan.From.Before(to) {
		return VerifyResult{Reason: fmt.Sprintf("the window from %s has not settled yet", plan.From.Format(time.RFC3339))}, nil
	}
	gates, err := b.Gates(ctx, wire.GateRequest{Environment: plan.Environment, Target: plan.Target, TargetRegion: plan.TargetRegion,
		Topic: plan.Topic, Since: plan.From, AcceptDLQ: in.AcceptDLQ})
	if err != nil {
		return verifyNotOK(err)
	}
	res := VerifyResult{DLQObjects: gates.DLQ.Objects}
	if !gates.OK {
		res.Reason = "pipeline gates closed: " + gates.Reason
		return res, nil
	}
	cr, err := b.Compare(ctx, wire.CompareRequest{Environment: plan.Environment, Source: plan.Source, Target: plan.Target,
		SourceRegion: plan.SourceRegion, TargetRegion: plan.TargetRegion, Scope: plan.Scope, From: plan.From, To: to, Tolerance: in.Tolerance})
	if err != nil {
		return verifyNotOK(err)
	}
	r := cr.Report
	// Judged here by the rule the workflow applies, not taken from the pass's own Converged.
	var why string
	res.OK, why = backfill.PassConverged(&r, plan.Target, backfill.Policy{Tolerance: in.Tolerance})
	res.Missing, res.Extra = r.MissingDocs(), r.Extra.Total
	res.Duplicates = r.SourceDuplicates.IDs + r.TargetDuplicates.IDs
	res.SourceDocs, res.TargetDocs, res.Requests = r.SourceDocs, r.TargetDocs, r.Requests.Total()
	for _, s := range r.Missing.Sample {
		if len(res.MissingSample) == 10 {
			break
		}
		res.MissingSample = append(res.MissingSample, s.ID)
	}
	if res.OK {
		res.Reason = fmt.Sprintf("%s holds every document of %s since %s (%d compared, %d missing, %d duplicated ids, %d requests)",
			plan.Target, plan.Source, plan.From.Format(time.RFC3339), r.DocsCompared, res.Missing, res.Duplicates, res.Requests)
	} else {
		res.Reason = why
	}
	return res, nil
}

// verifyNotOK reports a retryable failure as a not-ok check (the Region is not ready) and passes
// permanent ones through.
func verifyNotOK(err error) (VerifyResult, error) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() || errors.Is(err, context.Canceled) {
		return VerifyResult{}, err
	}
	return VerifyResult{Reason: err.Error()}, nil
}
