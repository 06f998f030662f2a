package kafkatwin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReplicatorState mirrors the MSK ReplicatorState enum (service/kafka types.ReplicatorState).
type ReplicatorState string

// The replicator states MSK reports. The twin never reports DELETING: deleting is Close.
const (
	ReplicatorCreating ReplicatorState = "CREATING"
	ReplicatorRunning  ReplicatorState = "RUNNING"
	ReplicatorUpdating ReplicatorState = "UPDATING"
	ReplicatorDeleting ReplicatorState = "DELETING"
	ReplicatorFailed   ReplicatorState = "FAILED"
)

// Starting positions, as in MSK's ReplicationStartingPosition.
const (
	StartingPositionLatest   = "LATEST"
	StartingPositionEarliest = "EARLIEST"
)

// Topic name configurations, as in MSK's ReplicationTopicNameConfigurationType
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-topic-naming.html).
const (
	// TopicNameIdentical copies into a topic of the same name and filters records that came
	// from the target, so that two-way replication does not loop.
	TopicNameIdentical = "IDENTICAL"
	// TopicNamePrefixed copies into <sourceKafkaClusterAlias>.<topic> and filters nothing.
	TopicNamePrefixed = "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"
)

// Consumer-group offset sync modes, as in MSK's ConsumerGroupOffsetSyncMode
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-bidirectional-offset-sync.html).
const (
	// OffsetSyncLegacy translates a group's offsets with this replicator's own offset map only,
	// i.e. for records produced on the source; it never translates back on failback.
	OffsetSyncLegacy = "LEGACY"
	// OffsetSyncEnhanced also uses the reverse replicator's map ([Replicator.SetReverse]), so
	// positions among records that came from the target translate too.
	OffsetSyncEnhanced = "ENHANCED"
)

// OriginHeader is the record header naming the alias of the cluster a record was first produced
// to. MSK Replicator's own marker is not documented; this one does the same job. A replicator
// copies a record only if its origin is not the target, which is what keeps IDENTICAL topic
// names from looping in the blog's two-way setup.
const OriginHeader = "lab-replicator-origin-alias"

// InternalGroupPrefix starts the name of every replicator's own consumer group on its source.
// Offset sync skips these groups: they track a replicator's position, not an application's.
const InternalGroupPrefix = "__lab_replicator-"

// StateInfo explains a FAILED state, as MSK's ReplicationStateInfo does.
type StateInfo struct {
	Code    string
	Message string
}

// Errors Update returns. The lab maps them onto MSK's BadRequestException.
var (
	ErrStaleVersion         = errors.New("current version does not match the replicator's")
	ErrReplicatorNotRunning = errors.New("replicator is not in RUNNING state")
	ErrInvalidUpdate        = errors.New("invalid replication info update")
)

