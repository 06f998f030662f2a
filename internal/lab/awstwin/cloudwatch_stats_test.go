package awstwin

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Statistics are computed per period over the raw samples, each value of a PutMetricValues (or
// of a PutMetricData's Values, times its Counts) a sample of its own: how MSK's per-partition
// MessageLag reaches CloudWatch, and why its Sum, Minimum and Maximum differ.
func TestCloudWatchStatisticsOverRawSamples(t *testing.T) {
	lab := startLab(t, Options{Now: newFakeClock().Now})
	dims := map[string]string{"ReplicatorName": "r"}
	// Two rounds of three partitions in the 10:00 minute, one in 10:01 (at its very first
	// instant, which belongs to it), one at 10:02 exactly: the query's end, excluded.
	lab.twin.PutMetricValues(west, "AWS/Kafka", "MessageLag", dims, t0.Add(5*time.Second), []float64{0, 12, 3})
	lab.twin.PutMetricValues(west, "AWS/Kafka", "MessageLag", dims, t0.Add(35*time.Second), []float64{0, 4, 0})
	lab.twin.PutMetricValues(west, "AWS/Kafka", "MessageLag", dims, t0.Add(time.Minute), []float64{0, 0, 0})
	lab.twin.PutMetricValues(west, "AWS/Kafka", "MessageLag", dims, t0.Add(2*time.Minute), []float64{99})
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(sdkConfig(lab.urls[west], west))
	q := func(id, stat string, period int32) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String("MessageLag"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("ReplicatorName"), Value: aws.String("r")}}},
			Period: aws.Int32(period), Stat: aws.String(stat)}}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(2 * time.Minute)), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{q("n", "SampleCount", 60), q("sum", "Sum", 60), q("min", "Minimum", 60),
			q("max", "Maximum", 60), q("avg", "Average", 60), q("sum30", "Sum", 30), q("n30", "SampleCount", 30)},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	want := map[string][]float64{
		"n": {6, 3}, "sum": {19, 0}, "min": {0, 0}, "max": {12, 0}, "avg": {19.0 / 6, 0},
		"sum30": {15, 4, 0}, "n30": {3, 3, 3},
	}
	wantTimes := map[string][]time.Time{"sum30": {t0, t0.Add(30 * time.Second), t0.Add(time.Minute)}}
	for _, r := range out.MetricDataResults {
		id := aws.ToString(r.Id)
		if !slices.EqualFunc(r.Values, want[id], func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
			t.Errorf("%s = %v, want %v", id, r.Values, want[id])
		}
		if wt, ok := wantTimes[id]; ok && !slices.EqualFunc(r.Timestamps, wt, time.Time.Equal) {
			t.Errorf("%s timestamps = %v, want %v", id, r.Timestamps, wt)
		}
	}

	// PutMetricData's Values and Counts are samples too: 0 twice and 5 once.
	_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Switchyard/Test"), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String("Lag"), Timestamp: aws.Time(t0), Values: []float64{0, 5}, Counts: []float64{2, 1}}}})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	stat := func(s string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(map[string]string{"SampleCount": "n", "Sum": "sum", "Minimum": "min", "Maximum": "max", "Average": "avg"}[s]),
			MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("Switchyard/Test"), MetricName: aws.String("Lag")},
				Period: aws.Int32(60), Stat: aws.String(s)}}
	}
	out, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{stat("SampleCount"), stat("Sum"), stat("Minimum"), stat("Maximum"), stat("Average")}})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	want = map[string][]float64{"n": {3}, "sum": {5}, "min": {0}, "max": {5}, "avg": {5.0 / 3}}
	for _, r := range out.MetricDataResults {
		id := aws.ToString(r.Id)
		if !slices.EqualFunc(r.Values, want[id], func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
			t.Errorf("PutMetricData %s = %v, want %v", id, r.Values, want[id])
		}
	}
}
