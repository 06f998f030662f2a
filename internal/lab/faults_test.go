package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	estypes "github.com/aws/aws-sdk-go-v2/service/opensearch/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	return ae.ErrorCode()
}

func TestControlPlaneFaultsThroughTheFaultAPI(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	fc := NewFaultClient(l.Endpoints().FaultAPI)
	eastKafka := kafka.NewFromConfig(sdkConfig(l, east))
	westKafka := kafka.NewFromConfig(sdkConfig(l, west))
	eastOSIS := osis.NewFromConfig(sdkConfig(l, east))

	_, err := fc.Inject(ctx, Fault{Kind: "meteor"})
	require.ErrorContains(t, err, "unknown kind")
	_, err = fc.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: "eu-west-1"})
	require.ErrorContains(t, err, "needs --region")
	_, err = fc.Inject(ctx, Fault{Kind: FaultThrottle, Service: "dynamodb"})
	require.ErrorContains(t, err, "service")

	f, err := fc.Inject(ctx, Fault{Kind: FaultThrottle, Region: east, Service: "kafka"})
	require.NoError(t, err)
	require.Equal(t, "throttle:us-east-1:kafka", f.ID)
	require.Equal(t, 1.0, f.Share, "share defaults to every call")
	_, err = eastKafka.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.Equal(t, "TooManyRequestsException", apiCode(t, err))
	_, err = westKafka.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err, "the other Region is not throttled")
	_, err = eastOSIS.ListPipelines(ctx, &osis.ListPipelinesInput{})
	require.NoError(t, err, "the other services are not throttled")

	_, err = fc.Inject(ctx, Fault{Kind: FaultFail, Service: "osis"})
	require.NoError(t, err)
	_, err = eastOSIS.ListPipelines(ctx, &osis.ListPipelinesInput{})
	var re *awshttp.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusInternalServerError, re.HTTPStatusCode())

	list, err := fc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "fail:*:osis", list[0].ID)

	healed, err := fc.Heal(ctx, Fault{Kind: FaultThrottle, Region: east, Service: "kafka"})
	require.NoError(t, err)
	require.Equal(t, []string{"throttle:us-east-1:kafka"}, healed)
	_, err = eastKafka.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)
	healed, err = fc.Heal(ctx, Fault{Kind: FaultThrottle, Region: east, Service: "kafka"})
	require.NoError(t, err, "healing twice is fine")
	require.Empty(t, healed)

	// A timeout holds the call, then answers 504 the way a load balancer does; with the SDK's
	// retries off the caller sees that status.
	f, err = fc.Inject(ctx, Fault{Kind: FaultTimeout, Region: west, Service: "kafka", Delay: Duration(50 * time.Millisecond)})
	require.NoError(t, err)
	require.Equal(t, "timeout:us-west-2:kafka", f.ID)
	_, err = westKafka.ListClustersV2(ctx, &kafka.ListClustersV2Input{}, func(o *kafka.Options) { o.RetryMaxAttempts = 1 })
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusGatewayTimeout, re.HTTPStatusCode())
	_, err = fc.Heal(ctx, f)
	require.NoError(t, err)

	// Fixed latency: a caller with a shorter deadline than the added delay times out.
	_, err = fc.Inject(ctx, Fault{Kind: FaultLatency, Region: west, Delay: Duration(30 * time.Second)})
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = westKafka.ListClustersV2(short, &kafka.ListClustersV2Input{})
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ids, err := fc.HealAll(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"fail:*:osis", "latency:us-west-2:*"}, ids)
	_, err = westKafka.ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)
	_, err = eastOSIS.ListPipelines(ctx, &osis.ListPipelinesInput{})
	require.NoError(t, err)
	list, err = fc.List(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}