// ReplicatorOptions configures a [Replicator].
type ReplicatorOptions struct {
	// Required fields.

	// Name is the replicator name, e.g. "lab-primary-to-secondary".
	Name string
	// Source and Target are the clusters to copy from and to.
	Source, Target *Cluster

	// Optional fields.

	// SourceAlias and TargetAlias are the KafkaClusterAlias values; "" means the cluster name.
	SourceAlias, TargetAlias string
	// TopicsToReplicate are regular expressions matched against whole topic names; nil means
	// [DefaultTopic], as in the sample's CloudFormation.
	TopicsToReplicate []string
	// TopicsToExclude are regular expressions of topics never copied.
	TopicsToExclude []string
	// ConsumerGroupsToReplicate are regular expressions of groups whose offsets are synced; nil
	// means ".*", as in the sample.
	ConsumerGroupsToReplicate []string
	// ConsumerGroupsToExclude are regular expressions of groups never synced.
	ConsumerGroupsToExclude []string
	// DisableOffsetSync turns SynchroniseConsumerGroupOffsets off (it is on by default).
	DisableOffsetSync bool
	// StartingPosition is LATEST (MSK's default, used when "") or EARLIEST.
	StartingPosition string
	// TopicNameConfiguration is TopicNameIdentical (used when "", the sample's setting; MSK's
	// API default is prefixed) or TopicNamePrefixed. Fixed at creation, as in MSK.
	TopicNameConfiguration string
	// ConsumerGroupOffsetSyncMode is OffsetSyncLegacy (used when "", MSK's default) or
	// OffsetSyncEnhanced. Fixed at creation, as in MSK.
	ConsumerGroupOffsetSyncMode string
	// CreateDelay is how long the replicator stays CREATING after its setup succeeded.
	CreateDelay time.Duration
	// UpdateDelay is how long an accepted Update keeps the replicator UPDATING.
	UpdateDelay time.Duration
	// FailAfter is how long a cluster may be unreachable before the state turns FAILED; 0 means
	// 30 s. The replicator leaves FAILED by itself once both clusters answer again — a lab
	// choice so that failback drills can reuse it.
	FailAfter time.Duration
	// PingInterval is how often both clusters are probed; 0 means 1 s.
	PingInterval time.Duration
	// OffsetSyncInterval is how often group offsets are translated; 0 means 1 s.
	OffsetSyncInterval time.Duration
	// MaxBatchRecords caps the records copied per produce round trip; 0 means 5000.
	MaxBatchRecords int
	// LatencyWindow is the span ReplicationLatencyMillis's maximum covers; 0 means 60 s,
	// CloudWatch's usual period.
	LatencyWindow time.Duration
	// ThroughputWindow is the span Throughput averages over; 0 means 10 s.
	ThroughputWindow time.Duration
	// SourceLink, when set, carries every connection the replicator makes to the source
	// cluster, so the lab can partition the Regions ([Link.SetUp]) without impairing either.
	SourceLink *Link
	// Logger receives state changes and errors; nil means slog.Default().
	Logger *slog.Logger
}

// sourceOpts are the client options for connections to the source cluster.
func (o *ReplicatorOptions) sourceOpts(extra ...kgo.Opt) []kgo.Opt {
	if o.SourceLink != nil {
		extra = append(extra, kgo.Dialer(o.SourceLink.dial))
	}
	return clientOpts(o.Source.Bootstrap(), extra...)
}

// replicationConfig is the part of the configuration Update can change.
type replicationConfig struct {
	topicsInclude, topicsExclude []string
	groupsInclude, groupsExclude []string
	syncOffsets                  bool
	copyTopicConfigs             bool
	copyACLs                     bool
	detectNewTopics              bool
	detectNewGroups              bool

	topicIn, topicEx, groupIn, groupEx []*regexp.Regexp
}

func newReplicationConfig(c replicationConfig) (*replicationConfig, error) {
	var err error
	if c.topicIn, err = compileAll(c.topicsInclude); err != nil {
		return nil, fmt.Errorf("topics to replicate: %w", err)
	}
	if c.topicEx, err = compileAll(c.topicsExclude); err != nil {
		return nil, fmt.Errorf("topics to exclude: %w", err)
	}
	if c.groupIn, err = compileAll(c.groupsInclude); err != nil {
		return nil, fmt.Errorf("consumer groups to replicate: %w", err)
	}
	if c.groupEx, err = compileAll(c.groupsExclude); err != nil {
		return nil, fmt.Errorf("consumer groups to exclude: %w", err)
	}
	return &c, nil
}

// anchored makes a pattern match whole names, the way MSK's topic and group lists are read.
func anchored(p string) string { return "^(?:" + p + ")$" }

