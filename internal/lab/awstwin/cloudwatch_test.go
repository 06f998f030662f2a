package awstwin

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// seedMetrics writes MSK Replicator metrics the way the lab's replicator twin would: two
// points in the 10:00 minute, one in 10:01, one in 10:03, one outside the query window.
func seedMetrics(tw *Twin) {
	dims := map[string]string{"ReplicatorName": "production-primary-to-secondary"}
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", dims, t0.Add(10*time.Second), 100)
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", dims, t0.Add(40*time.Second), 50)
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", dims, t0.Add(70*time.Second), 20)
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", dims, t0.Add(190*time.Second), 0)
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", dims, t0.Add(-time.Hour), 999)
	tw.PutMetric(west, "AWS/Kafka", "MessageLag", map[string]string{"ReplicatorName": "production-primary-to-secondary", "Topic": "opensearch-data"}, t0, 7)
	tw.PutMetric(west, "AWS/Kafka", "ReplicationLatency", dims, t0, 1500)
	tw.PutMetric(west, "AWS/OSIS", "kafka-pipeline.opensearch.documentErrors.count", map[string]string{"PipelineName": "production-osi-secondary"}, t0, 3)
	tw.PutMetric(east, "AWS/Kafka", "MessageLag", dims, t0, 12345) // another Region's store
}

func seedAlarms(t *testing.T, tw *Twin) {
	t.Helper()
	for _, a := range []Alarm{
		{Name: "production-replication-lag", Namespace: "AWS/Kafka", MetricName: "MessageLag", Statistic: "Maximum", Period: 60,
			EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 1000, ComparisonOperator: "GreaterThanThreshold",
			Dimensions: map[string]string{"ReplicatorName": "production-primary-to-secondary"}, ActionsEnabled: true,
			AlarmActions: []string{"arn:aws:sns:us-west-2:123456789012:dr-alerts"}, TreatMissingData: "breaching"},
		{Name: "production-osi-errors", Namespace: "AWS/OSIS", MetricName: "kafka-pipeline.opensearch.documentErrors.count", Statistic: "Sum",
			Period: 300, EvaluationPeriods: 1, Threshold: 0, ComparisonOperator: "GreaterThanThreshold"},
		{Name: "staging-osi-errors", Namespace: "AWS/OSIS", MetricName: "x", Statistic: "Sum", Period: 60, EvaluationPeriods: 1},
	} {
		if err := tw.PutAlarm(west, a); err != nil {
			t.Fatalf("PutAlarm: %v", err)
		}
	}
}

func metricQuery(id, stat string) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String("MessageLag"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("ReplicatorName"), Value: aws.String("production-primary-to-secondary")}}},
		Period: aws.Int32(60), Stat: aws.String(stat)}}
}

