package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// MSKClusterArgs is the input of msk.cluster_active.
type MSKClusterArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region of the cluster"`
	ClusterARN  string `json:"cluster_arn,omitempty" doc:"default: the Region's msk_cluster_arn"`
}

// MSKClusterResult is the output of msk.cluster_active.
type MSKClusterResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Name   string `json:"name"`
	ARN    string `json:"arn"`
	State  string `json:"state"`
	// Warnings say the cluster passed in a state other than ACTIVE (see mskClusterState).
	Warnings []string `json:"warnings,omitempty" doc:"set when the cluster serves in a state other than ACTIVE (HEALING, MAINTENANCE, REBOOTING_BROKER, UPDATING)"`
}

// ClusterActive checks that the Region's MSK cluster serves (DescribeClusterV2): ACTIVE passes,
// and so, with a warning, do the states in which MSK still produces and consumes (see
// mskClusterState).
func (c *Cloud) ClusterActive(ctx context.Context, in MSKClusterArgs) (MSKClusterResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return MSKClusterResult{}, err
	}
	arn, err := orEnv(in.ClusterARN, t.rc.MSKClusterARN, "MSK cluster", "msk_cluster_arn", t.region)
	if err != nil {
		return MSKClusterResult{}, err
	}
	kc, err := c.opts.AWS.Kafka(ctx, t.aws)
	if err != nil {
		return MSKClusterResult{}, Permanent(err)
	}
	out, err := kc.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(arn)})
	if err != nil {
		return MSKClusterResult{}, Wrap(err, "describe MSK cluster", arn, t.region)
	}
	res := MSKClusterResult{ARN: arn}
	if ci := out.ClusterInfo; ci != nil {
		res.Name, res.State = aws.ToString(ci.ClusterName), string(ci.State)
	}
	switch v := mskClusterState(res.State); {
	case v.Serves && v.Warning != "":
		res.OK, res.Reason = true, fmt.Sprintf("MSK cluster %s in %s is %s: %s", res.Name, t.region, res.State, v.Warning)
		res.Warnings = []string{res.Reason}
	case v.Serves:
		res.OK, res.Reason = true, fmt.Sprintf("MSK cluster %s in %s is ACTIVE", res.Name, t.region)
	default:
		res.Reason = fmt.Sprintf("MSK cluster %s in %s is %s, not ACTIVE", cmp.Or(res.Name, arn), t.region, cmp.Or(res.State, "of unknown state"))
	}
	return res, nil
}

// ReplicatorArgs is the input of msk.replicator_running.
type ReplicatorArgs struct {
	Environment   string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region        string `json:"region" catalog:"region,required" doc:"the Region the replicator copies into (it runs there)"`
	ReplicatorARN string `json:"replicator_arn,omitempty" doc:"default: the Region's inbound_replicator_arn"`
}

// ReplicatorResult is the output of msk.replicator_running.
type ReplicatorResult struct {
	OK                          bool   `json:"ok"`
	Reason                      string `json:"reason"`
	Name                        string `json:"name"`
	ARN                         string `json:"arn"`
	State                       string `json:"state"`
	CurrentVersion              string `json:"current_version"`
	TopicNameConfiguration      string `json:"topic_name_configuration" doc:"IDENTICAL or PREFIXED_WITH_SOURCE_CLUSTER_ALIAS"`
	ConsumerGroupOffsetSyncMode string `json:"consumer_group_offset_sync_mode" doc:"ENHANCED or LEGACY"`
	CopyTopic                   string `json:"copy_topic,omitempty" doc:"the topic in this Region that receives the copies of the environment's topic"`
}