func compileAll(ps []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(ps))
	for _, p := range ps {
		re, err := regexp.Compile(anchored(p))
		if err != nil {
			return nil, fmt.Errorf("%w: pattern %q: %w", ErrInvalidUpdate, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func (c *replicationConfig) topicMatches(t string) bool {
	return !strings.HasPrefix(t, "__") && matchAny(c.topicIn, t) && !matchAny(c.topicEx, t)
}

func (c *replicationConfig) groupMatches(g string) bool {
	return !strings.HasPrefix(g, InternalGroupPrefix) && matchAny(c.groupIn, g) && !matchAny(c.groupEx, g)
}

// Replicator is the MSK Replicator twin: it copies the source cluster's matching topics to the
// same names on the target, translates consumer-group offsets, and reports MSK's state machine
// and replicator metrics.
type Replicator struct {
	opts          ReplicatorOptions
	log           *slog.Logger
	arn           string
	created       time.Time
	internalGroup string

	src, tgt       *kgo.Client // pings and admin requests
	srcAdm, tgtAdm *kadm.Client
	producer       *kgo.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu             sync.Mutex
	changed        chan struct{} // closed and replaced whenever the fields below change
	cfg            *replicationConfig
	pendingCfg     *replicationConfig
	version        int
	setupDone      bool
	ready          bool // CreateDelay has passed
	updating       bool
	failed         bool
	failInfo       *StateInfo
	paused         bool
	slow           time.Duration
	consumerActive bool
	runCancel      context.CancelFunc
	srcOK, tgtOK   time.Time
	srcPing        bool
	tgtPing        bool
	lastLag        int64
	knownGroups    map[string]bool

	// reverse is the replicator copying the other way, whose offset map ENHANCED sync uses.
	reverse atomic.Pointer[Replicator]

	posMu       sync.Mutex
	positions   map[topicPartition]int64
	xlate       map[topicPartition]*offsetMap
	targetParts map[string]int32

	latency    *secondWindow
	throughput *secondWindow
	bytesIn    *secondWindow

	recordsReplicated atomic.Int64
	recordsFiltered   atomic.Int64
	failures          atomic.Int64
	groupCount        atomic.Int64
	syncPasses        atomic.Int64
	syncFailures      atomic.Int64
	syncSkippedActive atomic.Int64
	groupsSynced      atomic.Int64
}

// NewReplicator creates the replicator and returns at once in CREATING, as CreateReplicator
// does. Setup (target topics, the starting position) runs in the background and is retried
// until the clusters answer; the state turns RUNNING once it is done and CreateDelay has passed.
func NewReplicator(opts ReplicatorOptions) (*Replicator, error) {
	if opts.Name == "" || opts.Source == nil || opts.Target == nil {
		return nil, errors.New("kafkatwin: replicator Name, Source and Target are required")
	}
	if opts.SourceAlias == "" {
		opts.SourceAlias = opts.Source.Name()
	}
	if opts.TargetAlias == "" {
		opts.TargetAlias = opts.Target.Name()
	}
	if opts.SourceAlias == opts.TargetAlias {
		return nil, fmt.Errorf("kafkatwin: replicator %s: source and target aliases are both %q; loop prevention needs distinct aliases", opts.Name, opts.SourceAlias)
	}
	if opts.TopicsToReplicate == nil {
		opts.TopicsToReplicate = []string{DefaultTopic}
	}
	if opts.ConsumerGroupsToReplicate == nil {
		opts.ConsumerGroupsToReplicate = []string{".*"}
	}
	for _, e := range []struct {
		v       *string
		what    string
		allowed []string // the first is MSK's default (or the sample's), used when ""
	}{
		{&opts.TopicNameConfiguration, "topic name configuration", []string{TopicNameIdentical, TopicNamePrefixed}},
		{&opts.ConsumerGroupOffsetSyncMode, "consumer group offset sync mode", []string{OffsetSyncLegacy, OffsetSyncEnhanced}},
		{&opts.StartingPosition, "starting position", []string{StartingPositionLatest, StartingPositionEarliest}},
	} {
		if *e.v == "" {
			*e.v = e.allowed[0]
		} else if !slices.Contains(e.allowed, *e.v) {
			return nil, fmt.Errorf("kafkatwin: replicator %s: %s %q: want %s or %s", opts.Name, e.what, *e.v, e.allowed[0], e.allowed[1])
		}
	}
	opts.FailAfter = orDuration(opts.FailAfter, 30*time.Second)
	opts.PingInterval = orDuration(opts.PingInterval, time.Second)
	opts.OffsetSyncInterval = orDuration(opts.OffsetSyncInterval, time.Second)
	opts.LatencyWindow = orDuration(opts.LatencyWindow, time.Minute)
	opts.ThroughputWindow = orDuration(opts.ThroughputWindow, 10*time.Second)
	if opts.MaxBatchRecords <= 0 {
		opts.MaxBatchRecords = 5000
	}
	cfg, err := newReplicationConfig(replicationConfig{
		topicsInclude:    opts.TopicsToReplicate,
		topicsExclude:    opts.TopicsToExclude,
		groupsInclude:    opts.ConsumerGroupsToReplicate,
		groupsExclude:    opts.ConsumerGroupsToExclude,
		syncOffsets:      !opts.DisableOffsetSync,
		copyTopicConfigs: true,
		detectNewTopics:  true,
		detectNewGroups:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("kafkatwin: replicator %s: %w", opts.Name, err)
	}

	r := &Replicator{
		opts:          opts,
		log:           orDefaultLogger(opts.Logger).With("replicator", opts.Name),
		arn:           fmt.Sprintf("arn:aws:kafka:%s:%s:replicator/%s/%s", opts.Target.Region(), DefaultAccountID, opts.Name, randomUUID()),
		created:       time.Now(),
		internalGroup: InternalGroupPrefix + opts.Name,
		changed:       make(chan struct{}),
		cfg:           cfg,
		version:       1,
		positions:     make(map[topicPartition]int64),
		xlate:         make(map[topicPartition]*offsetMap),
		targetParts:   make(map[string]int32),
		knownGroups:   make(map[string]bool),
		latency:       newSecondWindow(opts.LatencyWindow),
		throughput:    newSecondWindow(opts.ThroughputWindow),
		bytesIn:       newSecondWindow(opts.ThroughputWindow),
	}
	now := time.Now()
	r.srcOK, r.tgtOK = now, now

	if r.src, err = kgo.NewClient(r.opts.sourceOpts()...); err != nil {
		return nil, fmt.Errorf("kafkatwin: replicator %s: source client: %w", opts.Name, err)
	}
	if r.tgt, err = kgo.NewClient(clientOpts(opts.Target.Bootstrap())...); err != nil {
		r.src.Close()
		return nil, fmt.Errorf("kafkatwin: replicator %s: target client: %w", opts.Name, err)
	}
	r.producer, err = kgo.NewClient(clientOpts(opts.Target.Bootstrap(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		// The sample's replicators set TargetCompressionType: SNAPPY.
		kgo.ProducerBatchCompression(kgo.SnappyCompression()),
		kgo.ProducerLinger(0),
		// Stop and restarts must be able to abandon records stuck behind an unreachable
		// target; a record abandoned after it was sent may land twice, which at-least-once
		// delivery allows.
		kgo.AllowIdempotentProduceCancellation(),
	)...)
	if err != nil {
		r.src.Close()
		r.tgt.Close()
		return nil, fmt.Errorf("kafkatwin: replicator %s: producer: %w", opts.Name, err)
	}
	r.srcAdm, r.tgtAdm = kadm.NewClient(r.src), kadm.NewClient(r.tgt)

	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(3)
	go r.lifecycle()
	go r.pingLoop()
	go r.offsetSyncLoop()
	r.log.Info("replicator created", "source", opts.SourceAlias, "target", opts.TargetAlias, "state", ReplicatorCreating)
	return r, nil
}

// SetReverse names the replicator that copies from this one's target to its source, the
// "corresponding replicator" ENHANCED offset sync needs
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-bidirectional-offset-sync.html).
// Without it an ENHANCED replicator translates as LEGACY does.
func (r *Replicator) SetReverse(rev *Replicator) { r.reverse.Store(rev) }

// offsetMapCopy returns a copy of the offset map of one source partition, nil when there is
// none; a copy, so that two replicators reading each other's maps never hold both locks.
func (r *Replicator) offsetMapCopy(tp topicPartition) *offsetMap {
	r.posMu.Lock()
	defer r.posMu.Unlock()
	m := r.xlate[tp]
	if m == nil {
		return nil
	}
	return &offsetMap{targetPartition: m.targetPartition, runs: append([]offsetRun(nil), m.runs...)}
}

// CopyTopic is the target topic that receives the copies of a source topic: the same name, or
// <sourceKafkaClusterAlias>.<topic> with prefixed naming.
func (r *Replicator) CopyTopic(topic string) string {
	if r.opts.TopicNameConfiguration == TopicNamePrefixed {
		return r.opts.SourceAlias + "." + topic
	}
	return topic
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// notifyLocked wakes everything waiting for a state change. Callers hold r.mu.
func (r *Replicator) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// stateLocked derives the reported state: FAILED overrides the lifecycle state, so that the
// replicator returns to where it was once the clusters answer again.
func (r *Replicator) stateLocked() ReplicatorState {
	switch {
	case r.failed:
		return ReplicatorFailed
	case !r.ready:
		return ReplicatorCreating
	case r.updating:
		return ReplicatorUpdating
	}
	return ReplicatorRunning
}

// State returns the replicator's MSK state.
func (r *Replicator) State() ReplicatorState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateLocked()
}

// CurrentVersion returns the opaque version Update must be given.
func (r *Replicator) CurrentVersion() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.versionLocked()
}

func (r *Replicator) versionLocked() string { return "K" + strconv.Itoa(r.version) }

// ARN returns the replicator ARN; like MSK, the replicator lives in the target's Region.
func (r *Replicator) ARN() string { return r.arn }

// Name returns the replicator name.
func (r *Replicator) Name() string { return r.opts.Name }

// InternalGroup returns the consumer group the replicator reads the source with.
func (r *Replicator) InternalGroup() string { return r.internalGroup }

// WaitForState blocks until the replicator reports want or ctx ends.
func (r *Replicator) WaitForState(ctx context.Context, want ReplicatorState) error {
	for {
		r.mu.Lock()
		st, ch := r.stateLocked(), r.changed
		r.mu.Unlock()
		if st == want {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("replicator %s: wait for %s (state %s): %w", r.opts.Name, want, st, ctx.Err())
		}
	}
}

// Stop pauses replication — a fault knob, since MSK has no such API — and returns once the
// replicator has stopped reading the source, so MessageLag can only grow afterwards. The state
// stays RUNNING: a stalled replicator in AWS shows up in its metrics, not in its state.
func (r *Replicator) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.paused = true
	if r.runCancel != nil {
		r.runCancel()
	}
	r.notifyLocked()
	r.mu.Unlock()
	for {
		r.mu.Lock()
		active, ch := r.consumerActive, r.changed
		r.mu.Unlock()
		if !active {
			r.log.Info("replicator paused")
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("replicator %s: stop: %w", r.opts.Name, ctx.Err())
		}
	}
}

// Resume undoes Stop; replication continues from the last committed source position.
func (r *Replicator) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused {
		r.paused = false
		r.notifyLocked()
		r.log.Info("replicator resumed")
	}
}

// SetSlow delays every copied batch by d (0 removes the delay), to rehearse a replicator that
// falls behind without stopping.
func (r *Replicator) SetSlow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slow = max(d, 0)
	r.notifyLocked()
}