func TestCloudWatchCBORThroughSDK(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now})
	var mu sync.Mutex
	var protocols []string
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		mu.Lock()
		defer mu.Unlock()
		protocols = append(protocols, fc.Protocol)
		return Fault{}
	})
	seedMetrics(lab.twin)
	seedAlarms(t, lab.twin)
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(sdkConfig(lab.urls[west], west))

	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			metricQuery("sum", "Sum"), metricQuery("avg", "Average"), metricQuery("max", "Maximum"),
			metricQuery("min", "Minimum"), metricQuery("n", "SampleCount"),
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	wantTimes := []time.Time{t0.Add(3 * time.Minute), t0.Add(time.Minute), t0} // descending by default
	wantValues := map[string][]float64{"sum": {0, 20, 150}, "avg": {0, 20, 75}, "max": {0, 20, 100}, "min": {0, 20, 50}, "n": {1, 1, 2}}
	if len(out.MetricDataResults) != 5 {
		t.Fatalf("results = %d, want 5", len(out.MetricDataResults))
	}
	for _, r := range out.MetricDataResults {
		id := aws.ToString(r.Id)
		if r.StatusCode != cwtypes.StatusCodeComplete || aws.ToString(r.Label) != "MessageLag" {
			t.Errorf("%s: status %s label %q", id, r.StatusCode, aws.ToString(r.Label))
		}
		if !slices.EqualFunc(r.Timestamps, wantTimes, time.Time.Equal) || !slices.Equal(r.Values, wantValues[id]) {
			t.Errorf("%s: timestamps %v values %v, want %v %v", id, r.Timestamps, r.Values, wantTimes, wantValues[id])
		}
	}

	asc, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{metricQuery("m1", "Sum")},
	})
	if err != nil || !asc.MetricDataResults[0].Timestamps[0].Equal(t0) || asc.MetricDataResults[0].Values[2] != 0 {
		t.Fatalf("GetMetricData(ascending) = %+v, %v", asc, err)
	}

	// CloudWatch is awsQueryCompatible: the SDK reports the awsQuery code and still returns the
	// modelled error type.
	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{metricQuery("p", "p99")},
	})
	var ipv *cwtypes.InvalidParameterValueException
	if !errors.As(err, &ipv) || apiCode(t, err) != "InvalidParameterValue" {
		t.Fatalf("GetMetricData(p99) error = %v, want InvalidParameterValue", err)
	}

	lm, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Kafka"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Topic")}}})
	if err != nil || len(lm.Metrics) != 1 || len(lm.Metrics[0].Dimensions) != 2 || aws.ToString(lm.Metrics[0].Dimensions[1].Value) != "opensearch-data" {
		t.Fatalf("ListMetrics(Topic) = %+v, %v", lm, err)
	}
	lm, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Dimensions: []cwtypes.DimensionFilter{
		{Name: aws.String("ReplicatorName"), Value: aws.String("production-primary-to-secondary")}}})
	if err != nil || len(lm.Metrics) != 3 {
		t.Fatalf("ListMetrics(ReplicatorName) = %+v, %v; want MessageLag x2 and ReplicationLatency", lm, err)
	}

	if _, err := lab.twin.SetAlarmState(west, "production-replication-lag", "ALARM", "Threshold Crossed: 2 datapoints were greater than the threshold (1000.0)."); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	da, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm})
	if err != nil || len(da.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms(ALARM) = %+v, %v", da, err)
	}
	a := da.MetricAlarms[0]
	if aws.ToString(a.AlarmName) != "production-replication-lag" || a.StateValue != cwtypes.StateValueAlarm || aws.ToFloat64(a.Threshold) != 1000 ||
		a.ComparisonOperator != cwtypes.ComparisonOperatorGreaterThanThreshold || aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.DatapointsToAlarm) != 2 ||
		a.Statistic != cwtypes.StatisticMaximum || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-west-2:123456789012:alarm:production-replication-lag" ||
		!a.StateUpdatedTimestamp.Equal(clock.Now()) || a.AlarmActions[0] != "arn:aws:sns:us-west-2:123456789012:dr-alerts" ||
		aws.ToString(a.Dimensions[0].Name) != "ReplicatorName" || !aws.ToBool(a.ActionsEnabled) {
		t.Fatalf("MetricAlarm = %+v", a)
	}
	da, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("production-")})
	if err != nil || len(da.MetricAlarms) != 2 || da.MetricAlarms[0].StateValue != cwtypes.StateValueInsufficientData {
		t.Fatalf("DescribeAlarms(prefix) = %+v, %v", da, err)
	}
	da, err = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"staging-osi-errors", "missing"}})
	if err != nil || len(da.MetricAlarms) != 1 || aws.ToString(da.MetricAlarms[0].AlarmName) != "staging-osi-errors" {
		t.Fatalf("DescribeAlarms(names) = %+v, %v", da, err)
	}
	// Paginate with MaxRecords 2 through the SDK paginator.
	var pages, total int
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeAlarms page: %v", err)
		}
		pages++
		total += len(page.MetricAlarms)
	}
	if pages != 2 || total != 3 {
		t.Fatalf("DescribeAlarms paginated into %d pages, %d alarms; want 2, 3", pages, total)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(protocols) < 8 {
		t.Fatalf("the fault hook saw %d CloudWatch requests", len(protocols))
	}
	for _, p := range protocols {
		if p != "rpcv2Cbor" {
			t.Fatalf("the Go SDK used protocol %s, want rpcv2Cbor", p)
		}
	}
}

