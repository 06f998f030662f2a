package kafkatwin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// PartitionLag is one source partition's share of MessageLag.
type PartitionLag struct {
	Topic     string
	Partition int32
	Lag       int64
}

// PartitionLags returns MSK's MessageLag at its raw granularity, one value per source partition
// of the replicated topics (sorted by topic and partition): the partition's high watermark minus
// the replicator's position. MSK publishes MessageLag per partition and aggregates it by Sum
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-metrics-ref.html: "Raw
// Metric Granularity: Partition", "Raw Metric Aggregation Stat: Sum"), which is why the lab
// publishes these values as separate samples. The position only moves once the target
// acknowledged a record — a stricter reading than "consumed by the replicator" — so 0 really
// means the target holds everything, which is what failback decides on.
func (r *Replicator) PartitionLags(ctx context.Context) ([]PartitionLag, error) {
	r.mu.Lock()
	cfg := r.cfg
	r.mu.Unlock()
	topics, err := r.sourceTopics(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replicator %s: message lag: %w", r.opts.Name, err)
	}
	if len(topics) == 0 {
		return nil, nil
	}
	ends, err := r.srcAdm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("replicator %s: message lag: list end offsets on %s: %w", r.opts.Name, r.opts.SourceAlias, err)
	}
	var out []PartitionLag
	r.posMu.Lock()
	ends.Each(func(o kadm.ListedOffset) {
		// A partition the replicator has never read is behind by all of it.
		lag := int64(0)
		if pos := r.positions[topicPartition{o.Topic, o.Partition}]; o.Offset > pos {
			lag = o.Offset - pos
		}
		out = append(out, PartitionLag{Topic: o.Topic, Partition: o.Partition, Lag: lag})
	})
	r.posMu.Unlock()
	slices.SortFunc(out, func(a, b PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	var total int64
	for _, p := range out {
		total += p.Lag
	}
	r.mu.Lock()
	r.lastLag = total
	r.mu.Unlock()
	return out, nil
}

// MessageLagContext returns MSK's MessageLag aggregated the documented way: the Sum over the
// replicated topics' partitions of [Replicator.PartitionLags].
func (r *Replicator) MessageLagContext(ctx context.Context) (int64, error) {
	parts, err := r.PartitionLags(ctx)
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, p := range parts {
		lag += p.Lag
	}
	return lag, nil
}

// MessageLag is MessageLagContext with a 2 s deadline; when the source cannot be asked, it
// returns the last value it could compute, as a metric would stay at its last datapoint.
func (r *Replicator) MessageLag() int64 {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	lag, err := r.MessageLagContext(ctx)
	if err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.lastLag
	}
	return lag
}

// ReplicationLatencyMillis returns the latency of the most recently copied record and the
// maximum over LatencyWindow, measured from the record's produce timestamp at the source to the
// target's acknowledgement (MSK's ReplicationLatency, whose raw statistic is Maximum).
func (r *Replicator) ReplicationLatencyMillis() (last, maxInWindow int64) {
	last, maxInWindow, _ = r.latency.stats(time.Now())
	return last, maxInWindow
}

// Throughput returns the bytes (keys, values and headers) copied per second, averaged over
// ThroughputWindow (MSK's ReplicatorThroughput).
func (r *Replicator) Throughput() float64 {
	return r.windowRate(r.throughput)
}

func (r *Replicator) windowRate(w *secondWindow) float64 {
	now := time.Now()
	_, _, sum := w.stats(now)
	span := r.opts.ThroughputWindow
	// A replicator younger than the window would otherwise under-report.
	if age := now.Sub(r.created); age < span {
		span = max(age, time.Second)
	}
	return float64(sum) / span.Seconds()
}