// Close stops the replicator and releases its clients. Its source position stays committed in
// the internal group, so a new replicator of the same name resumes there.
func (r *Replicator) Close() {
	r.cancel()
	r.wg.Wait()
	r.producer.Close()
	r.src.Close()
	r.tgt.Close()
}

// lifecycle runs setup, the CREATING delay and then the copy loop.
func (r *Replicator) lifecycle() {
	defer r.wg.Done()
	for {
		err := r.setup(r.ctx)
		if err == nil {
			break
		}
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("replicator setup failed; retrying", "err", err)
		if !sleepCtx(r.ctx, r.opts.PingInterval) {
			return
		}
	}
	r.mu.Lock()
	r.setupDone = true
	r.mu.Unlock()
	if !sleepCtx(r.ctx, r.opts.CreateDelay) {
		return
	}
	r.mu.Lock()
	r.ready = true
	r.notifyLocked()
	r.mu.Unlock()
	r.log.Info("replicator state changed", "state", ReplicatorRunning)
	r.copyLoop()
}

// setup creates the matching topics on the target and fixes the starting position. For LATEST
// the current end offsets are committed to the internal group, so records produced between
// creation and the first fetch are still copied.
func (r *Replicator) setup(ctx context.Context) error {
	r.mu.Lock()
	cfg := r.cfg
	r.mu.Unlock()
	topics, err := r.sourceTopics(ctx, cfg)
	if err != nil {
		return err
	}
	for _, t := range topics {
		if _, err := r.targetPartitions(ctx, t); err != nil {
			return err
		}
	}
	if len(topics) == 0 {
		return nil
	}
	committed, err := r.srcAdm.FetchOffsets(ctx, r.internalGroup)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("fetch %s offsets on %s: %w", r.internalGroup, r.opts.SourceAlias, err)
	}
	var listed kadm.ListedOffsets
	if r.opts.StartingPosition == StartingPositionLatest {
		listed, err = r.srcAdm.ListEndOffsets(ctx, topics...)
	} else {
		listed, err = r.srcAdm.ListStartOffsets(ctx, topics...)
	}
	if err != nil {
		return fmt.Errorf("list %s offsets on %s: %w", r.opts.StartingPosition, r.opts.SourceAlias, err)
	}
	if err := listed.Error(); err != nil {
		return fmt.Errorf("list %s offsets on %s: %w", r.opts.StartingPosition, r.opts.SourceAlias, err)
	}
	start := make(kadm.Offsets)
	r.posMu.Lock()
	listed.Each(func(o kadm.ListedOffset) {
		tp := topicPartition{o.Topic, o.Partition}
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			r.positions[tp] = max(r.positions[tp], c.At)
			return
		}
		r.positions[tp] = max(r.positions[tp], o.Offset)
		start.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1})
	})
	r.posMu.Unlock()
	if r.opts.StartingPosition == StartingPositionLatest && len(start) > 0 {
		resp, err := r.srcAdm.CommitOffsets(ctx, r.internalGroup, start)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("commit starting position for %s on %s: %w", r.internalGroup, r.opts.SourceAlias, err)
		}
	}
	return nil
}