// A zone outage takes the zone's nodes down in both three-zone clusters. The managed domain
// activates its standby itself (Multi-AZ with Standby), and DescribeDomainHealth shows it: the
// failed zone becomes the standby with no data node available, and its status is StandBy, not
// NotAvailable, which AWS reserves for "Unable to retrieve information". The self-managed
// cluster moves nothing by itself: that is the zonal runbooks' job.
func TestZoneOutageShowsInDomainHealth(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	es := opensearch.NewFromConfig(sdkConfig(l, east))
	health := func() *opensearch.DescribeDomainHealthOutput {
		h, err := es.DescribeDomainHealth(ctx, &opensearch.DescribeDomainHealthInput{DomainName: aws.String(ZonalDomain)})
		require.NoError(t, err)
		return h
	}
	require.Nil(t, l.Domain().IndexDocs("application-logs-2026.11.22", [][]byte{[]byte(`{"timestamp":"2026-11-22T10:00:00Z","message":"hi"}`)}))
	h := health()
	require.Equal(t, estypes.DomainHealthGreen, h.ClusterHealth)
	require.Equal(t, "3", aws.ToString(h.TotalShards), "one copy of the index per zone")
	require.Equal(t, "2", aws.ToString(h.ActiveAvailabilityZoneCount))
	require.Equal(t, "1", aws.ToString(h.StandByAvailabilityZoneCount), "Multi-AZ with standby: one zone is standby")
	dd, err := es.DescribeDomain(ctx, &opensearch.DescribeDomainInput{DomainName: aws.String(ZonalDomain)})
	require.NoError(t, err)
	require.True(t, aws.ToBool(dd.DomainStatus.ClusterConfig.MultiAZWithStandbyEnabled))

	_, err = l.Inject(ctx, Fault{Kind: FaultZoneOutage, Zone: "us-east-1b"})
	require.NoError(t, err)
	h = health()
	require.Equal(t, estypes.DomainHealthYellow, h.ClusterHealth)
	require.Equal(t, "2", aws.ToString(h.ActiveAvailabilityZoneCount), "the standby zone was activated")
	zones := h.EnvironmentInformation[0].AvailabilityZoneInformation
	require.Equal(t, "us-east-1b", aws.ToString(zones[1].AvailabilityZoneName))
	require.Equal(t, estypes.ZoneStatusStandBy, zones[1].ZoneStatus, "the failed zone is the standby now")
	require.Equal(t, "0", aws.ToString(zones[1].AvailableDataNodeCount))
	require.Equal(t, estypes.ZoneStatusActive, zones[2].ZoneStatus)
	require.Equal(t, "1", aws.ToString(h.TotalUnAssignedShards))
	nodes, err := es.DescribeDomainNodes(ctx, &opensearch.DescribeDomainNodesInput{DomainName: aws.String(ZonalDomain)})
	require.NoError(t, err)
	byZone := map[string][]estypes.NodeStatus{}
	for _, n := range nodes.DomainNodesStatusList {
		if n.NodeType == estypes.NodeTypeData {
			byZone[aws.ToString(n.AvailabilityZone)] = append(byZone[aws.ToString(n.AvailabilityZone)], n.NodeStatus)
		}
	}
	require.Equal(t, []estypes.NodeStatus{estypes.NodeStatusNotAvailable, estypes.NodeStatusNotAvailable}, byZone["us-east-1b"])
	require.Equal(t, []estypes.NodeStatus{estypes.NodeStatusActive, estypes.NodeStatusActive}, byZone["us-east-1c"])
	stats := l.Zonal().ZoneStats()
	require.False(t, stats[1].Available, "the fault acts on the self-managed cluster too")
	require.Equal(t, "1.0", stats[1].Weight, "a self-managed cluster moves nothing by itself")

	_, err = l.Heal(ctx, Fault{Kind: FaultZoneOutage, Zone: "us-east-1b"})
	require.NoError(t, err)
	h = health()
	require.Equal(t, estypes.DomainHealthGreen, h.ClusterHealth)
	require.Equal(t, estypes.ZoneStatusStandBy, h.EnvironmentInformation[0].AvailabilityZoneInformation[1].ZoneStatus, "the service does not swap back")
}

