package lab

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	ostypes "github.com/aws/aws-sdk-go-v2/service/opensearch/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
	"github.com/stretchr/testify/require"
)

// TestReportedStatesThroughTheSDK: the lab's control plane reports the states it is told to,
// with the shapes AWS gives them, while the data path keeps working; clearing a state returns
// to what the twins derive.
func TestReportedStatesThroughTheSDK(t *testing.T) {
	l := startTestLab(t, nil)
	env := l.Environment()
	ctx := context.Background()
	eastCfg, westCfg := sdkConfig(l, east), sdkConfig(l, west)
	mskc := kafka.NewFromConfig(eastCfg)
	clusterState := func() kafkatypes.ClusterState {
		out, err := mskc.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(env.Regions[east].MSKClusterARN)})
		require.NoError(t, err)
		return out.ClusterInfo.State
	}

	require.NoError(t, l.SetReportedState(east, StateMSKCluster, "HEALING"))
	require.Equal(t, kafkatypes.ClusterStateHealing, clusterState())
	lc, err := mskc.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)
	require.Equal(t, kafkatypes.ClusterStateHealing, lc.ClusterInfoList[0].State, "every read reports the same state")
	westc, err := kafka.NewFromConfig(westCfg).DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(env.Regions[west].MSKClusterARN)})
	require.NoError(t, err)
	require.Equal(t, kafkatypes.ClusterStateActive, westc.ClusterInfo.State, "only the named Region's cluster")
	require.NoError(t, l.SetReportedState(east, StateMSKCluster, ""))
	require.Equal(t, kafkatypes.ClusterStateActive, clusterState())

	require.NoError(t, l.SetReportedState(west, StateCollection, "UPDATING"))
	bc, err := opensearchserverless.NewFromConfig(westCfg).BatchGetCollection(ctx, &opensearchserverless.BatchGetCollectionInput{
		Names: []string{env.Regions[west].OpenSearch.Collection}})
	require.NoError(t, err)
	require.Equal(t, aosstypes.CollectionStatusUpdating, bc.CollectionDetails[0].Status)

	oc := osis.NewFromConfig(eastCfg)
	require.NoError(t, l.SetReportedState(east, StatePipeline, "UPDATING"))
	gp, err := oc.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(env.Regions[east].Pipeline)})
	require.NoError(t, err)
	require.Equal(t, osistypes.PipelineStatusUpdating, gp.Pipeline.Status)
	_, err = oc.StopPipeline(ctx, &osis.StopPipelineInput{PipelineName: aws.String(env.Regions[east].Pipeline)})
	var conflict *osistypes.ConflictException
	require.True(t, errors.As(err, &conflict), "an UPDATING pipeline cannot be stopped: %v", err)
	require.Equal(t, "ACTIVE", string(l.Pipeline(east).Status()), "the refused stop left the pipeline ingesting")
	require.NoError(t, l.SetReportedState(east, StatePipeline, ""))

	es := opensearch.NewFromConfig(eastCfg)
	describe := func() (*ostypes.DomainStatus, *opensearch.DescribeDomainHealthOutput) {
		d, err := es.DescribeDomain(ctx, &opensearch.DescribeDomainInput{DomainName: aws.String(ZonalDomain)})
		require.NoError(t, err)
		h, err := es.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String(ZonalDomain)})
		require.NoError(t, err)
		return d.DomainStatus, h
	}
	require.NoError(t, l.SetReportedState(east, StateDomain, "Modifying"))
	ds, h := describe()
	require.True(t, aws.ToBool(ds.Processing))
	require.False(t, aws.ToBool(ds.UpgradeProcessing))
	require.Equal(t, ostypes.DomainProcessingStatusTypeModifying, ds.DomainProcessingStatus)
	require.Equal(t, ostypes.DomainStateProcessing, h.DomainState, "a blue/green deployment is Processing in the health view too")
	require.Equal(t, ostypes.DomainHealthGreen, h.ClusterHealth, "and the domain keeps serving")
	require.NoError(t, l.SetReportedState(east, StateDomain, "UpgradingEngineVersion"))
	ds, _ = describe()
	require.True(t, aws.ToBool(ds.UpgradeProcessing))
	require.NoError(t, l.SetReportedState(east, StateDomain, "Deleting"))
	ds, _ = describe()
	require.True(t, aws.ToBool(ds.Deleted))
	require.NoError(t, l.SetReportedState(east, StateDomain, ""))
	ds, h = describe()
	require.False(t, aws.ToBool(ds.Processing))
	require.True(t, aws.ToBool(ds.Created))
	require.Equal(t, ostypes.DomainStateActive, h.DomainState)

	for _, bad := range []struct {
		region string
		res    StateResource
		state  string
	}{{east, StateMSKCluster, "SLEEPING"}, {east, StateMSKCluster, "healing"}, {"eu-west-1", StateCollection, "UPDATING"},
		{west, StateDomain, "Modifying"}, {east, "queue", "ACTIVE"}} {
		err := l.SetReportedState(bad.region, bad.res, bad.state)
		require.ErrorIs(t, err, ErrInvalidReportedState, "%+v", bad)
	}
}
