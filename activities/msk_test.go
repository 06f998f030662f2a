package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// labReplicator is the Region's inbound replicator as DescribeReplicator shows it: one flow from
// the peer's cluster (its alias is the cluster name) with the given topic naming and offset sync.
func labReplicator(region, naming, syncMode string) awstwin.Replicator {
	n, peer := labNames(region), labNames(labEast)
	if region == labEast {
		peer = labNames(labWest)
	}
	return awstwin.Replicator{ARN: n.replicatorARN, Name: n.replicator, State: "RUNNING",
		ReplicationInfo: []awstwin.ReplicationInfo{{SourceAlias: peer.cluster, TargetAlias: n.cluster, TargetCompressionType: "SNAPPY",
			TopicReplication: awstwin.TopicReplication{TopicsToReplicate: []string{kafkatwin.DefaultTopic}, CopyTopicConfigurations: true,
				DetectAndCopyNewTopics: true, StartingPosition: "LATEST", TopicNameConfiguration: naming},
			ConsumerGroupReplication: awstwin.ConsumerGroupReplication{ConsumerGroupsToReplicate: []string{".*"}, DetectAndCopyNewConsumerGroups: true,
				SynchroniseConsumerGroupOffsets: true, ConsumerGroupOffsetSyncMode: syncMode}}}}
}

// setReplication gives a Region of the test environment a replication block (YAML lines
// indented for the Region's mapping).
func setReplication(t *testing.T, l *cloudLab, region string, lines ...string) {
	t.Helper()
	path := filepath.Join(l.dir, "environments", labEnv+".yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	anchor := "    inbound_replicator_arn: " + labNames(region).replicatorARN + "\n"
	require.Contains(t, string(b), anchor)
	block := "    replication:\n"
	for _, ln := range lines {
		block += "      " + ln + "\n"
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), anchor, anchor+block, 1)), 0o644))
	l.cloud = NewCloud(l.cloud.opts) // a fresh environment cache
}

// A period is read only once it is complete: MSK may publish a minute's partitions in more than
// one request, and a period missing some partitions would read low.
func TestReplicatorLagSkipsAPeriodStillFilling(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	dims := map[string]string{"ReplicatorName": "lab-primary-to-secondary"}
	// Both reads must fall in the minute the datapoints are written for: a read after the minute
	// ends sees it complete (CI once crossed it). Start at a minute's beginning when too close to
	// its end.
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 5*time.Second {
		time.Sleep(left)
	}
	minute := time.Now().Truncate(time.Minute)
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, minute.Add(-time.Minute), []float64{0, 40, 2})
	// Only one of the three partitions of the current minute has arrived, and it is at 0.
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, minute, []float64{0})
	lag, err := l.cloud.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, lag.OK, lag.Reason)
	require.Equal(t, 42.0, *lag.MessageLag, "the complete period before it counts")
	require.True(t, lag.At.Equal(minute.Add(-time.Minute)), "at %s", lag.At)
	// The rest of the round arrives: the replicator is caught up.
	// At the minute's own timestamp: minute+1s could still be ahead of the clock when the test
	// slept to the minute's start, and a read ends at now (CI read the round as still filling).
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, minute, []float64{0, 0})
	lag, err = l.cloud.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, lag.OK, lag.Reason)
	require.Equal(t, 3, lag.Samples)
}

// The period comes from the environment: the lab publishes a round a second and says 1s.
func TestReplicatorLagReadsTheEnvironmentsPeriod(t *testing.T) {
	l := newCloudLab(t)
	setReplication(t, l, labWest, "metrics_period: 1s")
	dims := map[string]string{"ReplicatorName": "lab-primary-to-secondary"}
	second := time.Now().Truncate(time.Second)
	// Two rounds in the same minute: at 60 s they would add up to 5; at 1 s the newer one is
	// the replicator caught up.
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, second.Add(-2*time.Second), []float64{5, 0})
	l.twin.PutMetricValues(labWest, "AWS/Kafka", "MessageLag", dims, second.Add(-time.Second), []float64{0, 0})
	lag, err := l.cloud.ReplicatorLag(context.Background(), ReplicatorLagArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.True(t, lag.OK, lag.Reason)
	require.True(t, lag.At.Equal(second.Add(-time.Second)), "at %s", lag.At)
}

