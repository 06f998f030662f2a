package awstwin

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"
)

func alarmStateOf(t *testing.T, tw *Twin, region, name string) Alarm {
	t.Helper()
	for _, a := range tw.Alarms(region) {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no alarm %s in %s", name, region)
	return Alarm{}
}

// An alarm defined with PutMetricAlarm follows the datapoints PutMetricData writes: 2 of 3
// breaching periods fire it (not consecutive), and it goes back to OK once 2 of the last 3 are
// fine. Only complete periods count.
func TestAlarmEvaluatesMOutOfN(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, EvaluateAlarms: true})
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(sdkConfig(lab.urls[west], west))
	dims := []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("ingest")}}
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("errors-high"), Namespace: aws.String("App"),
		MetricName: aws.String("Errors"), Dimensions: dims, Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(10),
		EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(2), Threshold: aws.Float64(5),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	require.NoError(t, err)
	put := func(v float64) {
		t.Helper()
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("App"), MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Errors"), Dimensions: dims, Value: aws.Float64(v), Timestamp: aws.Time(clock.Now())}}})
		require.NoError(t, err)
	}
	state := func() (cwtypes.StateValue, string) {
		t.Helper()
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"errors-high"}})
		require.NoError(t, err)
		require.Len(t, out.MetricAlarms, 1)
		return out.MetricAlarms[0].StateValue, aws.ToString(out.MetricAlarms[0].StateReason)
	}

	clock.Advance(time.Second)
	put(9) // 10:00:00 period
	st, _ := state()
	require.Equal(t, cwtypes.StateValueInsufficientData, st, "the period being written is not a datapoint yet")
	clock.Advance(10 * time.Second)
	put(1) // 10:00:10
	st, _ = state()
	require.Equal(t, cwtypes.StateValueInsufficientData, st, "1 breaching datapoint of the 2 needed decides nothing")
	clock.Advance(10 * time.Second)
	put(9) // 10:00:20
	clock.Advance(10 * time.Second)
	st, reason := state()
	require.Equal(t, cwtypes.StateValueAlarm, st, reason)
	require.Contains(t, reason, "2 out of the last 3 datapoints")

	put(1) // 10:00:30
	clock.Advance(10 * time.Second)
	put(1) // 10:00:40
	clock.Advance(10 * time.Second)
	st, reason = state()
	require.Equal(t, cwtypes.StateValueOk, st, reason)

	// Bad definitions are refused, not accepted and never evaluated.
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("bad"), Namespace: aws.String("App"),
		MetricName: aws.String("Errors"), Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold})
	require.Equal(t, "InvalidParameterValue", apiCode(t, err))
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("bad"), Namespace: aws.String("App"),
		MetricName: aws.String("Errors"), Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(2),
		DatapointsToAlarm: aws.Int32(3), Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	require.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

// When every datapoint of the evaluation range is missing, TreatMissingData decides: missing
// goes to INSUFFICIENT_DATA, ignore keeps the state, breaching goes to ALARM, notBreaching to OK.
// A lone good datapoint in the range of a 3-of-3 alarm is OK whatever the treatment (the
// documentation's table, "- - - - 0").
func TestAlarmTreatsMissingData(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, EvaluateAlarms: true})
	tw := lab.twin
	want := map[string]string{MissingMissing: "INSUFFICIENT_DATA", MissingIgnore: "ALARM", MissingBreaching: "ALARM", MissingNotBreaching: "OK"}
	for treat := range want {
		require.NoError(t, tw.PutAlarm(east, Alarm{Name: treat, Namespace: "App", MetricName: treat, Statistic: "Sum", Period: 10,
			EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: treat}))
		tw.PutMetric(east, "App", treat, nil, clock.Now(), 9)
		require.NoError(t, tw.PutAlarm(east, Alarm{Name: "3of3-" + treat, Namespace: "App", MetricName: "3of3-" + treat, Statistic: "Sum", Period: 10,
			EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 5, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: treat}))
	}
	clock.Advance(10 * time.Second)
	for treat := range want {
		require.Equal(t, "ALARM", alarmStateOf(t, tw, east, treat).State, treat)
	}
	clock.Advance(10 * time.Minute) // nothing written since
	for treat, state := range want {
		require.Equal(t, state, alarmStateOf(t, tw, east, treat).State, treat)
	}
	for treat := range want {
		tw.PutMetric(east, "App", treat, nil, clock.Now(), 1)
		tw.PutMetric(east, "App", "3of3-"+treat, nil, clock.Now(), 1)
	}
	clock.Advance(10 * time.Second)
	for treat := range want {
		for _, name := range []string{treat, "3of3-" + treat} {
			a := alarmStateOf(t, tw, east, name)
			require.Equal(t, "OK", a.State, "%s: %s", name, a.StateReason)
		}
	}
}