// ReplicatorRunning checks that the replicator copying into the Region is RUNNING
// (DescribeReplicator, in the Region that replicator runs in) and replicates the way the
// environment needs (replicatorMode.mismatches): a RUNNING replicator with the wrong topic naming
// or offset sync mode fails too, because it cannot be changed in place and failback would not
// behave as the runbooks assume.
func (c *Cloud) ReplicatorRunning(ctx context.Context, in ReplicatorArgs) (ReplicatorResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return ReplicatorResult{}, err
	}
	arn, err := orEnv(in.ReplicatorARN, t.rc.InboundReplicatorARN, "replicator", "inbound_replicator_arn", t.region)
	if err != nil {
		return ReplicatorResult{}, err
	}
	kc, err := c.opts.AWS.Kafka(ctx, t.aws)
	if err != nil {
		return ReplicatorResult{}, Permanent(err)
	}
	out, err := kc.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(arn)})
	if err != nil {
		return ReplicatorResult{}, Wrap(err, "describe replicator", arn, t.region)
	}
	mode := modeOf(out)
	res := ReplicatorResult{ARN: arn, Name: cmp.Or(aws.ToString(out.ReplicatorName), replicatorNameFromARN(arn)),
		State: string(out.ReplicatorState), CurrentVersion: aws.ToString(out.CurrentVersion),
		TopicNameConfiguration: mode.TopicNameConfiguration, ConsumerGroupOffsetSyncMode: mode.OffsetSyncMode}
	if t.env.Topic != "" {
		res.CopyTopic = mode.copyTopic(t.env.Topic)
	}
	bad := mode.mismatches(t.rc.Replication)
	switch {
	case res.State != string(kafkatypes.ReplicatorStateRunning):
		res.Reason = fmt.Sprintf("replicator %s in %s is %s, not RUNNING", res.Name, t.region, res.State)
		if si := out.StateInfo; si != nil && aws.ToString(si.Message) != "" {
			res.Reason += ": " + aws.ToString(si.Message)
		}
	case len(bad) > 0:
		res.Reason = fmt.Sprintf("replicator %s in %s is RUNNING but %s", res.Name, t.region, strings.Join(bad, "; "))
	default:
		res.OK, res.Reason = true, fmt.Sprintf("replicator %s in %s is RUNNING (%s topic names, %s offset sync)", res.Name, t.region,
			mode.TopicNameConfiguration, mode.OffsetSyncMode)
	}
	return res, nil
}

// replicatorMode is how a replicator copies, as DescribeReplicator reports it.
type replicatorMode struct {
	// SourceAlias is the source cluster's alias, the prefix of PREFIXED topic names.
	SourceAlias string
	// TopicNameConfiguration and OffsetSyncMode are the API's enum values; "" when the
	// replicator has no replication flow at all.
	TopicNameConfiguration string
	OffsetSyncMode         string
	// SyncOffsets is SynchroniseConsumerGroupOffsets.
	SyncOffsets bool
}

// modeOf reads the mode from DescribeReplicator's ReplicationInfoList (an MSK Replicator has one
// source-to-target flow): ReplicationInfoList[0].TopicReplication.TopicNameConfiguration.Type and
// .ConsumerGroupReplication.ConsumerGroupOffsetSyncMode. A member MSK leaves out has the API's
// default: PREFIXED_WITH_SOURCE_CLUSTER_ALIAS naming
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-topic-naming.html:
// "Prefixed (default)"), LEGACY sync and offset sync on
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-perms-consumer-group-sync.html).
func modeOf(out *kafka.DescribeReplicatorOutput) replicatorMode {
	if len(out.ReplicationInfoList) == 0 {
		return replicatorMode{}
	}
	ri := out.ReplicationInfoList[0]
	m := replicatorMode{SourceAlias: aws.ToString(ri.SourceKafkaClusterAlias),
		TopicNameConfiguration: runbook.TopicNamePrefixed, OffsetSyncMode: runbook.OffsetSyncLegacy, SyncOffsets: true}
	if tr := ri.TopicReplication; tr != nil && tr.TopicNameConfiguration != nil && tr.TopicNameConfiguration.Type != "" {
		m.TopicNameConfiguration = string(tr.TopicNameConfiguration.Type)
	}
	if cg := ri.ConsumerGroupReplication; cg != nil {
		if cg.ConsumerGroupOffsetSyncMode != "" {
			m.OffsetSyncMode = string(cg.ConsumerGroupOffsetSyncMode)
		}
		if cg.SynchroniseConsumerGroupOffsets != nil {
			m.SyncOffsets = *cg.SynchroniseConsumerGroupOffsets
		}
	}
	return m
}

