package lab

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// MessageLag reaches CloudWatch as MSK publishes it: one sample per partition, so a period's Sum
// is the replicator's lag and its Minimum only the least-lagged partition's. With the replicator
// stopped and records in one partition only, the Minimum reads 0 while the replicator is behind.
func TestLabPublishesMessageLagPerPartition(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	rep := l.InboundReplicator(west)
	require.NoError(t, rep.Stop(ctx))

	cl, err := kgo.NewClient(kgo.SeedBrokers(l.Cluster(east).Bootstrap()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	for i := range 7 {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: Topic, Partition: 0, Value: fmt.Appendf(nil, `{"n":%d}`, i)}).FirstErr())
	}

	cw := cloudwatch.NewFromConfig(sdkConfig(l, west))
	q := func(id, stat string, dims ...string) cwtypes.MetricDataQuery {
		var ds []cwtypes.Dimension
		for i := 0; i+1 < len(dims); i += 2 {
			ds = append(ds, cwtypes.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
		}
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String("MessageLag"), Dimensions: ds},
			Period: aws.Int32(int32(ReplicatorMetricsPeriod / time.Second)), Stat: aws.String(stat)}}
	}
	// newest reads the newest period of each statistic.
	newest := func() map[string]float64 {
		now := time.Now()
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now.Add(time.Second)),
			MetricDataQueries: []cwtypes.MetricDataQuery{
				q("sum", "Sum", "ReplicatorName", rep.Name()), q("min", "Minimum", "ReplicatorName", rep.Name()),
				q("n", "SampleCount", "ReplicatorName", rep.Name()), q("topic", "Sum", "ReplicatorName", rep.Name(), "Topic", Topic)}})
		require.NoError(t, err)
		got := map[string]float64{}
		for _, r := range out.MetricDataResults {
			if len(r.Values) > 0 {
				got[aws.ToString(r.Id)] = r.Values[0]
			}
		}
		return got
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		got := newest()
		return got["sum"] == 7, fmt.Sprint(got)
	})
	got := newest()
	require.Equal(t, 7.0, got["sum"], "the Sum is the replicator's lag")
	require.Equal(t, 0.0, got["min"], "the Minimum is a caught-up partition's")
	require.Equal(t, 3.0, got["n"], "one sample per partition in each period")
	require.Equal(t, 7.0, got["topic"], "the topic's partitions under ReplicatorName, Topic")

	rep.Resume()
	eventually(t, 10*time.Second, func() (bool, string) {
		got := newest()
		return got["sum"] == 0 && got["n"] == 3, fmt.Sprint(got)
	})
}

// DescribeReplicator reports the replication mode where the kafka API model puts it, and the
// lab runs the seed's two-way settings, which its environment declares.
func TestLabReplicatorsRunTheSeedsReplicationMode(t *testing.T) {
	l := startTestLab(t, nil)
	env := l.Environment()
	for _, r := range []string{east, west} {
		kc := kafka.NewFromConfig(sdkConfig(l, r))
		out, err := kc.DescribeReplicator(context.Background(), &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(env.Regions[r].InboundReplicatorARN)})
		require.NoError(t, err)
		require.Len(t, out.ReplicationInfoList, 1)
		ri := out.ReplicationInfoList[0]
		require.Equal(t, kafkatypes.ReplicationTopicNameConfigurationTypeIdentical, ri.TopicReplication.TopicNameConfiguration.Type, r)
		require.Equal(t, kafkatypes.ConsumerGroupOffsetSyncModeEnhanced, ri.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode, r)
		require.True(t, aws.ToBool(ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets), r)
		want := env.Regions[r].Replication
		require.Equal(t, string(ri.TopicReplication.TopicNameConfiguration.Type), want.WantTopicNameConfiguration())
		require.Equal(t, string(ri.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode), want.WantOffsetSyncMode())
		require.Equal(t, runbook.Duration(ReplicatorMetricsPeriod), want.MetricsPeriod)
	}
}
