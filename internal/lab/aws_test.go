package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
)

// TestAWSOperationsThroughTheSDK drives every control-plane operation the engine uses through
// the real aws-sdk-go-v2 clients against one running lab, and checks that each answer reflects
// the twin behind it.
func TestAWSOperationsThroughTheSDK(t *testing.T) {
	l := startTestLab(t, func(o *Options) { o.ProducerRate = 200; o.WithEventIDs = true })
	env := l.Environment()
	ctx := context.Background()
	eastCfg, westCfg := sdkConfig(l, east), sdkConfig(l, west)

	// Let some traffic flow so that metrics exist.
	eventually(t, 20*time.Second, func() (bool, string) {
		n := l.Collection(west).DocCount(IndexPattern)
		return n >= 50, fmt.Sprintf("%d documents replicated and indexed in us-west-2", n)
	})

	t.Run("kafka", func(t *testing.T) {
		client := kafka.NewFromConfig(eastCfg)
		lc, err := client.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
		require.NoError(t, err)
		require.Len(t, lc.ClusterInfoList, 1)
		require.Equal(t, env.Regions[east].MSKClusterARN, aws.ToString(lc.ClusterInfoList[0].ClusterArn))
		dc, err := client.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(env.Regions[east].MSKClusterARN)})
		require.NoError(t, err)
		require.Equal(t, "lab-msk-primary", aws.ToString(dc.ClusterInfo.ClusterName))
		require.Equal(t, kafkatypes.ClusterStateActive, dc.ClusterInfo.State)

		// The replicator into us-west-2 is listed and described in us-west-2, its target Region.
		westK := kafka.NewFromConfig(westCfg)
		lr, err := westK.ListReplicators(ctx, &kafka.ListReplicatorsInput{})
		require.NoError(t, err)
		require.Len(t, lr.Replicators, 1)
		repARN := env.Regions[west].InboundReplicatorARN
		require.Equal(t, repARN, aws.ToString(lr.Replicators[0].ReplicatorArn))
		require.Equal(t, "lab-primary-to-secondary", aws.ToString(lr.Replicators[0].ReplicatorName))
		require.Equal(t, kafkatypes.ReplicatorStateRunning, lr.Replicators[0].ReplicatorState)

		dr, err := westK.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(repARN)})
		require.NoError(t, err)
		require.Len(t, dr.KafkaClusters, 2)
		require.Equal(t, env.Regions[east].MSKClusterARN, aws.ToString(dr.KafkaClusters[0].AmazonMskCluster.MskClusterArn))
		require.Equal(t, env.Regions[west].MSKClusterARN, aws.ToString(dr.KafkaClusters[1].AmazonMskCluster.MskClusterArn))
		ri := dr.ReplicationInfoList[0]
		require.Equal(t, []string{Topic}, ri.TopicReplication.TopicsToReplicate)
		require.Equal(t, kafkatypes.ReplicationTopicNameConfigurationTypeIdentical, ri.TopicReplication.TopicNameConfiguration.Type)
		require.True(t, aws.ToBool(ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets))

		update := func(version string) (*kafka.UpdateReplicationInfoOutput, error) {
			return westK.UpdateReplicationInfo(ctx, &kafka.UpdateReplicationInfoInput{
				ReplicatorArn: aws.String(repARN), CurrentVersion: aws.String(version),
				SourceKafkaClusterArn: aws.String(env.Regions[east].MSKClusterARN), TargetKafkaClusterArn: aws.String(env.Regions[west].MSKClusterARN),
				ConsumerGroupReplication: &kafkatypes.ConsumerGroupReplicationUpdate{
					ConsumerGroupsToReplicate: []string{".*"}, ConsumerGroupsToExclude: []string{"osi-consumer-group-secondary"},
					DetectAndCopyNewConsumerGroups: aws.Bool(true), SynchroniseConsumerGroupOffsets: aws.Bool(true),
				},
			})
		}
		_, err = update("K999")
		var br *kafkatypes.BadRequestException
		require.ErrorAs(t, err, &br, "a stale version is refused")
		up, err := update(aws.ToString(dr.CurrentVersion))
		require.NoError(t, err)
		require.Equal(t, kafkatypes.ReplicatorStateUpdating, up.ReplicatorState)
		eventually(t, 10*time.Second, func() (bool, string) {
			d, err := westK.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(repARN)})
			if err != nil {
				return false, err.Error()
			}
			return d.ReplicatorState == kafkatypes.ReplicatorStateRunning, string(d.ReplicatorState)
		})
		// The update reached the replicator twin itself, not only the API.
		got := l.InboundReplicator(west).Describe().ReplicationInfoList[0].ConsumerGroupReplication
		require.Equal(t, []string{"osi-consumer-group-secondary"}, got.ConsumerGroupsToExclude)
		require.NotEqual(t, aws.ToString(dr.CurrentVersion), l.InboundReplicator(west).CurrentVersion())
	})

	t.Run("osis", func(t *testing.T) {
		client := osis.NewFromConfig(westCfg)
		name := env.Regions[west].Pipeline
		lp, err := client.ListPipelines(ctx, &osis.ListPipelinesInput{})
		require.NoError(t, err)
		require.Len(t, lp.Pipelines, 1)
		require.Equal(t, name, aws.ToString(lp.Pipelines[0].PipelineName))
		gp, err := client.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(name)})
		require.NoError(t, err)
		require.Equal(t, osistypes.PipelineStatusActive, gp.Pipeline.Status)
		require.Contains(t, aws.ToString(gp.Pipeline.PipelineConfigurationBody), "osi-consumer-group-secondary")

		sp, err := client.StopPipeline(ctx, &osis.StopPipelineInput{PipelineName: aws.String(name)})
		require.NoError(t, err)
		require.Equal(t, osistypes.PipelineStatusStopping, sp.Pipeline.Status)
		waitPipeline(t, client, name, osistypes.PipelineStatusStopped)
		require.Equal(t, kafkatwin.PipelineStopped, l.Pipeline(west).Status(), "StopPipeline stopped the twin")
		// While stopped, records wait in Kafka.
		before := l.Pipeline(west).Metrics().RecordsIn
		eventually(t, 10*time.Second, func() (bool, string) {
			lag, err := kafkatwin.GroupLag(ctx, l.Cluster(west).Bootstrap(), "osi-consumer-group-secondary", Topic)
			return err == nil && lag > 0, fmt.Sprintf("lag %d, %v", lag, err)
		})
		require.Equal(t, before, l.Pipeline(west).Metrics().RecordsIn)

		st, err := client.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(name)})
		require.NoError(t, err)
		require.Equal(t, osistypes.PipelineStatusStarting, st.Pipeline.Status)
		_, err = client.StopPipeline(ctx, &osis.StopPipelineInput{PipelineName: aws.String(name)})
		var conflict *osistypes.ConflictException
		require.ErrorAs(t, err, &conflict, "a STARTING pipeline cannot be stopped")
		waitPipeline(t, client, name, osistypes.PipelineStatusActive)
		eventually(t, 10*time.Second, func() (bool, string) {
			n := l.Pipeline(west).Metrics().RecordsIn
			return n > before, fmt.Sprintf("records in %d", n)
		})
	})

	t.Run("aoss", func(t *testing.T) {
		client := opensearchserverless.NewFromConfig(eastCfg)
		name := env.Regions[east].OpenSearch.Collection
		bg, err := client.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{name}})
		require.NoError(t, err)
		require.Len(t, bg.CollectionDetails, 1)
		cd := bg.CollectionDetails[0]
		require.Equal(t, aosstypes.CollectionStatusActive, cd.Status)
		require.Equal(t, aosstypes.CollectionTypeTimeseries, cd.Type)
		require.Equal(t, env.Regions[east].OpenSearch.Endpoint, aws.ToString(cd.CollectionEndpoint))
		lc, err := client.ListCollections(ctx, &opensearchserverless.ListCollectionsInput{})
		require.NoError(t, err)
		require.Len(t, lc.CollectionSummaries, 1)
		require.Equal(t, aws.ToString(cd.Id), aws.ToString(lc.CollectionSummaries[0].Id))

		l.Collection(east).SetAvailable(false)
		defer l.Collection(east).SetAvailable(true)
		bg, err = client.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{name}})
		require.NoError(t, err)
		require.Equal(t, aosstypes.CollectionStatusFailed, bg.CollectionDetails[0].Status, "an unavailable collection is not ACTIVE")
	})

	t.Run("route53", func(t *testing.T) {
		client := route53.NewFromConfig(westCfg)
		hz, err := client.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
		require.NoError(t, err)
		require.Len(t, hz.HostedZones, 1)
		require.Equal(t, "/hostedzone/"+HostedZoneID, aws.ToString(hz.HostedZones[0].Id))
		require.Equal(t, HostedZone+".", aws.ToString(hz.HostedZones[0].Name))
		weights := func() map[string]int64 {
			rr, err := client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
				StartRecordName: aws.String(RecordName), StartRecordType: r53types.RRTypeCname})
			require.NoError(t, err)
			out := map[string]int64{}
			for _, r := range rr.ResourceRecordSets {
				if aws.ToString(r.Name) == RecordName+"." {
					out[aws.ToString(r.SetIdentifier)] = aws.ToInt64(r.Weight)
				}
			}
			return out
		}
		require.Equal(t, map[string]int64{east: 100, west: 0}, weights())
		require.Equal(t, int64(0), l.Producer().Stats().Weights[west], "before the shift the producer sends nothing to us-west-2")
		require.Zero(t, l.Producer().Stats().Acked[west])

		ch, err := client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{shift(east, 20), shift(west, 80)}}})
		require.NoError(t, err)
		require.Equal(t, r53types.ChangeStatusPending, ch.ChangeInfo.Status)
		require.NoError(t, route53.NewResourceRecordSetsChangedWaiter(client, func(o *route53.ResourceRecordSetsChangedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
		}).Wait(ctx, &route53.GetChangeInput{Id: ch.ChangeInfo.Id}, 10*time.Second), "GetChange reaches INSYNC")
		require.Equal(t, map[string]int64{east: 20, west: 80}, weights())
		// The producer follows the records.
		eventually(t, 10*time.Second, func() (bool, string) {
			w := l.Producer().Stats().Weights
			return w[west] == 80 && w[east] == 20, fmt.Sprint(w)
		})
		base := l.Producer().Stats().Acked[west]
		eventually(t, 10*time.Second, func() (bool, string) {
			n := l.Producer().Stats().Acked[west]
			return n > base+20, fmt.Sprintf("acked in us-west-2: %d (was %d)", n, base)
		})
	})

	t.Run("cloudwatch", func(t *testing.T) {
		client := cloudwatch.NewFromConfig(westCfg)
		rep := "lab-primary-to-secondary"
		lm, err := client.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Kafka"),
			Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("ReplicatorName"), Value: aws.String(rep)}}})
		require.NoError(t, err)
		var names []string
		for _, m := range lm.Metrics {
			names = append(names, aws.ToString(m.MetricName))
		}
		for _, want := range []string{"MessageLag", "ReplicationLatency", "ReplicatorThroughput", "KafkaClusterPingSuccessCount"} {
			require.Contains(t, names, want)
		}
		// Replicator metrics are in the target Region only.
		eastCW := cloudwatch.NewFromConfig(eastCfg)
		le, err := eastCW.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Kafka"),
			Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("ReplicatorName"), Value: aws.String(rep)}}})
		require.NoError(t, err)
		require.Empty(t, le.Metrics)

		now := time.Now()
		md, err := client.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
			MetricDataQueries: []cwtypes.MetricDataQuery{
				stat("docs", "AWS/OSIS", "kafka-pipeline.opensearch.documentsSuccess.count", "PipelineName", "lab-osi-secondary", "Sum"),
				stat("lat", "AWS/Kafka", "ReplicationLatency", "ReplicatorName", rep, "Maximum"),
				stat("lag", "AWS/Kafka", "MessageLag", "ReplicatorName", rep, "Maximum"),
			},
		})
		require.NoError(t, err)
		byID := map[string][]float64{}
		for _, r := range md.MetricDataResults {
			byID[aws.ToString(r.Id)] = r.Values
		}
		require.Positive(t, sumFloats(byID["docs"]), "documentsSuccess counts what us-west-2 indexed")
		require.NotEmpty(t, byID["lat"])
		require.NotEmpty(t, byID["lag"])

		da, err := client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("lab-us-west-2-")})
		require.NoError(t, err)
		var alarmNames []string
		for _, a := range da.MetricAlarms {
			alarmNames = append(alarmNames, aws.ToString(a.AlarmName))
		}
		require.ElementsMatch(t, []string{"lab-us-west-2-pipeline-not-ingesting", "lab-us-west-2-collection-unreachable", "lab-us-west-2-replication-lag-high"}, alarmNames)
		for _, want := range env.Regions[west].Alarms {
			require.Contains(t, alarmNames, want, "the environment's alarms exist")
		}
	})

	t.Run("s3 DLQ", func(t *testing.T) {
		_, err := l.Inject(ctx, Fault{Kind: FaultDLQShare, Region: west, Share: 1})
		require.NoError(t, err)
		defer func() { _, _ = l.Heal(ctx, Fault{Kind: FaultDLQShare, Region: west}) }()
		client := s3.NewFromConfig(westCfg, func(o *s3.Options) { o.UsePathStyle = true })
		bucket := env.Regions[west].DLQBucket
		var keys []string
		eventually(t, 20*time.Second, func() (bool, string) {
			out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dlq-v2-")})
			if err != nil {
				return false, err.Error()
			}
			keys = keys[:0]
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			return len(keys) > 0, "no DLQ objects yet"
		})
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[0])})
		require.NoError(t, err)
		body, err := io.ReadAll(obj.Body)
		require.NoError(t, err)
		var f kafkatwin.DLQFile
		require.NoError(t, json.Unmarshal(body, &f))
		require.NotEmpty(t, f.DLQObjects)
		var ev Event
		require.NoError(t, json.Unmarshal(f.DLQObjects[0].FailedData.Document, &ev))
		require.NotEmpty(t, ev.EventID, "the dead-lettered document is the producer's event")
		require.True(t, strings.HasPrefix(f.DLQObjects[0].FailedData.Index, "application-logs-"))
	})

	t.Run("sqs", func(t *testing.T) {
		client := sqs.NewFromConfig(eastCfg)
		q, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(AlarmQueue)})
		require.NoError(t, err)
		require.Equal(t, l.Endpoints().AlarmQueues[east], aws.ToString(q.QueueUrl))
		// Every alarm left INSUFFICIENT_DATA at start; the events are in both Regions' queues.
		var events []AlarmEvent
		eventually(t, 10*time.Second, func() (bool, string) {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
			if err != nil {
				return false, err.Error()
			}
			for _, m := range out.Messages {
				var ev AlarmEvent
				require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev))
				events = append(events, ev)
				_, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
			return len(events) >= 6, fmt.Sprintf("%d alarm events", len(events))
		})
		regions := map[string]bool{}
		for _, ev := range events {
			require.Equal(t, "CloudWatch Alarm State Change", ev.DetailType)
			require.Equal(t, "aws.cloudwatch", ev.Source)
			// A Region's own alarms, and the other Region's collection alarm on this Region's canary.
			own := strings.HasPrefix(ev.Detail.AlarmName, "lab-"+ev.Region+"-")
			require.True(t, own || ev.Detail.AlarmName == alarmUnreachable(l.peer(ev.Region)), ev.Detail.AlarmName)
			regions[ev.Region] = true
		}
		require.True(t, regions[east] && regions[west], "us-east-1's queue carries both Regions' alarms")

		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"hello":"lab"}`)})
		require.NoError(t, err)
		eventually(t, 5*time.Second, func() (bool, string) {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
			if err != nil {
				return false, err.Error()
			}
			return slices.ContainsFunc(out.Messages, func(m sqstypes.Message) bool { return aws.ToString(m.Body) == `{"hello":"lab"}` }), "sent message not received"
		})
	})

	t.Run("unsigned request refused", func(t *testing.T) {
		resp, err := http.Get(l.Endpoints().Regions[east].AWSEndpoint + "/api/v2/clusters")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Equal(t, "MissingAuthenticationTokenException", resp.Header.Get("X-Amzn-ErrorType"))
	})
}

func waitPipeline(t *testing.T, client *osis.Client, name string, want osistypes.PipelineStatus) {
	t.Helper()
	eventually(t, 10*time.Second, func() (bool, string) {
		gp, err := client.GetPipeline(context.Background(), &osis.GetPipelineInput{PipelineName: aws.String(name)})
		if err != nil {
			return false, err.Error()
		}
		return gp.Pipeline.Status == want, string(gp.Pipeline.Status)
	})
}

func shift(region string, weight int64) r53types.Change {
	return r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
		Name: aws.String(RecordName), Type: r53types.RRTypeCname, SetIdentifier: aws.String(region), Weight: aws.Int64(weight),
		TTL: aws.Int64(5), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(ingestHost(region))}}}}
}

func stat(id, ns, metric, dim, value, statistic string) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric),
			Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(value)}}},
		Period: aws.Int32(60), Stat: aws.String(statistic)}}
}

func sumFloats(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}
