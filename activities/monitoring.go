package activities

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.temporal.io/sdk/temporal"
)

// AlarmStateArgs is the input of cloudwatch.alarm_state.
type AlarmStateArgs struct {
	Environment string   `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string   `json:"region" catalog:"region,required" doc:"the Region of the alarms"`
	Alarms      []string `json:"alarms,omitempty" doc:"alarm names; default: the Region's alarms"`
	// InsufficientDataFails makes INSUFFICIENT_DATA count like ALARM, for alarms whose missing
	// data means the watched thing stopped reporting.
	InsufficientDataFails bool `json:"insufficient_data_fails,omitempty" doc:"treat INSUFFICIENT_DATA like ALARM"`
}

// AlarmStateResult is the output of cloudwatch.alarm_state.
type AlarmStateResult struct {
	OK      bool              `json:"ok"`
	Reason  string            `json:"reason"`
	States  map[string]string `json:"states" doc:"alarm name to OK, ALARM or INSUFFICIENT_DATA"`
	Firing  []string          `json:"firing" doc:"the alarms that fail the check"`
	Checked int               `json:"checked"`
}

// AlarmState checks that none of the Region's alarms is in ALARM (DescribeAlarms). Runbooks use
// it as a health gate before shifting traffic and, polled during a soak, as the rollback trigger.
// An alarm name that does not exist fails at once: a misspelt alarm would otherwise pass forever.
func (c *Cloud) AlarmState(ctx context.Context, in AlarmStateArgs) (AlarmStateResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return AlarmStateResult{}, err
	}
	names := in.Alarms
	if len(names) == 0 {
		names = t.rc.Alarms
	}
	res := AlarmStateResult{States: map[string]string{}, Firing: []string{}}
	if len(names) == 0 {
		res.OK, res.Reason = true, fmt.Sprintf("no alarms configured for %s in environment %s", t.region, t.envName)
		return res, nil
	}
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return res, Permanent(err)
	}
	// DescribeAlarms takes at most 100 names per call.
	for start := 0; start < len(names); start += 100 {
		batch := names[start:min(start+100, len(names))]
		pages := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{AlarmNames: batch,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return res, Wrap(err, "describe alarms", strings.Join(batch, ","), t.region)
			}
			for _, a := range out.MetricAlarms {
				res.States[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
			for _, a := range out.CompositeAlarms {
				res.States[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
		}
	}
	var missing []string
	for _, n := range names {
		s, ok := res.States[n]
		switch {
		case !ok:
			missing = append(missing, n)
		case s == string(cwtypes.StateValueAlarm), in.InsufficientDataFails && s == string(cwtypes.StateValueInsufficientData):
			res.Firing = append(res.Firing, n)
		}
	}
	if len(missing) > 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("alarms %s do not exist in %s", strings.Join(missing, ", "), t.region), ErrNotFound, nil)
	}
	sort.Strings(res.Firing)
	res.Checked = len(names)
	if len(res.Firing) > 0 {
		var parts []string
		for _, n := range res.Firing {
			parts = append(parts, n+" is "+res.States[n])
		}
		res.Reason = fmt.Sprintf("in %s: %s", t.region, strings.Join(parts, "; "))
	} else {
		res.OK, res.Reason = true, fmt.Sprintf("none of %d alarms in %s is in ALARM", len(names), t.region)
	}
	return res, nil
}

// DLQObjectsArgs is the input of s3.dlq_objects.
type DLQObjectsArgs struct {
	Environment string    `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string    `json:"region" catalog:"region,required" doc:"the Region of the pipeline and its bucket"`
	Since       time.Time `json:"since" catalog:"required" doc:"count objects written at or after this time (RFC 3339)"`
	Bucket      string    `json:"bucket,omitempty" doc:"default: the Region's dlq_bucket"`
	Prefix      string    `json:"prefix,omitempty" doc:"default: the Region's dlq_prefix"`
	MaxObjects  int64     `json:"max_objects,omitempty" doc:"objects that still pass (default 0)"`
}

// DLQObjectsResult is the output of s3.dlq_objects.
type DLQObjectsResult struct {
	OK      bool     `json:"ok"`
	Reason  string   `json:"reason"`
	Bucket  string   `json:"bucket"`
	Objects int64    `json:"objects"`
	Bytes   int64    `json:"bytes"`
	Sample  []string `json:"sample" doc:"up to 10 object keys"`
}

// DLQObjects counts the objects the pipeline wrote to its dead-letter bucket since a time: each
// holds documents OpenSearch refused, which no replay brings back by itself.
func (c *Cloud) DLQObjects(ctx context.Context, in DLQObjectsArgs) (DLQObjectsResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return DLQObjectsResult{}, err
	}
	bucket, err := orEnv(in.Bucket, t.rc.DLQBucket, "dead-letter bucket", "dlq_bucket", t.region)
	if err != nil {
		return DLQObjectsResult{}, err
	}
	if in.Since.IsZero() {
		return DLQObjectsResult{}, badArgs("since is required")
	}
	sc, err := c.opts.AWS.S3(ctx, t.aws)
	if err != nil {
		return DLQObjectsResult{}, Permanent(err)
	}
	d, err := listDLQ(ctx, sc, t.region, bucket, cmp.Or(in.Prefix, t.rc.DLQPrefix), in.Since)
	if err != nil {
		return DLQObjectsResult{}, err
	}
	res := DLQObjectsResult{Bucket: bucket, Objects: d.Objects, Bytes: d.Bytes, Sample: d.Sample}
	if res.Sample == nil {
		res.Sample = []string{}
	}
	since := in.Since.UTC().Format(time.RFC3339)
	if res.Objects > in.MaxObjects {
		res.Reason = fmt.Sprintf("%d dead-letter objects (%d bytes) in %s (%s) since %s", res.Objects, res.Bytes, bucket, t.region, since)
	} else {
		res.OK, res.Reason = true, fmt.Sprintf("%d dead-letter objects in %s (%s) since %s", res.Objects, bucket, t.region, since)
	}
	return res, nil
}

// dlqListing is what listDLQ found.
type dlqListing struct {
	Objects, Bytes int64
	Sample         []string
}

// listDLQ lists a dead-letter bucket and keeps the objects modified at or after since. Data
// Prepper names its objects dlq-v2-<pipeline>-…-<instant>-<uuid>.json, but LastModified is what
// S3 guarantees, so the filter uses it.
func listDLQ(ctx context.Context, c s3.ListObjectsV2APIClient, region, bucket, prefix string, since time.Time) (dlqListing, error) {
	var d dlqListing
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	pages := s3.NewListObjectsV2Paginator(c, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return d, Wrap(err, "list dead-letter bucket", bucket, region)
		}
		for _, o := range page.Contents {
			if o.LastModified == nil || o.LastModified.Before(since) {
				continue
			}
			d.Objects++
			d.Bytes += aws.ToInt64(o.Size)
			if len(d.Sample) < 10 {
				d.Sample = append(d.Sample, aws.ToString(o.Key))
			}
		}
	}
	return d, nil
}
