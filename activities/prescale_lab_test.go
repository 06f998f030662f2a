package activities

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// capacityOf reads what the lab's twin has for region's pipeline and OpenSearch Serverless limits.
func capacityOf(t *testing.T, l *lab.Lab, region string) Capacity {
	t.Helper()
	p, err := l.Twin().Pipeline(context.Background(), region, l.Pipeline(region).Name())
	require.NoError(t, err)
	lim := l.Twin().AOSSCapacity(region)
	return Capacity{MinUnits: p.MinUnits, MaxUnits: p.MaxUnits, MaxIndexingOCU: lim.MaxIndexingCapacityInOCU, MaxSearchOCU: lim.MaxSearchCapacityInOCU}
}

// A pre-scale raises the survivor to 1.2 × both Regions' peaks, records the prior values, is a
// desired-state setter on repeat (no second UpdatePipeline, no ratchet on the peak its own raised
// floor publishes), and a restore puts back exactly the prior values, once.
func TestPrescaleRaisesTheSurvivorAndRestoreUndoesItExactly(t *testing.T) {
	ctx := context.Background()
	l, c, _ := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1, MetricsInterval: 100 * time.Millisecond})
	const east, west = "us-east-1", "us-west-2"
	tw := l.Twin()
	before := capacityOf(t, l, west)
	require.Equal(t, Capacity{MinUnits: 1, MaxUnits: 4, MaxIndexingOCU: 10, MaxSearchOCU: 10}, before, "the lab as it starts")

	// Yesterday's peaks: 3 + 2 pipeline units, 6 + 4.5 indexing OCUs (the lab publishes 2 search
	// OCUs per Region and its pipelines' MinUnits as computeUnits every tick).
	at := time.Now().Add(-3 * time.Hour)
	tw.PutMetric(east, "AWS/OSIS", "computeUnits", map[string]string{"PipelineName": l.Pipeline(east).Name()}, at, 3)
	tw.PutMetric(west, "AWS/OSIS", "computeUnits", map[string]string{"PipelineName": l.Pipeline(west).Name()}, at, 2)
	tw.PutMetric(east, "AWS/AOSS", "IndexingOCU", map[string]string{"ClientId": lab.AccountID}, at, 6)
	tw.PutMetric(west, "AWS/AOSS", "IndexingOCU", map[string]string{"ClientId": lab.AccountID}, at, 4.5)

	res, err := c.Prescale(ctx, PrescaleArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.True(t, res.Changed)
	// ceil(1.2 × 5) = 6 units (MinUnits and MaxUnits), ceil(1.2 × 10.5) = 13 indexing OCUs;
	// search needs ceil(1.2 × 4) = 5, below the 10 set: never lowered.
	want := Capacity{MinUnits: 6, MaxUnits: 6, MaxIndexingOCU: 13, MaxSearchOCU: 10}
	require.Equal(t, want, res.Desired, res.Summary)
	require.Equal(t, before, res.Prior)
	require.Equal(t, want, capacityOf(t, l, west), "the lab's pipeline and account settings")
	require.Len(t, res.Peaks, 2)
	require.Len(t, tw.PipelineUpdates(west), 1)
	require.Len(t, tw.AOSSCapacityUpdates(west), 1)
	require.Empty(t, tw.PipelineUpdates(east), "only the survivor changes")

	// A repeat keeps the recorded desired state (and the recorded prior values).
	again, err := c.Prescale(ctx, PrescaleArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.False(t, again.Changed, again.Summary)
	require.Equal(t, want, again.Desired)
	require.Equal(t, before, again.Prior, "the prior values survive a repeat")
	require.Len(t, tw.PipelineUpdates(west), 1, "nothing asked twice")

	waitUntil(t, "the raised floor published", func() bool {
		return rawMaxComputeUnits(t, c, l, west) == 6
	})
	restored, err := c.RestoreCapacity(ctx, RestoreCapacityArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.True(t, restored.Changed)
	require.Equal(t, before, *restored.Restored)
	require.Equal(t, before, capacityOf(t, l, west), "exactly the prior values")

	// While raised the lab published computeUnits 6 for the survivor (a pipeline runs at its
	// MinUnits): capacity bought, not load. The peak leaves the pre-scale's minutes out, so the
	// next failover (and readiness) sees yesterday's 2, not 6.
	tg, err := c.target(ctx, "lab", west)
	require.NoError(t, err)
	peak, err := c.readPeak(ctx, tg, DefaultPeakLookback)
	require.NoError(t, err)
	require.NotNil(t, peak.PipelineUnits)
	require.Equal(t, 2.0, *peak.PipelineUnits, "the pre-scaled minutes are left out of the peak")

	noop, err := c.RestoreCapacity(ctx, RestoreCapacityArgs{Environment: "lab", Region: west})
	require.NoError(t, err)
	require.False(t, noop.Changed)
	require.Nil(t, noop.Restored)
	require.Contains(t, noop.Summary, "nothing to restore")
	require.Len(t, tw.PipelineUpdates(west), 2, "one raise, one restore")
	require.Len(t, tw.AOSSCapacityUpdates(west), 2)
}

// Ungraceful: nothing is read in the other Region; the survivor's own peaks stand in for its.
func TestUngracefulPrescaleReadsOnlyTheSurvivor(t *testing.T) {
	ctx := context.Background()
	l, c, _ := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1, MetricsInterval: 100 * time.Millisecond})
	const east, west = "us-east-1", "us-west-2"
	at := time.Now().Add(-time.Hour)
	l.Twin().PutMetric(west, "AWS/OSIS", "computeUnits", map[string]string{"PipelineName": l.Pipeline(west).Name()}, at, 2)
	l.Twin().PutMetric(east, "AWS/OSIS", "computeUnits", map[string]string{"PipelineName": l.Pipeline(east).Name()}, at, 20)
	_, err := l.Inject(ctx, lab.Fault{Kind: lab.FaultImpairRegion, Region: east})
	require.NoError(t, err)

	res, err := c.Prescale(ctx, PrescaleArgs{Environment: "lab", Region: west, Ungraceful: true})
	require.NoError(t, err)
	require.True(t, res.Peaks[1].Estimated)
	require.Equal(t, 5, res.Desired.MinUnits, "ceil(1.2 × (2 + 2)): us-east-1's 20 was not read")
	require.NotEmpty(t, res.Warnings)
}