func TestReplicatorRunningChecksTheReplicationMode(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	args := ReplicatorArgs{Environment: labEnv, Region: labWest}

	rep, err := l.cloud.ReplicatorRunning(ctx, args)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Reason)
	require.Equal(t, "IDENTICAL", rep.TopicNameConfiguration)
	require.Equal(t, "ENHANCED", rep.ConsumerGroupOffsetSyncMode)
	require.Equal(t, kafkatwin.DefaultTopic, rep.CopyTopic)

	// LEGACY offset sync cannot translate offsets back: the two-way design fails back on it.
	l.msk[labWest].PutReplicator(labReplicator(labWest, "IDENTICAL", "LEGACY"))
	rep, err = l.cloud.ReplicatorRunning(ctx, args)
	require.NoError(t, err)
	require.False(t, rep.OK)
	for _, want := range []string{"replicator lab-primary-to-secondary in us-west-2", "ConsumerGroupOffsetSyncMode is LEGACY", "needs ENHANCED"} {
		require.Contains(t, rep.Reason, want)
	}

	// A replicator created without the member reports MSK's defaults: prefixed names, LEGACY.
	l.msk[labWest].PutReplicator(labReplicator(labWest, "", ""))
	rep, err = l.cloud.ReplicatorRunning(ctx, args)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS", rep.TopicNameConfiguration)
	require.Equal(t, "LEGACY", rep.ConsumerGroupOffsetSyncMode)
	require.Equal(t, "lab-msk-primary."+kafkatwin.DefaultTopic, rep.CopyTopic)

	// The environment says which naming it expects.
	setReplication(t, l, labWest, "topic_name_configuration: IDENTICAL")
	l.msk[labWest].PutReplicator(labReplicator(labWest, "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS", "ENHANCED"))
	rep, err = l.cloud.ReplicatorRunning(ctx, args)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, rep.Reason, "TopicNameConfiguration is PREFIXED_WITH_SOURCE_CLUSTER_ALIAS, the environment expects IDENTICAL")

	// A one-way setup may accept LEGACY with prefixed names.
	l2 := newCloudLab(t)
	setReplication(t, l2, labWest, "topic_name_configuration: PREFIXED_WITH_SOURCE_CLUSTER_ALIAS", "consumer_group_offset_sync_mode: LEGACY")
	l2.msk[labWest].PutReplicator(labReplicator(labWest, "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS", "LEGACY"))
	rep, err = l2.cloud.ReplicatorRunning(ctx, args)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Reason)
}