// sourceTopics lists the source topics the configuration selects.
func (r *Replicator) sourceTopics(ctx context.Context, cfg *replicationConfig) ([]string, error) {
	td, err := r.srcAdm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics on %s: %w", r.opts.SourceAlias, err)
	}
	var out []string
	for _, t := range td.Names() {
		if cfg.topicMatches(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// targetPartitions returns the target topic's partition count, creating the topic with the
// source's count first if needed (DetectAndCopyNewTopics, CopyTopicConfigurations): equal
// counts let each source partition land on the same-numbered target partition, which keeps the
// per-partition offset translation meaningful.
func (r *Replicator) targetPartitions(ctx context.Context, topic string) (int32, error) {
	r.posMu.Lock()
	n, ok := r.targetParts[topic]
	r.posMu.Unlock()
	if ok {
		return n, nil
	}
	dst := r.CopyTopic(topic)
	td, err := r.tgtAdm.ListTopics(ctx, dst)
	if err != nil {
		return 0, fmt.Errorf("describe topic %s on %s: %w", dst, r.opts.TargetAlias, err)
	}
	if d, ok := td[dst]; ok && d.Err == nil {
		n = int32(len(d.Partitions))
	} else {
		sd, err := r.srcAdm.ListTopics(ctx, topic)
		if err != nil {
			return 0, fmt.Errorf("describe topic %s on %s: %w", topic, r.opts.SourceAlias, err)
		}
		s, ok := sd[topic]
		if !ok || s.Err != nil {
			return 0, fmt.Errorf("describe topic %s on %s: topic not found", topic, r.opts.SourceAlias)
		}
		n = int32(len(s.Partitions))
		resp, err := r.tgtAdm.CreateTopic(ctx, n, -1, nil, dst)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return 0, fmt.Errorf("create topic %s on %s: %w", dst, r.opts.TargetAlias, err)
		}
		r.log.Info("created topic on target", "topic", dst, "partitions", n)
	}
	if n <= 0 {
		return 0, fmt.Errorf("topic %s on %s has no partitions yet", dst, r.opts.TargetAlias)
	}
	r.posMu.Lock()
	r.targetParts[topic] = n
	r.posMu.Unlock()
	return n, nil
}

// copyLoop runs one source consumer at a time, replacing it after Stop/Resume, a configuration
// change or a failed batch. Each consumer resumes from the internal group's committed offsets,
// which only ever cover records the target acknowledged.
func (r *Replicator) copyLoop() {
	for {
		r.mu.Lock()
		for r.paused {
			ch := r.changed
			r.mu.Unlock()
			select {
			case <-ch:
			case <-r.ctx.Done():
				return
			}
			r.mu.Lock()
		}
		runCtx, runCancel := context.WithCancel(r.ctx)
		r.runCancel = runCancel
		r.consumerActive = true
		cfg := r.cfg
		r.mu.Unlock()

		err := r.runConsumer(runCtx, cfg)
		runCancel()

		r.mu.Lock()
		r.consumerActive = false
		r.runCancel = nil
		r.notifyLocked()
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Warn("replication consumer restarting", "err", err)
			if !sleepCtx(r.ctx, 200*time.Millisecond) {
				return
			}
		}
	}
}