// msk.replicator_lag with within keeps reading until the replicator catches up, and says how
// long it waited when it did not.
func TestReplicatorLagWithinWaitsForTheCatchUp(t *testing.T) {
	ctx := context.Background()
	l, c, _ := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1, MetricsInterval: 100 * time.Millisecond})
	c.opts.PollInterval = 100 * time.Millisecond
	const west, east = "us-west-2", "us-east-1"
	rep := l.InboundReplicator(west)
	require.NoError(t, rep.Stop(ctx))
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.Cluster(east).Bootstrap()...))
	require.NoError(t, err)
	defer cl.Close()
	for i := range 5 {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: lab.Topic, Value: fmt.Appendf(nil, `{"n":%d}`, i)}).FirstErr())
	}
	waitUntil(t, "the lag published", func() bool {
		res, err := c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: "lab", Region: west})
		return err == nil && res.MessageLag != nil && *res.MessageLag > 0
	})
	res, err := c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: "lab", Region: west, Within: runbook.Duration(300 * time.Millisecond)})
	require.NoError(t, err)
	require.False(t, res.OK)
	require.True(t, strings.HasSuffix(res.Reason, "(still, after 300ms)"), res.Reason)

	// Resumed: one call returns ok once the replicator has caught up (the newest published
	// period may still show the lag; the call reads again until it does not).
	rep.Resume()
	res, err = c.ReplicatorLag(ctx, ReplicatorLagArgs{Environment: "lab", Region: west, Within: runbook.Duration(30 * time.Second)})
	require.NoError(t, err)
	require.True(t, res.OK, res.Reason)
}

// rawMaxComputeUnits is the pipeline's computeUnits Maximum over the last hour, read
// straight from the lab's CloudWatch (no window left out).
func rawMaxComputeUnits(t *testing.T, c *Cloud, l *lab.Lab, region string) float64 {
	t.Helper()
	ctx := context.Background()
	tg, err := c.target(ctx, "lab", region)
	require.NoError(t, err)
	cw, err := c.opts.AWS.CloudWatch(ctx, tg.aws)
	require.NoError(t, err)
	now := time.Now()
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("u"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/OSIS"), MetricName: aws.String("computeUnits"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("PipelineName"), Value: aws.String(l.Pipeline(region).Name())}}},
			Period: aws.Int32(60), Stat: aws.String("Maximum")}}}})
	require.NoError(t, err)
	var m float64
	for _, r := range out.MetricDataResults {
		for _, v := range r.Values {
			m = max(m, v)
		}
	}
	return m
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		require.False(t, time.Now().After(deadline), "timed out waiting for %s", what)
		time.Sleep(50 * time.Millisecond)
	}
}