func TestImpairRegionTakesItsDataAndControlPlaneAway(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	ep := l.Endpoints()
	_, err := l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)

	// Control plane: the Region's endpoint drops the connection, as a dark Region does...
	_, err = kafka.NewFromConfig(sdkConfig(l, east)).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "no AWS error, only a transport failure: %v", err)
	// ...Route 53's control plane goes with us-east-1, where it lives, whichever endpoint is
	// asked; the other Region is untouched.
	_, err = route53.NewFromConfig(sdkConfig(l, west)).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.Error(t, err)
	_, err = kafka.NewFromConfig(sdkConfig(l, west)).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)

	// Data plane: Kafka and the collection refuse connections; the zonal domain is in us-east-1.
	require.False(t, l.Cluster(east).Reachable())
	cl, err := kgo.NewClient(kgo.SeedBrokers(ep.Regions[east].KafkaBootstrap), kgo.DialTimeout(time.Second))
	require.NoError(t, err)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	require.Error(t, cl.Ping(pctx))
	cancel()
	cl.Close()
	for _, u := range []string{ep.Regions[east].OpenSearchURL, ep.Zonal.OpenSearchURL} {
		_, err = http.Get(u + "/_cat/indices")
		require.Error(t, err, "%s refuses connections", u)
	}
	resp, err := http.Get(ep.Regions[west].OpenSearchURL + "/_cat/indices")
	require.NoError(t, err)
	resp.Body.Close()

	// The Region's alarms fire, and the events reach the queue of the Region that is still up.
	westSQS := sqs.NewFromConfig(sdkConfig(l, west))
	q := aws.String(ep.AlarmQueues[west])
	alarmed := map[string]bool{}
	eventually(t, 20*time.Second, func() (bool, string) {
		out, err := westSQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10})
		if err != nil {
			return false, err.Error()
		}
		for _, m := range out.Messages {
			var ev AlarmEvent
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev))
			if ev.Detail.State.Value == "ALARM" {
				alarmed[ev.Detail.AlarmName] = true
			}
			_, _ = westSQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle})
		}
		return alarmed[alarmUnreachable(east)] && alarmed[alarmReplicationLag(west)],
			fmt.Sprintf("ALARM events so far: %v", alarmed)
	})
	require.False(t, alarmed[alarmUnreachable(west)], "us-west-2's collection stayed reachable")

	healed, err := l.HealAll(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"impair-region:us-east-1"}, healed)
	require.True(t, l.Cluster(east).Reachable())
	eventually(t, 10*time.Second, func() (bool, string) {
		resp, err := http.Get(ep.Regions[east].OpenSearchURL + "/_cat/indices")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return true, ""
	})
	_, err = kafka.NewFromConfig(sdkConfig(l, east)).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() (bool, string) {
		states := map[string]string{}
		for _, a := range l.Twin().Alarms(east) {
			states[a.Name] = a.State
		}
		return states[alarmUnreachable(east)] == "OK", fmt.Sprint(states)
	})
}

func TestPartitionFailsBothReplicatorsAndStopPausesOne(t *testing.T) {
	l := startTestLab(t, func(o *Options) { o.ProducerRate = 100; o.InitialWeights = map[string]int64{east: 50, west: 50} })
	ctx := context.Background()
	env := l.Environment()
	describe := func(region string) *kafka.DescribeReplicatorOutput {
		d, err := kafka.NewFromConfig(sdkConfig(l, region)).DescribeReplicator(ctx,
			&kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(env.Regions[region].InboundReplicatorARN)})
		require.NoError(t, err)
		return d
	}

	_, err := l.Inject(ctx, Fault{Kind: FaultPartition})
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() (bool, string) {
		e, w := describe(east), describe(west)
		return e.ReplicatorState == kafkatypes.ReplicatorStateFailed && w.ReplicatorState == kafkatypes.ReplicatorStateFailed,
			fmt.Sprintf("states %s / %s", e.ReplicatorState, w.ReplicatorState)
	})
	require.Equal(t, "KafkaClusterUnreachable", aws.ToString(describe(west).StateInfo.Code))
	// Each Region still takes writes and indexes them: only the path between them is cut.
	for _, r := range []string{east, west} {
		base := l.Pipeline(r).Metrics().DocumentsSuccess
		eventually(t, 10*time.Second, func() (bool, string) {
			n := l.Pipeline(r).Metrics().DocumentsSuccess
			return n > base, fmt.Sprintf("%s indexed %d (was %d)", r, n, base)
		})
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		states := map[string]string{}
		for _, r := range []string{east, west} {
			for _, a := range l.Twin().Alarms(r) {
				states[a.Name] = a.State
			}
		}
		return states[alarmReplicationLag(east)] == "ALARM" && states[alarmReplicationLag(west)] == "ALARM", fmt.Sprint(states)
	})

	_, err = l.Heal(ctx, Fault{Kind: FaultPartition})
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() (bool, string) {
		e, w := describe(east), describe(west)
		return e.ReplicatorState == kafkatypes.ReplicatorStateRunning && w.ReplicatorState == kafkatypes.ReplicatorStateRunning,
			fmt.Sprintf("states %s / %s", e.ReplicatorState, w.ReplicatorState)
	})

	// Stopping a replicator leaves it RUNNING (as a stalled MSK Replicator is) while its lag grows.
	f, err := l.Inject(ctx, Fault{Kind: FaultStopReplicator, Region: west})
	require.NoError(t, err)
	require.Equal(t, "stop-replicator:lab-primary-to-secondary", f.ID)
	rep := l.InboundReplicator(west)
	eventually(t, 10*time.Second, func() (bool, string) {
		lag, err := rep.MessageLagContext(ctx)
		return err == nil && lag > 50, fmt.Sprintf("lag %d, %v", lag, err)
	})
	require.Equal(t, kafkatypes.ReplicatorStateRunning, describe(west).ReplicatorState)
	_, err = l.Inject(ctx, Fault{Kind: FaultSlowReplicator, Replicator: "lab-secondary-to-primary", Delay: Duration(50 * time.Millisecond)})
	require.NoError(t, err)
	_, err = l.HealAll(ctx)
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() (bool, string) {
		lag, err := rep.MessageLagContext(ctx)
		return err == nil && lag < 50, fmt.Sprintf("lag %d after healing, %v", lag, err)
	})
	require.Equal(t, kafkatwin.ReplicatorRunning, rep.State())
}