// queryXMLResponse is what the AWS CLI parses from awsQuery GetMetricData.
type queryGetMetricData struct {
	Results []struct {
		ID         string      `xml:"Id"`
		Label      string      `xml:"Label"`
		StatusCode string      `xml:"StatusCode"`
		Timestamps []time.Time `xml:"Timestamps>member"`
		Values     []float64   `xml:"Values>member"`
	} `xml:"GetMetricDataResult>MetricDataResults>member"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func TestCloudWatchAWSQueryLikeCLI(t *testing.T) {
	lab := startLab(t, Options{})
	seedMetrics(lab.twin)
	seedAlarms(t, lab.twin)

	body := form(
		"Action", "GetMetricData", "Version", "2010-08-01",
		"StartTime", "2026-11-22T10:00:00Z", "EndTime", "2026-11-22T10:05:00Z",
		"MetricDataQueries.member.1.Id", "lag",
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace", "AWS/Kafka",
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName", "MessageLag",
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name", "ReplicatorName",
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value", "production-primary-to-secondary",
		"MetricDataQueries.member.1.MetricStat.Period", "60",
		"MetricDataQueries.member.1.MetricStat.Stat", "Maximum",
	)
	resp, raw := do(t, signedRequest(t, http.MethodPost, lab.urls[west]+"/", "monitoring", west, body,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("awsQuery GetMetricData: HTTP %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	var out queryGetMetricData
	if err := xml.Unmarshal(raw, &out); err != nil {
		t.Fatalf("parse awsQuery response: %v\n%s", err, raw)
	}
	if len(out.Results) != 1 || out.RequestID == "" {
		t.Fatalf("awsQuery response = %+v\n%s", out, raw)
	}
	r := out.Results[0]
	if r.ID != "lag" || r.StatusCode != "Complete" || !slices.Equal(r.Values, []float64{0, 20, 100}) || len(r.Timestamps) != 3 || !r.Timestamps[2].Equal(t0) {
		t.Fatalf("awsQuery result = %+v", r)
	}

	// DescribeAlarms with a list parameter and a state filter.
	_, _ = lab.twin.SetAlarmState(west, "production-osi-errors", "ALARM", "test")
	resp, raw = do(t, signedRequest(t, http.MethodPost, lab.urls[west]+"/", "monitoring", west,
		form("Action", "DescribeAlarms", "Version", "2010-08-01", "AlarmNames.member.1", "production-osi-errors",
			"AlarmNames.member.2", "production-replication-lag", "StateValue", "ALARM"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}))
	var alarms struct {
		Names []string `xml:"DescribeAlarmsResult>MetricAlarms>member>AlarmName"`
		State []string `xml:"DescribeAlarmsResult>MetricAlarms>member>StateValue"`
	}
	if err := xml.Unmarshal(raw, &alarms); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("awsQuery DescribeAlarms: HTTP %d %v\n%s", resp.StatusCode, err, raw)
	}
	if !slices.Equal(alarms.Names, []string{"production-osi-errors"}) || alarms.State[0] != "ALARM" {
		t.Fatalf("awsQuery DescribeAlarms = %+v\n%s", alarms, raw)
	}

	// ListMetrics by namespace.
	resp, raw = do(t, signedRequest(t, http.MethodPost, lab.urls[west]+"/", "monitoring", west,
		form("Action", "ListMetrics", "Version", "2010-08-01", "Namespace", "AWS/OSIS"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}))
	var metrics struct {
		Names []string `xml:"ListMetricsResult>Metrics>member>MetricName"`
		Dims  []string `xml:"ListMetricsResult>Metrics>member>Dimensions>member>Value"`
	}
	if err := xml.Unmarshal(raw, &metrics); err != nil || resp.StatusCode != http.StatusOK ||
		!slices.Equal(metrics.Names, []string{"kafka-pipeline.opensearch.documentErrors.count"}) || metrics.Dims[0] != "production-osi-secondary" {
		t.Fatalf("awsQuery ListMetrics = %+v, %v\n%s", metrics, err, raw)
	}

	// Errors come back as the awsQuery ErrorResponse document.
	resp, raw = do(t, signedRequest(t, http.MethodPost, lab.urls[west]+"/", "monitoring", west,
		form("Action", "DescribeAlarms", "Version", "2010-08-01", "StateValue", "BROKEN"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}))
	var qerr struct {
		Type string `xml:"Error>Type"`
		Code string `xml:"Error>Code"`
	}
	if err := xml.Unmarshal(raw, &qerr); err != nil || resp.StatusCode != http.StatusBadRequest || qerr.Code != "InvalidParameterValue" || qerr.Type != "Sender" {
		t.Fatalf("awsQuery error = HTTP %d %+v %v\n%s", resp.StatusCode, qerr, err, raw)
	}
}

func TestCloudWatchJSON10(t *testing.T) {
	lab := startLab(t, Options{})
	seedMetrics(lab.twin)
	body := []byte(`{"StartTime":1795341600,"EndTime":1795341900,"MetricDataQueries":[{"Id":"lag","MetricStat":{"Metric":{"Namespace":"AWS/Kafka","MetricName":"MessageLag","Dimensions":[{"Name":"ReplicatorName","Value":"production-primary-to-secondary"}]},"Period":60,"Stat":"Sum"}}]}`)
	if t0.Unix() != 1795341600 {
		t.Fatalf("test fixture epoch is %d", t0.Unix())
	}
	resp, raw := do(t, signedRequest(t, http.MethodPost, lab.urls[west]+"/", "monitoring", west, body, map[string]string{
		"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData"}))
	var out struct {
		MetricDataResults []struct {
			ID         string    `json:"Id"`
			Timestamps []float64 `json:"Timestamps"`
			Values     []float64 `json:"Values"`
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON GetMetricData: HTTP %d %v\n%s", resp.StatusCode, err, raw)
	}
	r := out.MetricDataResults[0]
	if r.ID != "lag" || !slices.Equal(r.Values, []float64{0, 20, 150}) || r.Timestamps[2] != float64(t0.Unix()) {
		t.Fatalf("JSON result = %+v", r)
	}
}