func (r *Replicator) runConsumer(ctx context.Context, cfg *replicationConfig) error {
	opts := r.opts.sourceOpts(groupOpts(r.internalGroup)...)
	opts = append(opts,
		kgo.ConsumeRegex(),
		kgo.ConsumeTopics(anchoredAll(cfg.topicsInclude)...),
		// New partitions and topics are copied from their beginning; the starting position
		// only applies to what existed at creation, and setup committed that.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(500*time.Millisecond),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if ex := anchoredAll(cfg.topicsExclude); len(ex) > 0 {
		opts = append(opts, kgo.ConsumeExcludeTopics(ex...))
	}
	cons, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("create source consumer: %w", err)
	}
	defer func() {
		// Commit what the target acknowledged, leave the group so a successor joins at
		// once, and never hang on an unreachable source while doing so.
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := cons.CommitMarkedOffsets(cctx); err != nil {
			r.log.Debug("commit on consumer shutdown failed", "err", err)
		}
		_ = cons.LeaveGroupContext(cctx)
		cons.Close()
	}()
	for {
		fetches := cons.PollRecords(ctx, r.opts.MaxBatchRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			r.log.Debug("fetch error", "topic", t, "partition", p, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := r.copyBatch(ctx, cons, cfg, recs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

func anchoredAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = anchored(p)
	}
	return out
}

// copyBatch produces one polled batch to the target and marks for commit, per partition, only
// the prefix that was acknowledged (or filtered). Any failure ends the consumer so its successor
// re-reads from the committed offsets: a failed record is retried, never skipped.
func (r *Replicator) copyBatch(ctx context.Context, cons *kgo.Client, cfg *replicationConfig, recs []*kgo.Record) error {
	r.mu.Lock()
	slow := r.slow
	r.mu.Unlock()
	if slow > 0 && !sleepCtx(ctx, slow) {
		return ctx.Err()
	}

	now := time.Now()
	out := make([]*kgo.Record, 0, len(recs))
	idx := make([]int, len(recs))
	for i, rec := range recs {
		r.bytesIn.add(now, recordBytes(rec))
		origin, marked := headerValue(rec, OriginHeader)
		// Only identical names need loop prevention: a prefixed copy lands in a topic of its
		// own, and "MSK Replicator does not filter any data" then
		// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-topic-naming.html).
		if origin == r.opts.TargetAlias && r.opts.TopicNameConfiguration == TopicNameIdentical {
			idx[i] = -1
			continue
		}
		if !cfg.topicMatches(rec.Topic) {
			idx[i] = -1
			continue
		}
		n, err := r.targetPartitions(ctx, rec.Topic)
		if err != nil {
			return err
		}
		headers := make([]kgo.RecordHeader, 0, len(rec.Headers)+1)
		headers = append(headers, rec.Headers...)
		if !marked {
			headers = append(headers, kgo.RecordHeader{Key: OriginHeader, Value: []byte(r.opts.SourceAlias)})
		}
		idx[i] = len(out)
		out = append(out, &kgo.Record{
			Topic:     r.CopyTopic(rec.Topic),
			Partition: rec.Partition % n,
			Key:       rec.Key,
			Value:     rec.Value,
			Headers:   headers,
			Timestamp: rec.Timestamp,
		})
	}

	// ProduceSync reports results in completion order; index them by record.
	produceErr := make(map[*kgo.Record]error, len(out))
	if len(out) > 0 {
		for _, res := range r.producer.ProduceSync(ctx, out...) {
			produceErr[res.Record] = res.Err
		}
	}
	acked := time.Now()

	blocked := make(map[topicPartition]bool)
	advance := make(map[topicPartition]int64)
	marks := make([]*kgo.Record, 0, len(recs))
	var firstErr error
	r.posMu.Lock()
	for i, rec := range recs {
		tp := topicPartition{rec.Topic, rec.Partition}
		if blocked[tp] {
			continue
		}
		if j := idx[i]; j >= 0 {
			copied := out[j]
			if err, ok := produceErr[copied]; !ok || err != nil {
				blocked[tp] = true
				if err == nil {
					err = errors.New("no produce result")
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("produce %s[%d] to %s: %w", rec.Topic, rec.Partition, r.opts.TargetAlias, err)
				}
				r.failures.Add(1)
				continue
			}
			m := r.xlate[tp]
			if m == nil {
				m = &offsetMap{targetPartition: copied.Partition}
				r.xlate[tp] = m
			}
			m.add(rec.Offset, copied.Offset)
			r.recordsReplicated.Add(1)
			r.latency.add(acked, max(acked.Sub(rec.Timestamp).Milliseconds(), 0))
			r.throughput.add(acked, recordBytes(rec))
		} else {
			r.recordsFiltered.Add(1)
		}
		advance[tp] = rec.Offset + 1
		marks = append(marks, rec)
	}
	for tp, next := range advance {
		r.positions[tp] = max(r.positions[tp], next)
	}
	r.posMu.Unlock()
	cons.MarkCommitRecords(marks...)
	return firstErr
}

func recordBytes(r *kgo.Record) int64 {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return int64(n)
}

func headerValue(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// pingLoop probes both clusters (MSK's KafkaClusterPingSuccessCount) and moves the state into
// and out of FAILED.
func (r *Replicator) pingLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.PingInterval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
			}
		}
		srcErr := r.ping(r.src)
		tgtErr := r.ping(r.tgt)
		now := time.Now()
		r.mu.Lock()
		r.srcPing, r.tgtPing = srcErr == nil, tgtErr == nil
		if srcErr == nil {
			r.srcOK = now
		}
		if tgtErr == nil {
			r.tgtOK = now
		}
		var down []string
		if now.Sub(r.srcOK) > r.opts.FailAfter {
			down = append(down, fmt.Sprintf("source %s: %v", r.opts.SourceAlias, srcErr))
		}
		if now.Sub(r.tgtOK) > r.opts.FailAfter {
			down = append(down, fmt.Sprintf("target %s: %v", r.opts.TargetAlias, tgtErr))
		}
		switch {
		case len(down) > 0 && !r.failed:
			r.failed = true
			r.failInfo = &StateInfo{
				Code:    "KafkaClusterUnreachable",
				Message: fmt.Sprintf("unreachable for more than %s: %s", r.opts.FailAfter, strings.Join(down, "; ")),
			}
			r.notifyLocked()
			r.log.Warn("replicator state changed", "state", ReplicatorFailed, "reason", r.failInfo.Message)
		case len(down) == 0 && r.failed:
			r.failed = false
			r.failInfo = nil
			r.notifyLocked()
			r.log.Info("replicator recovered", "state", r.stateLocked())
		}
		r.mu.Unlock()
	}
}

func (r *Replicator) ping(cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(r.ctx, max(r.opts.PingInterval, time.Second))
	defer cancel()
	return cl.Ping(ctx)
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether the full sleep happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