// A lost answer is the ambiguous failure: the twin serves the call — the change is made and
// logged — and the client sees only a 500, a 504 after the delay, or a dropped connection.
func TestLostAnswerAppliesTheChangeAndLosesTheAnswer(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	fc := NewFaultClient(l.Endpoints().FaultAPI)
	noRetry := func(o *route53.Options) { o.RetryMaxAttempts = 1 }
	r53 := route53.NewFromConfig(sdkConfig(l, east))
	eastOSIS := osis.NewFromConfig(sdkConfig(l, east))

	_, err := fc.Inject(ctx, Fault{Kind: FaultLostAnswer, LostAs: "418"})
	require.ErrorContains(t, err, `lost_as "418"`)
	_, err = fc.Inject(ctx, Fault{Kind: FaultFail, LostAs: LostAs504})
	require.ErrorContains(t, err, "lost_as applies to lost-answer only")

	setWeights := func(east, west int64) error {
		_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
			ChangeBatch: &r53types.ChangeBatch{Comment: aws.String(fmt.Sprintf("lost %d/%d", east, west)), Changes: []r53types.Change{
				weightChange(t, l, "us-east-1", east), weightChange(t, l, "us-west-2", west)}}}, noRetry)
		return err
	}
	for _, c := range []struct {
		lostAs string
		want   func(error)
	}{
		{LostAs500, func(err error) {
			var re *awshttp.ResponseError
			require.ErrorAs(t, err, &re)
			require.Equal(t, http.StatusInternalServerError, re.HTTPStatusCode())
			require.Equal(t, "InternalFailure", apiCode(t, err))
		}},
		{LostAs504, func(err error) {
			var re *awshttp.ResponseError
			require.ErrorAs(t, err, &re)
			require.Equal(t, http.StatusGatewayTimeout, re.HTTPStatusCode())
		}},
		{LostAsDrop, func(err error) {
			var re *awshttp.ResponseError
			require.ErrorAs(t, err, &re)
			require.Zero(t, re.HTTPStatusCode(), "no HTTP answer at all: %v", err)
			require.ErrorContains(t, err, "request send failed")
		}},
	} {
		f, err := fc.Inject(ctx, Fault{Kind: FaultLostAnswer, Service: "route53", Operation: "ChangeResourceRecordSets",
			LostAs: c.lostAs, Delay: Duration(50 * time.Millisecond)})
		require.NoError(t, err)
		require.Equal(t, "lost-answer:*:route53:ChangeResourceRecordSets", f.ID)
		before := len(l.Twin().Route53ChangeLog(HostedZoneID))
		c.want(setWeights(30, 70))
		log := l.Twin().Route53ChangeLog(HostedZoneID)
		require.Len(t, log, before+1, "%s: the batch was applied although its answer was lost", c.lostAs)
		require.Equal(t, map[string]int64{"us-east-1": 30, "us-west-2": 70}, log[len(log)-1].Weights())
		w, err := l.Router().Weights(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"us-east-1": 30, "us-west-2": 70}, w)
		// Heal by kind and target, operation included, the way `starter lab heal` does.
		healed, err := fc.Heal(ctx, Fault{Kind: FaultLostAnswer, Service: "route53", Operation: "ChangeResourceRecordSets"})
		require.NoError(t, err)
		require.Equal(t, []string{f.ID}, healed)
		require.NoError(t, setWeights(100, 0))
	}

	// A started pipeline whose answer is lost is STARTING all the same, and the twin logs the
	// one StartPipeline it served; a refused call (a fault before the operation) is not logged.
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = l.Pipeline(east).Stop(stop)
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() (bool, string) {
		st := l.Pipeline(east).Status()
		return st == kafkatwin.PipelineStopped, string(st)
	})
	_, err = fc.Inject(ctx, Fault{Kind: FaultFail, Region: east, Service: "osis", Operation: "StartPipeline"})
	require.NoError(t, err)
	_, err = eastOSIS.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(l.Pipeline(east).Name())}, func(o *osis.Options) { o.RetryMaxAttempts = 1 })
	require.Error(t, err)
	require.Empty(t, l.Twin().PipelineRequests(east), "a call failed before it ran changed nothing")
	require.Equal(t, kafkatwin.PipelineStopped, l.Pipeline(east).Status())
	_, err = fc.HealAll(ctx)
	require.NoError(t, err)
	_, err = fc.Inject(ctx, Fault{Kind: FaultLostAnswer, Region: east, Service: "osis", Operation: "StartPipeline", LostAs: LostAsDrop})
	require.NoError(t, err)
	_, err = eastOSIS.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(l.Pipeline(east).Name())}, func(o *osis.Options) { o.RetryMaxAttempts = 1 })
	require.Error(t, err)
	reqs := l.Twin().PipelineRequests(east)
	require.Len(t, reqs, 1)
	require.Equal(t, "StartPipeline", reqs[0].Operation)
	require.Equal(t, "STARTING", reqs[0].Status)
	require.Contains(t, []kafkatwin.PipelineStatus{kafkatwin.PipelineStarting, kafkatwin.PipelineActive}, l.Pipeline(east).Status())
	require.Empty(t, l.Twin().PipelineRequests(west))
}