// The health_check_metric lever's alarm (ALARM below 1, missing data ignored): a 0 written once
// takes the Region out and keeps it out long after the datapoint left the evaluation range,
// even when nobody read the alarm in between (the twin replays the evaluations it owes); the
// CLOUDWATCH_METRIC health check follows, with no SetAlarmState anywhere.
func TestTakesTrafficAlarmFollowsOneDatapoint(t *testing.T) {
	clock := newFakeClock()
	lab := startLab(t, Options{Now: clock.Now, EvaluateAlarms: true})
	tw := lab.twin
	dims := map[string]string{"Region": east}
	require.NoError(t, tw.PutAlarm(west, Alarm{Name: "east-takes-traffic", Namespace: "Switchyard/Traffic", MetricName: "TakesTraffic",
		Dimensions: dims, Statistic: "Minimum", Period: 10, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "LessThanThreshold",
		TreatMissingData: MissingIgnore}))
	hc, err := tw.CreateHealthCheck("", HealthCheckConfig{Type: HealthCheckCloudWatchMetric, AlarmRegion: west, AlarmName: "east-takes-traffic",
		InsufficientDataHealthStatus: InsufficientDataLastKnownStatus})
	require.NoError(t, err)

	tw.PutMetric(west, "Switchyard/Traffic", "TakesTraffic", dims, clock.Now(), 1)
	clock.Advance(10 * time.Second)
	healthy, ok := tw.HealthCheckHealthy(hc)
	require.True(t, ok)
	require.True(t, healthy)
	require.Equal(t, "OK", alarmStateOf(t, tw, west, "east-takes-traffic").State)

	clock.Advance(time.Hour) // no data: the alarm keeps OK
	tw.PutMetric(west, "Switchyard/Traffic", "TakesTraffic", dims, clock.Now(), 0)
	clock.Advance(30 * time.Minute) // nobody reads the alarm meanwhile
	healthy, _ = tw.HealthCheckHealthy(hc)
	require.False(t, healthy, "the 0 fired the alarm when its period ended, and ignore kept it in ALARM")
	a := alarmStateOf(t, tw, west, "east-takes-traffic")
	require.Equal(t, "ALARM", a.State)
	require.Contains(t, a.StateReason, "less than the threshold (1.0)")
}

// Driven alarms, and every alarm of a twin without EvaluateAlarms, move only with
// SetAlarmState.
func TestDrivenAlarmsAreNotEvaluated(t *testing.T) {
	for _, tc := range []struct {
		name     string
		evaluate bool
		driven   bool
	}{{"driven", true, true}, {"evaluation off", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			tw := startLab(t, Options{Now: clock.Now, EvaluateAlarms: tc.evaluate}).twin
			require.NoError(t, tw.PutAlarm(east, Alarm{Name: "a", Namespace: "App", MetricName: "m", Statistic: "Sum", Period: 10,
				EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: MissingBreaching, Driven: tc.driven}))
			_, err := tw.SetAlarmState(east, "a", "OK", "set by the lab")
			require.NoError(t, err)
			tw.PutMetric(east, "App", "m", nil, clock.Now(), 9)
			clock.Advance(time.Minute)
			require.Empty(t, tw.EvaluateAlarms(east))
			require.Equal(t, "OK", alarmStateOf(t, tw, east, "a").State)
		})
	}
}
