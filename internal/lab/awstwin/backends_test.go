package awstwin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
)

const (
	clusterEast    = "arn:aws:kafka:us-east-1:123456789012:cluster/production-msk-primary/6f1c0a8e-1111-4c4c-9c9c-000000000001-2"
	clusterWest    = "arn:aws:kafka:us-west-2:123456789012:cluster/production-msk-secondary/6f1c0a8e-2222-4c4c-9c9c-000000000002-2"
	replicatorWest = "arn:aws:kafka:us-west-2:123456789012:replicator/production-primary-to-secondary/0b6c4a2e-3333-4d4d-8e8e-000000000003"
)

// seedBackends gives us-west-2 the blog's secondary-Region resources, with clocks the test
// controls.
func seedBackends(clock *fakeClock) map[string]Backends {
	created := time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)
	msk := NewInMemoryMSK(InMemoryMSKOptions{UpdateDelay: 30 * time.Second, Now: clock.Now})
	msk.PutCluster(Cluster{ARN: clusterWest, Name: "production-msk-secondary", State: "ACTIVE", CurrentVersion: "K3AEGXETSR30VB",
		CreationTime: created, KafkaVersion: "3.6.0", BrokerNodes: 3, Tags: map[string]string{"env": "production"}})
	msk.PutCluster(Cluster{ARN: "arn:aws:kafka:us-west-2:123456789012:cluster/analytics/aaaa", Name: "analytics", Type: "SERVERLESS", State: "ACTIVE"})
	msk.PutReplicator(Replicator{
		ARN: replicatorWest, Name: "production-primary-to-secondary", CreationTime: created,
		ServiceExecutionRoleARN: "arn:aws:iam::123456789012:role/replicator",
		KafkaClusters: []ReplicatorCluster{
			{Alias: "source", MSKClusterARN: clusterEast, SubnetIDs: []string{"subnet-a"}, SecurityGroupIDs: []string{"sg-a"}},
			{Alias: "target", MSKClusterARN: clusterWest, SubnetIDs: []string{"subnet-b"}, SecurityGroupIDs: []string{"sg-b"}},
		},
		ReplicationInfo: []ReplicationInfo{{
			SourceAlias: "source", TargetAlias: "target", TargetCompressionType: "SNAPPY",
			TopicReplication: TopicReplication{TopicsToReplicate: []string{"opensearch-data"}, CopyTopicConfigurations: true,
				DetectAndCopyNewTopics: true, TopicNameConfiguration: "IDENTICAL"},
			ConsumerGroupReplication: ConsumerGroupReplication{ConsumerGroupsToReplicate: []string{".*"}, DetectAndCopyNewConsumerGroups: true},
		}},
	})
	pipes := NewInMemoryOSIS(InMemoryOSISOptions{TransitionDelay: time.Minute, Now: clock.Now})
	pipes.PutPipeline(Pipeline{Name: "production-osi-secondary", ARN: "arn:aws:osis:us-west-2:123456789012:pipeline/production-osi-secondary",
		MinUnits: 1, MaxUnits: 4, CreatedAt: created, LastUpdatedAt: created, ConfigurationBody: "version: \"2\"\n",
		IngestEndpointURLs: []string{"production-osi-secondary-abc.us-west-2.osis.amazonaws.com"},
		Destinations:       []PipelineDestination{{ServiceName: "OpenSearch_Serverless", Endpoint: "https://west.aoss.amazonaws.com"}},
		Tags:               map[string]string{"env": "production"}})
	pipes.PutPipeline(Pipeline{Name: "stopped-pipeline", Status: "STOPPED"})
	colls := NewInMemoryAOSS()
	colls.PutCollection(Collection{ID: "w1abcdefgh", Name: "production-opensearch-secondary", Status: "ACTIVE", Type: "TIMESERIES",
		ARN: "arn:aws:aoss:us-west-2:123456789012:collection/w1abcdefgh", CollectionEndpoint: "https://w1abcdefgh.us-west-2.aoss.amazonaws.com",
		StandbyReplicas: "ENABLED", CreatedDate: created, LastModifiedDate: created.Add(time.Hour)})
	colls.PutCollection(Collection{ID: "w2creating", Name: "scratch", Status: "CREATING", Type: "SEARCH"})
	return map[string]Backends{west: {MSK: msk, OSIS: pipes, AOSS: colls}}
}

func TestKafkaOperationsThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	ctx := context.Background()
	client := kafka.NewFromConfig(sdkConfig(lab.urls[west], west))

	// ListClustersV2 through the paginator, one per page, proves nextToken round-trips.
	var names []string
	p := kafka.NewListClustersV2Paginator(client, &kafka.ListClustersV2Input{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListClustersV2: %v", err)
		}
		if len(page.ClusterInfoList) != 1 {
			t.Fatalf("page size = %d, want 1", len(page.ClusterInfoList))
		}
		names = append(names, aws.ToString(page.ClusterInfoList[0].ClusterName))
	}
	if len(names) != 2 || names[0] != "production-msk-secondary" || names[1] != "analytics" {
		t.Fatalf("cluster names = %v", names)
	}
	filtered, err := client.ListClustersV2(ctx, &kafka.ListClustersV2Input{ClusterTypeFilter: aws.String("SERVERLESS")})
	if err != nil || len(filtered.ClusterInfoList) != 1 || filtered.ClusterInfoList[0].ClusterType != kafkatypes.ClusterTypeServerless {
		t.Fatalf("ListClustersV2(SERVERLESS) = %+v, %v", filtered, err)
	}

	dc, err := client.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(clusterWest)})
	if err != nil {
		t.Fatalf("DescribeClusterV2: %v", err)
	}
	ci := dc.ClusterInfo
	if ci.State != kafkatypes.ClusterStateActive || aws.ToString(ci.CurrentVersion) != "K3AEGXETSR30VB" || ci.ClusterType != kafkatypes.ClusterTypeProvisioned ||
		aws.ToInt32(ci.Provisioned.NumberOfBrokerNodes) != 3 || aws.ToString(ci.Provisioned.CurrentBrokerSoftwareInfo.KafkaVersion) != "3.6.0" ||
		!ci.CreationTime.Equal(time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)) || ci.Tags["env"] != "production" {
		t.Fatalf("DescribeClusterV2 = %+v", ci)
	}
	_, err = client.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(clusterEast)})
	var nf *kafkatypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeClusterV2(unknown) error = %v, want NotFoundException", err)
	}

	lr, err := client.ListReplicators(ctx, &kafka.ListReplicatorsInput{ReplicatorNameFilter: aws.String("production-")})
	if err != nil || len(lr.Replicators) != 1 {
		t.Fatalf("ListReplicators = %+v, %v", lr, err)
	}
	sum := lr.Replicators[0]
	if sum.ReplicatorState != kafkatypes.ReplicatorStateRunning || aws.ToString(sum.ReplicatorArn) != replicatorWest ||
		len(sum.KafkaClustersSummary) != 2 || aws.ToString(sum.KafkaClustersSummary[0].AmazonMskCluster.MskClusterArn) != clusterEast ||
		aws.ToString(sum.ReplicationInfoSummaryList[0].TargetKafkaClusterAlias) != "target" {
		t.Fatalf("ReplicatorSummary = %+v", sum)
	}

	dr, err := client.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(replicatorWest)})
	if err != nil {
		t.Fatalf("DescribeReplicator: %v", err)
	}
	ri := dr.ReplicationInfoList[0]
	if dr.ReplicatorState != kafkatypes.ReplicatorStateRunning || ri.TargetCompressionType != kafkatypes.TargetCompressionTypeSnappy ||
		ri.TopicReplication.TopicsToReplicate[0] != "opensearch-data" || ri.TopicReplication.TopicNameConfiguration.Type != kafkatypes.ReplicationTopicNameConfigurationTypeIdentical ||
		!aws.ToBool(ri.ConsumerGroupReplication.DetectAndCopyNewConsumerGroups) || aws.ToBool(ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets) ||
		dr.KafkaClusters[1].VpcConfig.SubnetIds[0] != "subnet-b" {
		t.Fatalf("DescribeReplicator = %+v", dr)
	}
	version := aws.ToString(dr.CurrentVersion)

	update := func(v string) (*kafka.UpdateReplicationInfoOutput, error) {
		return client.UpdateReplicationInfo(ctx, &kafka.UpdateReplicationInfoInput{
			ReplicatorArn: aws.String(replicatorWest), CurrentVersion: aws.String(v),
			SourceKafkaClusterArn: aws.String(clusterEast), TargetKafkaClusterArn: aws.String(clusterWest),
			ConsumerGroupReplication: &kafkatypes.ConsumerGroupReplicationUpdate{
				ConsumerGroupsToReplicate: []string{".*"}, ConsumerGroupsToExclude: []string{"osi-consumer-group-secondary"},
				DetectAndCopyNewConsumerGroups: aws.Bool(true), SynchroniseConsumerGroupOffsets: aws.Bool(true),
			},
		})
	}
	_, err = update("stale-version")
	var br *kafkatypes.BadRequestException
	if !errors.As(err, &br) || aws.ToString(br.InvalidParameter) != "currentVersion" {
		t.Fatalf("UpdateReplicationInfo(stale) error = %v, want BadRequestException on currentVersion", err)
	}
	up, err := update(version)
	if err != nil || up.ReplicatorState != kafkatypes.ReplicatorStateUpdating || aws.ToString(up.ReplicatorArn) != replicatorWest {
		t.Fatalf("UpdateReplicationInfo = %+v, %v", up, err)
	}
	// The old version is now stale too: optimistic concurrency in both directions.
	if _, err := update(version); !errors.As(err, &br) {
		t.Fatalf("UpdateReplicationInfo(reused version) error = %v, want BadRequestException", err)
	}

	dr, err = client.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(replicatorWest)})
	if err != nil || dr.ReplicatorState != kafkatypes.ReplicatorStateUpdating || aws.ToString(dr.CurrentVersion) == version ||
		!aws.ToBool(dr.ReplicationInfoList[0].ConsumerGroupReplication.SynchroniseConsumerGroupOffsets) ||
		dr.ReplicationInfoList[0].ConsumerGroupReplication.ConsumerGroupsToExclude[0] != "osi-consumer-group-secondary" {
		t.Fatalf("DescribeReplicator after update = %+v, %v", dr, err)
	}
	clock.Advance(31 * time.Second)
	dr, err = client.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(replicatorWest)})
	if err != nil || dr.ReplicatorState != kafkatypes.ReplicatorStateRunning {
		t.Fatalf("DescribeReplicator after UpdateDelay = %v, %v; want RUNNING", dr.ReplicatorState, err)
	}
}

func TestOSISOperationsThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	ctx := context.Background()
	client := osis.NewFromConfig(sdkConfig(lab.urls[west], west))

	gp, err := client.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	if err != nil {
		t.Fatalf("GetPipeline: %v", err)
	}
	p := gp.Pipeline
	if p.Status != osistypes.PipelineStatusActive || p.MinUnits != 1 || p.MaxUnits != 4 ||
		aws.ToString(p.Destinations[0].ServiceName) != "OpenSearch_Serverless" || aws.ToString(p.PipelineConfigurationBody) != "version: \"2\"\n" ||
		!p.CreatedAt.Equal(time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)) || aws.ToString(p.Tags[0].Key) != "env" || len(p.IngestEndpointUrls) != 1 {
		t.Fatalf("GetPipeline = %+v", p)
	}

	lp, err := client.ListPipelines(ctx, &osis.ListPipelinesInput{})
	if err != nil || len(lp.Pipelines) != 2 || aws.ToString(lp.Pipelines[0].PipelineName) != "production-osi-secondary" || lp.Pipelines[1].Status != osistypes.PipelineStatusStopped {
		t.Fatalf("ListPipelines = %+v, %v", lp, err)
	}

	stop, err := client.StopPipeline(ctx, &osis.StopPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	if err != nil || stop.Pipeline.Status != osistypes.PipelineStatusStopping {
		t.Fatalf("StopPipeline = %+v, %v", stop, err)
	}
	_, err = client.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	var conflict *osistypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("StartPipeline while STOPPING error = %v, want ConflictException", err)
	}
	clock.Advance(2 * time.Minute)
	gp, err = client.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	if err != nil || gp.Pipeline.Status != osistypes.PipelineStatusStopped {
		t.Fatalf("GetPipeline after stop = %+v, %v", gp, err)
	}
	start, err := client.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String("production-osi-secondary")})
	if err != nil || start.Pipeline.Status != osistypes.PipelineStatusStarting {
		t.Fatalf("StartPipeline = %+v, %v", start, err)
	}

	_, err = client.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String("nope")})
	var rnf *osistypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("GetPipeline(unknown) error = %v, want ResourceNotFoundException", err)
	}
}

func TestAOSSOperationsThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, Regions: seedBackends(clock)})
	ctx := context.Background()
	client := opensearchserverless.NewFromConfig(sdkConfig(lab.urls[west], west))

	byName, err := client.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Names: []string{"production-opensearch-secondary", "missing"}})
	if err != nil {
		t.Fatalf("BatchGetCollection(names): %v", err)
	}
	if len(byName.CollectionDetails) != 1 || len(byName.CollectionErrorDetails) != 1 {
		t.Fatalf("BatchGetCollection = %+v", byName)
	}
	d := byName.CollectionDetails[0]
	if d.Status != aosstypes.CollectionStatusActive || d.Type != aosstypes.CollectionTypeTimeseries || aws.ToString(d.Id) != "w1abcdefgh" ||
		d.StandbyReplicas != aosstypes.StandbyReplicasEnabled || aws.ToInt64(d.CreatedDate) != time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC).UnixMilli() ||
		aws.ToString(d.CollectionEndpoint) != "https://w1abcdefgh.us-west-2.aoss.amazonaws.com" {
		t.Fatalf("CollectionDetail = %+v", d)
	}
	if e := byName.CollectionErrorDetails[0]; aws.ToString(e.Name) != "missing" || aws.ToString(e.ErrorCode) != "NOT_FOUND" {
		t.Fatalf("CollectionErrorDetail = %+v", e)
	}

	byID, err := client.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Ids: []string{"w2creating"}})
	if err != nil || len(byID.CollectionDetails) != 1 || byID.CollectionDetails[0].Status != aosstypes.CollectionStatusCreating {
		t.Fatalf("BatchGetCollection(ids) = %+v, %v", byID, err)
	}
	_, err = client.BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{Ids: []string{"a"}, Names: []string{"b"}})
	var ve *aosstypes.ValidationException
	if !errors.As(err, &ve) {
		t.Fatalf("BatchGetCollection(ids and names) error = %v, want ValidationException", err)
	}

	lc, err := client.ListCollections(ctx, &opensearchserverless.ListCollectionsInput{
		CollectionFilters: &aosstypes.CollectionFilters{Status: aosstypes.CollectionStatusActive}})
	if err != nil || len(lc.CollectionSummaries) != 1 || aws.ToString(lc.CollectionSummaries[0].Name) != "production-opensearch-secondary" {
		t.Fatalf("ListCollections(ACTIVE) = %+v, %v", lc, err)
	}
	all, err := client.ListCollections(ctx, &opensearchserverless.ListCollectionsInput{})
	if err != nil || len(all.CollectionSummaries) != 2 {
		t.Fatalf("ListCollections = %+v, %v", all, err)
	}
	// The other Region has its own (empty) backends.
	eastClient := opensearchserverless.NewFromConfig(sdkConfig(lab.urls[east], east))
	if lcEast, err := eastClient.ListCollections(ctx, &opensearchserverless.ListCollectionsInput{}); err != nil || len(lcEast.CollectionSummaries) != 0 {
		t.Fatalf("ListCollections(us-east-1) = %+v, %v", lcEast, err)
	}
}