// copyTopic is the topic in the target cluster that receives the copies of a source topic: the
// same name, or <sourceKafkaClusterAlias>.<topic> with prefixed naming.
func (m replicatorMode) copyTopic(topic string) string {
	if m.TopicNameConfiguration == runbook.TopicNamePrefixed && m.SourceAlias != "" {
		return m.SourceAlias + "." + topic
	}
	return topic
}

// mismatches says, one readable clause each, how the replicator differs from what the Region's
// replication settings need. Offset sync matters because the runbooks fail back: LEGACY
// "does not translate offsets from the target back to the source"
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-bidirectional-offset-sync.html),
// so consumers moved back would restart from stale or no offsets; ENHANCED, with the reverse
// replicator, translates in both directions.
func (m replicatorMode) mismatches(want *runbook.Replication) []string {
	if m.TopicNameConfiguration == "" {
		return []string{"DescribeReplicator shows no replication flow (ReplicationInfoList is empty)"}
	}
	var out []string
	if w := want.WantTopicNameConfiguration(); w != "" && w != m.TopicNameConfiguration {
		out = append(out, fmt.Sprintf("its TopicNameConfiguration is %s, the environment expects %s (topic naming is fixed at creation: replace the replicator or change replication.topic_name_configuration)",
			m.TopicNameConfiguration, w))
	}
	if w := want.WantOffsetSyncMode(); w != m.OffsetSyncMode {
		why := ""
		if w == runbook.OffsetSyncEnhanced {
			why = ": LEGACY never translates consumer-group offsets back, so consumers that fail back would not resume where they stopped; ENHANCED needs the reverse replicator and IDENTICAL topic names"
		}
		out = append(out, fmt.Sprintf("its ConsumerGroupOffsetSyncMode is %s, the environment needs %s%s", m.OffsetSyncMode, w, why))
	}
	if want.WantOffsetSyncMode() == runbook.OffsetSyncEnhanced && !m.SyncOffsets {
		out = append(out, "its SynchroniseConsumerGroupOffsets is false, so no consumer-group offsets are translated at all")
	}
	return out
}

// copyTopics are the topics in the Region a consumer group must drain to have everything of
// topic: topic itself and, when the inbound replicator prefixes names, the topic its copies land
// in. The environment's replication.topic_name_configuration IDENTICAL saves the
// DescribeReplicator call; otherwise the replicator says.
func (c *Cloud) copyTopics(ctx context.Context, t target, topic string) ([]string, error) {
	if t.rc.InboundReplicatorARN == "" || t.rc.Replication.WantTopicNameConfiguration() == runbook.TopicNameIdentical {
		return []string{topic}, nil
	}
	kc, err := c.opts.AWS.Kafka(ctx, t.aws)
	if err != nil {
		return nil, Permanent(err)
	}
	out, err := kc.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(t.rc.InboundReplicatorARN)})
	if err != nil {
		return nil, Wrap(err, "describe replicator", t.rc.InboundReplicatorARN, t.region)
	}
	return modeOf(out).topicsToDrain(topic), nil
}

// topicsToDrain is topic and, if different, the topic the copies of topic land in.
func (m replicatorMode) topicsToDrain(topic string) []string {
	if ct := m.copyTopic(topic); ct != topic {
		return []string{topic, ct}
	}
	return []string{topic}
}

// ReplicatorLagArgs is the input of msk.replicator_lag.
type ReplicatorLagArgs struct {
	Environment    string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region         string           `json:"region" catalog:"region,required" doc:"the replicator's target Region, where MSK publishes its metrics"`
	ReplicatorARN  string           `json:"replicator_arn,omitempty" doc:"default: the Region's inbound_replicator_arn"`
	ReplicatorName string           `json:"replicator_name,omitempty" doc:"the ReplicatorName dimension; default: taken from the ARN"`
	MaxMessageLag  int64            `json:"max_message_lag,omitempty" doc:"highest MessageLag that passes (default 0: caught up)"`
	MaxLatency     runbook.Duration `json:"max_latency,omitempty" catalog:"duration" doc:"highest ReplicationLatency that passes; default: not checked"`
	Lookback       runbook.Duration `json:"lookback,omitempty" catalog:"duration" doc:"how far back to look for datapoints (default 10m)"`
	Within         runbook.Duration `json:"within,omitempty" catalog:"duration,bounds" doc:"keep reading, heartbeating, until caught up or this long has passed (default: one read); unlike wait_until's timeout it may be an expression such as a param"`
}