// weightChange UPSERTs the lab's weighted record of a Region with a new weight.
func weightChange(t *testing.T, l *Lab, set string, weight int64) r53types.Change {
	t.Helper()
	sets, err := l.Twin().RecordSets(HostedZoneID)
	require.NoError(t, err)
	for _, rs := range sets {
		if rs.SetIdentifier == set {
			rr := make([]r53types.ResourceRecord, len(rs.Values))
			for i, v := range rs.Values {
				rr[i] = r53types.ResourceRecord{Value: aws.String(v)}
			}
			return r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(rs.Name), Type: r53types.RRType(rs.Type), SetIdentifier: aws.String(set), Weight: aws.Int64(weight),
				TTL: rs.TTL, ResourceRecords: rr}}
		}
	}
	t.Fatalf("no record set %s", set)
	return r53types.Change{}
}

// strand-change: Route 53 accepts the zone's change batches and loses them, as after a
// control-plane failover. The client gets a change id; the records never change and GetChange no
// longer knows the id. Healed, changes apply again.
func TestStrandChangeAcceptsAndLosesRoute53Changes(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	fc := NewFaultClient(l.Endpoints().FaultAPI)
	r53 := route53.NewFromConfig(sdkConfig(l, west))
	setWeights := func(east, west int64) *route53.ChangeResourceRecordSetsOutput {
		out, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{
				weightChange(t, l, "us-east-1", east), weightChange(t, l, "us-west-2", west)}}})
		require.NoError(t, err)
		return out
	}
	before, err := l.Router().Weights(ctx)
	require.NoError(t, err)

	f, err := fc.Inject(ctx, Fault{Kind: FaultStrandChange})
	require.NoError(t, err)
	require.Equal(t, "strand-change", f.ID)
	out := setWeights(0, 100)
	require.Equal(t, r53types.ChangeStatusPending, out.ChangeInfo.Status, "accepted as usual")
	after, err := l.Router().Weights(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after, "a stranded change is never applied")
	_, err = r53.GetChange(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id})
	var nsc *r53types.NoSuchChange
	require.ErrorAs(t, err, &nsc)
	log := l.Twin().Route53ChangeLog(HostedZoneID)
	require.True(t, log[len(log)-1].Stranded)

	_, err = fc.Heal(ctx, Fault{Kind: FaultStrandChange})
	require.NoError(t, err)
	setWeights(0, 100)
	after, err = l.Router().Weights(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"us-east-1": 0, "us-west-2": 100}, after)
}
