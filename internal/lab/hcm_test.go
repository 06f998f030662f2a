package lab

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// The health_check_metric lever end to end in the lab: with us-east-1 and Route 53's control
// plane down, one PutMetricData of 0 in us-west-2 fires the takes-traffic alarm there (the
// CloudWatch twin evaluates it; nobody sets its state), the CLOUDWATCH_METRIC health check on
// us-east-1's record turns unhealthy, and DNS answers us-west-2 only — while us-west-2's own
// check, whose alarm is in the impaired us-east-1, stays healthy as last known. Nothing calls
// into us-east-1.
func TestHealthCheckMetricLeverMovesDNSWithUSEast1Down(t *testing.T) {
	l := startTestLab(t, func(o *Options) {
		o.InitialWeights = map[string]int64{east: 100, west: 0}
		o.RecordHealthChecks = RecordChecksCloudWatchMetric
	})
	ctx := context.Background()
	env := l.HealthCheckMetricEnvironment("lab-hcm")
	require.Equal(t, runbook.LeverHealthCheckMetric, env.Traffic.Lever)
	h := env.Traffic.HealthCheckMetric
	require.Equal(t, west, h.Checks[east].AlarmRegion, "us-east-1's alarm lives in us-west-2")
	require.Equal(t, east, h.Checks[west].AlarmRegion)
	checks := map[string]string{}
	for _, hc := range l.Twin().HealthChecks() {
		checks[hc.ID] = hc.Config.Type
	}
	records, err := l.Twin().RecordSets(HostedZoneID)
	require.NoError(t, err)
	for _, rs := range records {
		if rs.Name == RecordName+"." {
			require.Equal(t, h.Checks[rs.SetIdentifier].HealthCheckID, rs.HealthCheckID, "%s's record carries its CLOUDWATCH_METRIC check", rs.SetIdentifier)
		}
	}
	// Both alarms reach OK from the first datapoint, by evaluation.
	eventually(t, 10*time.Second, func() (bool, string) {
		states := map[string]string{}
		for _, r := range []string{east, west} {
			for _, a := range l.Twin().Alarms(l.peer(r)) {
				if a.Name == takesTrafficAlarm(r) {
					states[r] = a.State
				}
			}
		}
		return states[east] == "OK" && states[west] == "OK", fmt.Sprint(states)
	})
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))

	l.SetGlobalControlPlaneInHomeRegion(true)
	_, err = l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	var mu sync.Mutex
	eastCalls := 0
	stop := l.ObserveControlPlane(func(fc awstwin.FaultContext, _ awstwin.Fault) {
		if fc.Region == east {
			mu.Lock()
			eastCalls++
			mu.Unlock()
		}
	})
	defer stop()

	cw := cloudwatch.NewFromConfig(sdkConfig(l, west))
	_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(h.Namespace), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String(h.MetricName), Value: aws.Float64(0), Timestamp: aws.Time(time.Now()),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Region"), Value: aws.String(east)}}}}})
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() (bool, string) {
		got := answeredRegions(t, l, 20)
		return got[west] == 20, fmt.Sprint(got)
	})
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{h.Checks[east].AlarmName}})
	require.NoError(t, err)
	require.Equal(t, cwtypes.StateValueAlarm, out.MetricAlarms[0].StateValue, "the alarm fired by evaluation")
	require.Contains(t, aws.ToString(out.MetricAlarms[0].StateReason), "less than the threshold")
	westHealthy, ok := l.Twin().HealthCheckHealthy(h.Checks[west].HealthCheckID)
	require.True(t, ok)
	require.True(t, westHealthy, "us-west-2's check reads an impaired Region's alarm: last known status, healthy")
	mu.Lock()
	require.Zero(t, eastCalls, "no call into us-east-1")
	mu.Unlock()

	// The records go back to RECOVERY_CONTROL checks (routing controls both On): both answer again
	// by weight, here us-east-1's 100.
	require.NoError(t, l.SetRecordHealthChecks(RecordChecksRecoveryControl))
	require.Equal(t, RecordChecksRecoveryControl, l.RecordHealthChecks())
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
	require.Error(t, l.SetRecordHealthChecks("HTTP"))

	// A realistic profile's period (AWS's shortest alarm period, 10 s); the state is kept.
	require.NoError(t, l.SetTakesTrafficPeriod(10*time.Second))
	for _, a := range l.Twin().Alarms(west) {
		if a.Name == takesTrafficAlarm(east) {
			require.Equal(t, 10, a.Period)
			require.Equal(t, "ALARM", a.State)
		}
	}
	require.Error(t, l.SetTakesTrafficPeriod(7*time.Second))
}