// ReplicatorLagResult is the output of msk.replicator_lag. Missing metrics are null.
type ReplicatorLagResult struct {
	OK                   bool      `json:"ok"`
	Reason               string    `json:"reason"`
	Name                 string    `json:"name"`
	MessageLag           *float64  `json:"message_lag" doc:"the Sum over the replicator's partitions in the newest complete period"`
	Samples              int       `json:"samples,omitempty" doc:"datapoints in that period (one per partition and publication)"`
	ReplicationLatencyMS *float64  `json:"replication_latency_ms"`
	At                   time.Time `json:"at,omitzero" doc:"start of the period MessageLag was read from"`
}

// ReplicatorLag reads the replicator's MessageLag and ReplicationLatency (namespace AWS/Kafka,
// dimension ReplicatorName) in its target Region, the only place MSK publishes them, the way
// readReplicatorMetrics defines. MessageLag at or under the limit is the documented sign the
// replicator has caught up; no datapoint at all is not proof of anything, so it does not pass.
func (c *Cloud) ReplicatorLag(ctx context.Context, in ReplicatorLagArgs) (ReplicatorLagResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return ReplicatorLagResult{}, err
	}
	name := in.ReplicatorName
	if name == "" {
		arn, err := orEnv(in.ReplicatorARN, t.rc.InboundReplicatorARN, "replicator", "inbound_replicator_arn", t.region)
		if err != nil {
			return ReplicatorLagResult{}, err
		}
		name = replicatorNameFromARN(arn)
	}
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return ReplicatorLagResult{}, Permanent(err)
	}
	lookback := cmp.Or(in.Lookback.D(), backfill.DefaultMetricsLookback)
	read := func() (ReplicatorLagResult, error) {
		m, err := readReplicatorMetrics(ctx, cw, name, lookback, t.rc.Replication.Period())
		if err != nil {
			return ReplicatorLagResult{}, Wrap(err, "read metrics of replicator", name, t.region)
		}
		res := ReplicatorLagResult{Name: name, MessageLag: m.messageLag, Samples: m.samples, At: m.at, ReplicationLatencyMS: m.latencyMS}
		// The state is msk.replicator_running's to check: this check reads metrics only.
		res.OK, res.Reason = backfill.ReplicatorCaughtUp(m.observe(name, t.region, "", lookback),
			backfill.Policy{MaxMessageLag: in.MaxMessageLag, MaxLatency: in.MaxLatency.D()})
		return res, nil
	}
	res, err := read()
	deadline := time.Now().Add(in.Within.D())
	for err == nil && !res.OK && !InPlan(ctx) && time.Now().Before(deadline) {
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, res.Reason)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(min(c.opts.PollInterval, time.Until(deadline))):
		}
		res, err = read()
	}
	if err == nil && !res.OK && in.Within > 0 && !InPlan(ctx) {
		res.Reason += fmt.Sprintf(" (still, after %s)", in.Within.D())
	}
	return res, err
}

// ConsumerLagArgs is the input of msk.consumer_lag.
type ConsumerLagArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region whose brokers to ask"`
	Group       string `json:"group,omitempty" doc:"default: the Region's consumer_group (the OSI pipeline's)"`
	Topic       string `json:"topic,omitempty" doc:"default: the environment's topic and, when the inbound replicator prefixes topic names, the topic its copies land in"`
	MaxLag      int64  `json:"max_lag,omitempty" doc:"highest lag that passes (default 0: drained)"`
}