// ReplicatorMetrics is a snapshot of the twin's counterparts of MSK Replicator's AWS/Kafka
// metrics (dimension ReplicatorName, published in the target's Region), plus counters the lab's
// tests use to observe offset sync without sleeping.
type ReplicatorMetrics struct {
	MessageLag                     int64
	ReplicationLatencyMillis       int64 // maximum over LatencyWindow
	ReplicationLatencyLastMillis   int64
	ReplicatorThroughput           float64 // bytes/s
	ReplicatorBytesInPerSec        float64 // bytes/s read from the source, filtered ones included
	ReplicationFailures            int64
	ConsumerGroupCount             int64
	ConsumerGroupOffsetSyncFailure int64
	// KafkaClusterPingSuccessCount is 1 per alias whose last probe succeeded, else 0.
	KafkaClusterPingSuccessCount map[string]int64

	RecordsReplicated int64
	RecordsFiltered   int64 // skipped by loop prevention
	OffsetSyncPasses  int64 // completed sync passes
	// OffsetSyncSkippedActive counts (pass, group) pairs skipped because the target group had
	// active members.
	OffsetSyncSkippedActive int64
	OffsetSyncGroupsWritten int64
}

// Metrics returns a snapshot of the replicator's metrics.
func (r *Replicator) Metrics() ReplicatorMetrics {
	m := r.Counters()
	m.MessageLag = r.MessageLag()
	return m
}

// Counters is Metrics without MessageLag (left 0): measuring the lag is a round trip to the
// source cluster, which callers with their own deadline, like the lab's metric publisher, make
// themselves with MessageLagContext.
func (r *Replicator) Counters() ReplicatorMetrics {
	last, maxLat := r.ReplicationLatencyMillis()
	m := ReplicatorMetrics{
		ReplicationLatencyMillis:       maxLat,
		ReplicationLatencyLastMillis:   last,
		ReplicatorThroughput:           r.Throughput(),
		ReplicatorBytesInPerSec:        r.windowRate(r.bytesIn),
		ReplicationFailures:            r.failures.Load(),
		ConsumerGroupCount:             r.groupCount.Load(),
		ConsumerGroupOffsetSyncFailure: r.syncFailures.Load(),
		RecordsReplicated:              r.recordsReplicated.Load(),
		RecordsFiltered:                r.recordsFiltered.Load(),
		OffsetSyncPasses:               r.syncPasses.Load(),
		OffsetSyncSkippedActive:        r.syncSkippedActive.Load(),
		OffsetSyncGroupsWritten:        r.groupsSynced.Load(),
	}
	r.mu.Lock()
	m.KafkaClusterPingSuccessCount = map[string]int64{
		r.opts.SourceAlias: boolCount(r.srcPing),
		r.opts.TargetAlias: boolCount(r.tgtPing),
	}
	r.mu.Unlock()
	return m
}