// commitGroup commits a consumer group's position on every partition of a topic.
func commitGroup(t *testing.T, cl *kgo.Client, group, topic string, at map[int32]int64) {
	t.Helper()
	offsets := kadm.Offsets{}
	for p, o := range at {
		offsets.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := kadm.NewClient(cl).CommitOffsets(context.Background(), group, offsets)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
}

// With prefixed topic names the copies land in <sourceKafkaClusterAlias>.<topic>: the consumer
// lag check drains that topic too, or it would pass while the copies wait.
func TestConsumerLagDrainsTheTopicTheCopiesLandIn(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	l.msk[labWest].PutReplicator(labReplicator(labWest, "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS", "LEGACY"))
	copyTopic := "lab-msk-primary." + kafkatwin.DefaultTopic
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.kafka[labWest].Bootstrap()...), kgo.AllowAutoTopicCreation(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	for range 5 {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: copyTopic, Partition: 0, Value: []byte(`{}`)}).FirstErr())
	}
	group := "app-consumers" // the pipeline's own group is live in this lab; commits from outside would be refused
	commitGroup(t, cl, group, kafkatwin.DefaultTopic, map[int32]int64{0: 0, 1: 0, 2: 0})
	commitGroup(t, cl, group, copyTopic, map[int32]int64{0: 0, 1: 0, 2: 0})

	res, err := l.cloud.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest, Group: group})
	require.NoError(t, err)
	require.False(t, res.OK, res.Reason)
	require.Equal(t, []string{kafkatwin.DefaultTopic, copyTopic}, res.Topics)
	require.GreaterOrEqual(t, res.Lag, int64(5))
	require.Contains(t, res.Reason, copyTopic)

	// The backfill gate drains the same topics.
	b := NewBackfill(BackfillOptions{AWS: l.cloud.opts.AWS, RunbookDir: l.dir,
		Replicators: func(ctx context.Context, r awsclients.Region) (BackfillReplicators, error) {
			return l.cloud.opts.AWS.Kafka(ctx, r)
		},
		Metrics: func(context.Context, awsclients.Region) (BackfillMetrics, error) {
			return &fakeBackfillMetrics{lag: []float64{0}}, nil
		},
		Objects: func(context.Context, awsclients.Region) (BackfillObjects, error) {
			return fakeBackfillObjects{}, nil
		}})
	env, err := l.cloud.envs.load(context.Background(), labEnv)
	require.NoError(t, err)
	rc := env.Regions[labWest]
	rc.ConsumerGroup = group
	g, err := b.Gates(ctx, wire.GateRequest{Environment: labEnv, Target: labWest, TargetRegion: rc,
		Topic: kafkatwin.DefaultTopic, Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.False(t, g.ConsumerLag.OK, g.ConsumerLag.Reason)
	require.Contains(t, g.ConsumerLag.Topic, copyTopic)

	// Once the group consumed the copies, both pass.
	commitGroup(t, cl, group, copyTopic, map[int32]int64{0: 5})
	res, err = l.cloud.ConsumerLag(ctx, ConsumerLagArgs{Environment: labEnv, Region: labWest, Group: group})
	require.NoError(t, err)
	require.True(t, res.OK, res.Reason)
	g, err = b.Gates(ctx, wire.GateRequest{Environment: labEnv, Target: labWest, TargetRegion: rc,
		Topic: kafkatwin.DefaultTopic, Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.True(t, g.ConsumerLag.OK, g.ConsumerLag.Reason)
}

// modeOf reads the members where the kafka API model puts them.
func TestModeOfReadsTheAPIShape(t *testing.T) {
	out := &kafka.DescribeReplicatorOutput{ReplicationInfoList: []kafkatypes.ReplicationInfoDescription{{
		SourceKafkaClusterAlias: aws.String("east"),
		TopicReplication: &kafkatypes.TopicReplication{TopicNameConfiguration: &kafkatypes.ReplicationTopicNameConfiguration{
			Type: kafkatypes.ReplicationTopicNameConfigurationTypeIdentical}},
		ConsumerGroupReplication: &kafkatypes.ConsumerGroupReplication{ConsumerGroupOffsetSyncMode: kafkatypes.ConsumerGroupOffsetSyncModeEnhanced,
			SynchroniseConsumerGroupOffsets: aws.Bool(true)},
	}}}
	m := modeOf(out)
	require.Equal(t, replicatorMode{SourceAlias: "east", TopicNameConfiguration: "IDENTICAL", OffsetSyncMode: "ENHANCED", SyncOffsets: true}, m)
	require.Empty(t, m.mismatches(nil))
	require.Equal(t, []string{"t"}, m.topicsToDrain("t"))
	out.ReplicationInfoList[0].TopicReplication.TopicNameConfiguration = nil
	require.Equal(t, []string{"t", "east.t"}, modeOf(out).topicsToDrain("t"))
}