// ConsumerLagResult is the output of msk.consumer_lag.
type ConsumerLagResult struct {
	OK     bool     `json:"ok"`
	Reason string   `json:"reason"`
	Group  string   `json:"group"`
	Topic  string   `json:"topic"`
	Topics []string `json:"topics" doc:"every topic measured (the environment's topic, then the replicator's copy topic when it differs)"`
	Lag    int64    `json:"lag" doc:"the total over topics and partitions"`
}

// ConsumerLag measures a consumer group's lag at the Region's brokers with kadm: the OSI
// pipeline's own Kafka-source metrics are not documented, while the brokers' committed offsets
// are exact. Without an explicit topic it drains the environment's topic and the topic the
// Region's inbound replicator really writes its copies to (copyTopics): with prefixed naming
// those are <sourceKafkaClusterAlias>.<topic>, and a check of the plain topic alone would pass
// while the copies wait. A group with nothing committed yet is not ok (nothing proves it
// drained); brokers that do not answer are a retryable RegionUnreachable error.
func (c *Cloud) ConsumerLag(ctx context.Context, in ConsumerLagArgs) (ConsumerLagResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return ConsumerLagResult{}, err
	}
	group, err := orEnv(in.Group, t.rc.ConsumerGroup, "consumer group", "consumer_group", t.region)
	if err != nil {
		return ConsumerLagResult{}, err
	}
	topics := []string{in.Topic}
	if in.Topic == "" {
		if t.env.Topic == "" {
			return ConsumerLagResult{}, badArgs("no topic: pass one or set topic in environment %s", t.envName)
		}
		if topics, err = c.copyTopics(ctx, t, t.env.Topic); err != nil {
			return ConsumerLagResult{}, err
		}
	}
	res := ConsumerLagResult{Group: group, Topic: topics[0], Topics: topics}
	adm, err := kafkaAdmin(ctx, c.opts.AWS, t.region, t.rc)
	if err != nil {
		return res, err
	}
	defer adm.Close()
	for _, topic := range topics {
		lag, err := groupLag(ctx, adm, t.region, t.rc, group, topic)
		var notReady backfillLagNotReady
		switch {
		case errors.As(err, &notReady):
			res.OK, res.Reason = backfill.ConsumerDrained(backfill.ConsumerObservation{NotMeasurable: string(notReady)}, backfill.Policy{})
			return res, nil
		case err != nil:
			return res, err
		}
		res.Lag += lag
	}
	res.OK, res.Reason = backfill.ConsumerDrained(backfill.ConsumerObservation{Group: group, Region: t.region, Topics: topics, Lag: res.Lag},
		backfill.Policy{MaxConsumerLag: in.MaxLag})
	return res, nil
}

// GroupIdleArgs is the input of msk.group_idle.
type GroupIdleArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region whose brokers to ask"`
	Group       string `json:"group,omitempty" doc:"default: the Region's consumer_group"`
}

// GroupIdleResult is the output of msk.group_idle.
type GroupIdleResult struct {
	OK      bool   `json:"ok"`
	Reason  string `json:"reason"`
	Group   string `json:"group"`
	State   string `json:"state"`
	Members int    `json:"members"`
}

// GroupIdle checks that a consumer group has no active members in the Region. MSK Replicator
// only commits translated offsets to a target group that is idle, so before consumers start in
// the failover Region this tells whether they will resume near where the others stopped.
func (c *Cloud) GroupIdle(ctx context.Context, in GroupIdleArgs) (GroupIdleResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return GroupIdleResult{}, err
	}
	group, err := orEnv(in.Group, t.rc.ConsumerGroup, "consumer group", "consumer_group", t.region)
	if err != nil {
		return GroupIdleResult{}, err
	}
	adm, err := kafkaAdmin(ctx, c.opts.AWS, t.region, t.rc)
	if err != nil {
		return GroupIdleResult{}, err
	}
	defer adm.Close()
	state, members, err := groupMembers(ctx, adm, t.region, t.rc, group)
	if err != nil {
		return GroupIdleResult{}, err
	}
	res := GroupIdleResult{Group: group, State: state, Members: members}
	if members == 0 {
		res.OK, res.Reason = true, fmt.Sprintf("consumer group %s in %s has no active members (%s)", group, t.region, state)
	} else {
		res.Reason = fmt.Sprintf("consumer group %s in %s has %d active members (%s)", group, t.region, members, state)
	}
	return res, nil
}