func boolCount(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ReplicatorDescription is the twin's DescribeReplicator output, shaped like the SDK's
// DescribeReplicatorOutput so the lab can copy it field by field.
type ReplicatorDescription struct {
	ReplicatorName      string
	ReplicatorArn       string
	ReplicatorState     ReplicatorState
	StateInfo           *StateInfo
	CurrentVersion      string
	CreationTime        time.Time
	KafkaClusters       []KafkaClusterDescription
	ReplicationInfoList []ReplicationInfoDescription
}

// KafkaClusterDescription describes one side of the replicator.
type KafkaClusterDescription struct {
	KafkaClusterAlias string
	MskClusterArn     string
	Region            string
	BootstrapBrokers  []string
}

// ReplicationInfoDescription mirrors the SDK's ReplicationInfoDescription.
type ReplicationInfoDescription struct {
	SourceKafkaClusterAlias  string
	TargetKafkaClusterAlias  string
	TargetCompressionType    string
	TopicReplication         TopicReplication
	ConsumerGroupReplication ConsumerGroupReplication
}

// TopicReplication mirrors the SDK's TopicReplication.
type TopicReplication struct {
	TopicsToReplicate               []string
	TopicsToExclude                 []string
	CopyAccessControlListsForTopics bool
	CopyTopicConfigurations         bool
	DetectAndCopyNewTopics          bool
	StartingPosition                string
	TopicNameConfiguration          string // IDENTICAL or PREFIXED_WITH_SOURCE_CLUSTER_ALIAS
}

// ConsumerGroupReplication mirrors the SDK's ConsumerGroupReplication.
type ConsumerGroupReplication struct {
	ConsumerGroupsToReplicate       []string
	ConsumerGroupsToExclude         []string
	DetectAndCopyNewConsumerGroups  bool
	SynchroniseConsumerGroupOffsets bool
	// ConsumerGroupOffsetSyncMode is LEGACY or ENHANCED.
	ConsumerGroupOffsetSyncMode string
}

// Describe returns the replicator's description.
func (r *Replicator) Describe() ReplicatorDescription {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg := r.cfg
	d := ReplicatorDescription{
		ReplicatorName:  r.opts.Name,
		ReplicatorArn:   r.arn,
		ReplicatorState: r.stateLocked(),
		CurrentVersion:  r.versionLocked(),
		CreationTime:    r.created,
		KafkaClusters: []KafkaClusterDescription{
			{KafkaClusterAlias: r.opts.SourceAlias, MskClusterArn: r.opts.Source.ARN(), Region: r.opts.Source.Region(), BootstrapBrokers: r.opts.Source.Bootstrap()},
			{KafkaClusterAlias: r.opts.TargetAlias, MskClusterArn: r.opts.Target.ARN(), Region: r.opts.Target.Region(), BootstrapBrokers: r.opts.Target.Bootstrap()},
		},
		ReplicationInfoList: []ReplicationInfoDescription{{
			SourceKafkaClusterAlias: r.opts.SourceAlias,
			TargetKafkaClusterAlias: r.opts.TargetAlias,
			TargetCompressionType:   "SNAPPY",
			TopicReplication: TopicReplication{
				TopicsToReplicate:               slices.Clone(cfg.topicsInclude),
				TopicsToExclude:                 slices.Clone(cfg.topicsExclude),
				CopyAccessControlListsForTopics: cfg.copyACLs,
				CopyTopicConfigurations:         cfg.copyTopicConfigs,
				DetectAndCopyNewTopics:          cfg.detectNewTopics,
				StartingPosition:                r.opts.StartingPosition,
				TopicNameConfiguration:          r.opts.TopicNameConfiguration,
			},
			ConsumerGroupReplication: ConsumerGroupReplication{
				ConsumerGroupsToReplicate:       slices.Clone(cfg.groupsInclude),
				ConsumerGroupsToExclude:         slices.Clone(cfg.groupsExclude),
				DetectAndCopyNewConsumerGroups:  cfg.detectNewGroups,
				SynchroniseConsumerGroupOffsets: cfg.syncOffsets,
				ConsumerGroupOffsetSyncMode:     r.opts.ConsumerGroupOffsetSyncMode,
			},
		}},
	}
	if r.failInfo != nil {
		info := *r.failInfo
		d.StateInfo = &info
	}
	return d
}

// UpdateReplicationInfoInput mirrors the SDK's UpdateReplicationInfoInput minus the ARN and the
// cluster identifiers, which MSK does not let an update change anyway.
type UpdateReplicationInfoInput struct {
	// CurrentVersion is required and must equal CurrentVersion() (optimistic concurrency).
	CurrentVersion           string
	TopicReplication         *TopicReplicationUpdate
	ConsumerGroupReplication *ConsumerGroupReplicationUpdate
}

// TopicReplicationUpdate mirrors the SDK's; as there, every field is applied.
type TopicReplicationUpdate struct {
	TopicsToReplicate               []string
	TopicsToExclude                 []string
	CopyAccessControlListsForTopics bool
	CopyTopicConfigurations         bool
	DetectAndCopyNewTopics          bool
}

// ConsumerGroupReplicationUpdate mirrors the SDK's; as there, every field is applied.
type ConsumerGroupReplicationUpdate struct {
	ConsumerGroupsToReplicate       []string
	ConsumerGroupsToExclude         []string
	DetectAndCopyNewConsumerGroups  bool
	SynchroniseConsumerGroupOffsets bool
}

// Update starts an UpdateReplicationInfo: it checks the version, bumps it, reports UPDATING and
// applies the new settings when UpdateDelay has passed, returning to RUNNING. Only a RUNNING
// replicator accepts an update, so concurrent updates are refused rather than merged.
func (r *Replicator) Update(in UpdateReplicationInfoInput) (ReplicatorState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.stateLocked(); st != ReplicatorRunning {
		return st, fmt.Errorf("replicator %s: update: %w (state %s)", r.opts.Name, ErrReplicatorNotRunning, st)
	}
	if in.CurrentVersion != r.versionLocked() {
		return ReplicatorRunning, fmt.Errorf("replicator %s: update with version %q, current is %q: %w", r.opts.Name, in.CurrentVersion, r.versionLocked(), ErrStaleVersion)
	}
	if in.TopicReplication == nil && in.ConsumerGroupReplication == nil {
		return ReplicatorRunning, fmt.Errorf("replicator %s: update: %w: nothing to update", r.opts.Name, ErrInvalidUpdate)
	}
	next := *r.cfg
	if t := in.TopicReplication; t != nil {
		if len(t.TopicsToReplicate) == 0 {
			return ReplicatorRunning, fmt.Errorf("replicator %s: update: %w: TopicsToReplicate is empty", r.opts.Name, ErrInvalidUpdate)
		}
		next.topicsInclude = slices.Clone(t.TopicsToReplicate)
		next.topicsExclude = slices.Clone(t.TopicsToExclude)
		next.copyACLs = t.CopyAccessControlListsForTopics
		next.copyTopicConfigs = t.CopyTopicConfigurations
		next.detectNewTopics = t.DetectAndCopyNewTopics
	}
	if g := in.ConsumerGroupReplication; g != nil {
		if len(g.ConsumerGroupsToReplicate) == 0 {
			return ReplicatorRunning, fmt.Errorf("replicator %s: update: %w: ConsumerGroupsToReplicate is empty", r.opts.Name, ErrInvalidUpdate)
		}
		next.groupsInclude = slices.Clone(g.ConsumerGroupsToReplicate)
		next.groupsExclude = slices.Clone(g.ConsumerGroupsToExclude)
		next.detectNewGroups = g.DetectAndCopyNewConsumerGroups
		next.syncOffsets = g.SynchroniseConsumerGroupOffsets
	}
	cfg, err := newReplicationConfig(next)
	if err != nil {
		return ReplicatorRunning, fmt.Errorf("replicator %s: update: %w", r.opts.Name, err)
	}
	r.version++
	r.updating = true
	r.pendingCfg = cfg
	r.notifyLocked()
	r.log.Info("replicator state changed", "state", ReplicatorUpdating, "version", r.versionLocked())
	r.wg.Add(1)
	go r.finishUpdate()
	return ReplicatorUpdating, nil
}

func (r *Replicator) finishUpdate() {
	defer r.wg.Done()
	if !sleepCtx(r.ctx, r.opts.UpdateDelay) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	topicsChanged := !slices.Equal(r.cfg.topicsInclude, r.pendingCfg.topicsInclude) ||
		!slices.Equal(r.cfg.topicsExclude, r.pendingCfg.topicsExclude)
	r.cfg, r.pendingCfg = r.pendingCfg, nil
	r.updating = false
	if topicsChanged && r.runCancel != nil {
		// The consumer's subscription is fixed at creation; its successor picks up the
		// new topic list from the committed offsets.
		r.runCancel()
	}
	r.notifyLocked()
	r.log.Info("replicator state changed", "state", r.stateLocked(), "version", r.versionLocked())
}
