package activities

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Reads for the status page (internal/statuspage): not catalog entries, since no runbook step
// needs a series, but the same clients and the same environment resolution as the entries.

// LagPoint is one period of a replicator's MessageLag: the Sum over its partitions, as
// readReplicatorMetrics reads it.
type LagPoint struct {
	At  time.Time
	Lag float64
}

// ReplicatorLagSeries reads the MessageLag of the replicator copying into region (its inbound
// replicator, whose metrics MSK publishes in that Region) over the last window, one point per
// the Region's metrics period, oldest first. It returns the replicator's name with the points.
func (c *Cloud) ReplicatorLagSeries(ctx context.Context, env, region string, window time.Duration) (string, []LagPoint, error) {
	t, err := c.target(ctx, env, region)
	if err != nil {
		return "", nil, err
	}
	arn, err := orEnv("", t.rc.InboundReplicatorARN, "replicator", "inbound_replicator_arn", t.region)
	if err != nil {
		return "", nil, err
	}
	name := replicatorNameFromARN(arn)
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return name, nil, Permanent(err)
	}
	now := time.Now()
	period := max(t.rc.Replication.Period(), time.Second)
	pages := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-window)), EndTime: aws.Time(now), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("lag"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String("MessageLag"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("ReplicatorName"), Value: aws.String(name)}}},
			Period: aws.Int32(int32(period / time.Second)), Stat: aws.String("Sum")}}},
	})
	var out []LagPoint
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return name, nil, Wrap(err, "read MessageLag of replicator", name, t.region)
		}
		for _, r := range page.MetricDataResults {
			for i, v := range r.Values {
				if i < len(r.Timestamps) {
					out = append(out, LagPoint{At: r.Timestamps[i], Lag: v})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return name, out, nil
}