// replicatorMetrics is what readReplicatorMetrics found; pointers are nil when absent.
type replicatorMetrics struct {
	messageLag, latencyMS *float64
	samples               int
	at                    time.Time
}

// observe is what the catch-up rule (backfill.ReplicatorCaughtUp) judges; state is "" when the
// caller did not describe the replicator.
func (m replicatorMetrics) observe(name, region, state string, lookback time.Duration) backfill.ReplicatorObservation {
	return backfill.ReplicatorObservation{Name: name, Region: region, State: state, MessageLag: m.messageLag, Samples: m.samples,
		At: m.at, LatencyMS: m.latencyMS, Lookback: lookback}
}

// readReplicatorMetrics reads MessageLag the way the MSK Replicator metrics reference defines it
// (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-metrics-ref.html): its
// raw granularity is the partition and its aggregation statistic Sum, so each period holds one
// datapoint per partition and publication, and the period's Sum is the replicator's lag over all
// its partitions. Minimum — what this read before — is the least-lagged partition's: one
// partition at 0 while another is thousands behind read as caught up.
//
// What "caught up" means: the newest complete period has Sum 0 (or, for msk.replicator_lag, at
// most max_message_lag). MSK publishes once a minute and the period is a minute, so that Sum is
// one snapshot of every partition at one moment — it asks for all partitions to have reached
// their end at once, not for a whole minute without lag, which is what makes it usable on a busy
// topic: a replicator that keeps up is at every partition's end right after each fetch, and the
// snapshot sees that. (Reading the Maximum of a minute of many samples, or the Sum of a period
// holding many publications, would need every sample in it to be 0 — rare while producers
// write.) A period is complete when its SampleCount is not below the period before it's: MSK
// may publish a minute's partitions in more than one request, and a period read while some
// partitions are missing would under-count. The period is the Region's
// replication.metrics_period: 1m on AWS; the lab publishes one round a second and says 1s.
//
// ReplicationLatency (aggregation Maximum) is read as the same period's Maximum.
func readReplicatorMetrics(ctx context.Context, cw BackfillMetrics, name string, lookback, period time.Duration) (replicatorMetrics, error) {
	now := time.Now()
	dims := []cwtypes.Dimension{{Name: aws.String("ReplicatorName"), Value: aws.String(name)}}
	q := func(id, metric, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String(metric), Dimensions: dims},
			Period: aws.Int32(int32(period / time.Second)), Stat: aws.String(stat)}}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-lookback)), EndTime: aws.Time(now),
		ScanBy: cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{q("lag", "MessageLag", "Sum"), q("lagsamples", "MessageLag", "SampleCount"),
			q("latency", "ReplicationLatency", "Maximum")},
	})
	if err != nil {
		return replicatorMetrics{}, err
	}
	byID := map[string]cwtypes.MetricDataResult{}
	for _, r := range out.MetricDataResults {
		byID[aws.ToString(r.Id)] = r
	}
	var m replicatorMetrics
	sums, counts := byID["lag"], byID["lagsamples"]
	count := map[time.Time]float64{}
	for i, ts := range counts.Timestamps {
		if i < len(counts.Values) {
			count[ts.UTC()] = counts.Values[i]
		}
	}
	ts := func(i int) time.Time {
		if i < len(sums.Timestamps) {
			return sums.Timestamps[i].UTC()
		}
		return time.Time{}
	}
	if n := len(sums.Values); n > 0 {
		pick := 0 // newest first
		if n > 1 && count[ts(0)] < count[ts(1)] {
			pick = 1 // the newest period is still filling
		}
		v := sums.Values[pick]
		m.messageLag, m.at, m.samples = &v, ts(pick), int(count[ts(pick)])
		lat := byID["latency"]
		for i, l := range lat.Values {
			if i >= len(lat.Timestamps) || !lat.Timestamps[i].After(m.at) {
				m.latencyMS = &l
				break
			}
		}
	}
	return m, nil
}
