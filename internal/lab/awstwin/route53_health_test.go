package awstwin

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"
)

const routingControlARN = "arn:aws:route53-recovery-control::000000000000:controlpanel/abc/routingcontrol/def"

// healthStatus reads a check's status through GetHealthCheckStatus and requires every checker
// Region to agree.
func healthStatus(t *testing.T, r *route53.Client, id *string) bool {
	t.Helper()
	out, err := r.GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: id})
	require.NoError(t, err)
	require.Len(t, out.HealthCheckObservations, len(healthCheckerRegions))
	var healthy []bool
	for _, o := range out.HealthCheckObservations {
		require.NotNil(t, o.StatusReport)
		require.NotNil(t, o.StatusReport.CheckedTime)
		s := aws.ToString(o.StatusReport.Status)
		healthy = append(healthy, len(s) >= 8 && s[:8] == "Success:")
	}
	for _, h := range healthy {
		require.Equal(t, healthy[0], h, "the checkers agree")
	}
	return healthy[0]
}

func TestHealthChecksThroughSDK(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	r := route53.NewFromConfig(sdkConfig(lab.urls[west], west))
	cw := cloudwatch.NewFromConfig(sdkConfig(lab.urls[west], west))
	require.NoError(t, lab.twin.PutAlarm(west, Alarm{Name: "east-healthy", Namespace: "Switchyard", MetricName: "RegionHealthy",
		Dimensions: map[string]string{"Region": east}, Statistic: "Minimum", Period: 10, EvaluationPeriods: 1, Threshold: 1,
		ComparisonOperator: "LessThanThreshold"}))
	setAlarm := func(state cwtypes.StateValue) {
		t.Helper()
		_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("east-healthy"), StateValue: state, StateReason: aws.String("test")})
		require.NoError(t, err)
	}

	cfg := &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeCloudwatchMetric,
		AlarmIdentifier:              &r53types.AlarmIdentifier{Region: r53types.CloudWatchRegion(west), Name: aws.String("east-healthy")},
		InsufficientDataHealthStatus: r53types.InsufficientDataHealthStatusUnhealthy}
	created, err := r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("east-1"), HealthCheckConfig: cfg})
	require.NoError(t, err)
	hc := created.HealthCheck
	require.NotEmpty(t, aws.ToString(hc.Id))
	require.Equal(t, "https://route53.amazonaws.com/2013-04-01/healthcheck/"+aws.ToString(hc.Id), aws.ToString(created.Location))
	require.Equal(t, int64(1), aws.ToInt64(hc.HealthCheckVersion))
	require.Equal(t, r53types.HealthCheckTypeCloudwatchMetric, hc.HealthCheckConfig.Type)
	require.Equal(t, "east-healthy", aws.ToString(hc.HealthCheckConfig.AlarmIdentifier.Name))
	require.Equal(t, r53types.InsufficientDataHealthStatusUnhealthy, hc.HealthCheckConfig.InsufficientDataHealthStatus)
	require.NotNil(t, hc.CloudWatchAlarmConfiguration, "Route 53 copies the alarm's definition")
	require.Equal(t, "RegionHealthy", aws.ToString(hc.CloudWatchAlarmConfiguration.MetricName))
	require.Equal(t, r53types.ComparisonOperatorLessThanThreshold, hc.CloudWatchAlarmConfiguration.ComparisonOperator)
	require.Equal(t, []r53types.Dimension{{Name: aws.String("Region"), Value: aws.String(east)}}, hc.CloudWatchAlarmConfiguration.Dimensions)

	// The same CallerReference and settings return the same check; other settings conflict.
	again, err := r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("east-1"), HealthCheckConfig: cfg})
	require.NoError(t, err)
	require.Equal(t, aws.ToString(hc.Id), aws.ToString(again.HealthCheck.Id))
	other := *cfg
	other.Inverted = aws.Bool(true)
	_, err = r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("east-1"), HealthCheckConfig: &other})
	var exists *r53types.HealthCheckAlreadyExists
	require.ErrorAs(t, err, &exists)
	// A missing alarm, a missing AlarmIdentifier and an unimplemented type are refused.
	for _, bad := range []*r53types.HealthCheckConfig{
		{Type: r53types.HealthCheckTypeCloudwatchMetric, AlarmIdentifier: &r53types.AlarmIdentifier{Region: r53types.CloudWatchRegion(west), Name: aws.String("nope")}},
		{Type: r53types.HealthCheckTypeCloudwatchMetric},
		{Type: r53types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String("not-an-arn")},
		{Type: r53types.HealthCheckTypeHttp, FullyQualifiedDomainName: aws.String("example.com")},
	} {
		_, err = r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("bad-" + string(bad.Type)), HealthCheckConfig: bad})
		var invalid *r53types.InvalidInput
		require.ErrorAs(t, err, &invalid, "%+v", bad)
	}

	// Status follows the alarm: a new alarm has insufficient data (Unhealthy here), OK is
	// healthy, ALARM unhealthy.
	require.False(t, healthStatus(t, r, hc.Id), "INSUFFICIENT_DATA with InsufficientDataHealthStatus=Unhealthy")
	setAlarm(cwtypes.StateValueOk)
	require.True(t, healthStatus(t, r, hc.Id))
	setAlarm(cwtypes.StateValueAlarm)
	require.False(t, healthStatus(t, r, hc.Id))

	// A record can name the check; one naming a check that does not exist is refused.
	zoneID := lab.twin.CreateHostedZone("example.com", false)
	rec := weighted("app.example.com", "east", "10.0.0.1", 100)
	rec.ResourceRecordSet.HealthCheckId = hc.Id
	_, err = r.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{rec}}})
	require.NoError(t, err)
	rrs, err := r.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), StartRecordName: aws.String("app.example.com")})
	require.NoError(t, err)
	require.Equal(t, aws.ToString(hc.Id), aws.ToString(rrs.ResourceRecordSets[0].HealthCheckId))
	ghost := weighted("app.example.com", "west", "10.1.0.1", 0)
	ghost.ResourceRecordSet.HealthCheckId = aws.String("00000000-0000-4000-8000-000000000000")
	_, err = r.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{ghost}}})
	var noSuch *r53types.NoSuchHealthCheck
	require.ErrorAs(t, err, &noSuch)

	// RECOVERY_CONTROL follows the routing control the hook reports.
	rcState := map[string]bool{}
	var rcMu sync.Mutex
	lab.twin.SetHealthCheckHooks(HealthCheckHooks{RoutingControlState: func(arn string) (bool, bool) {
		rcMu.Lock()
		defer rcMu.Unlock()
		on, ok := rcState[arn]
		return on, ok
	}})
	rc, err := r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("rc"),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String(routingControlARN)}})
	require.NoError(t, err)
	require.Equal(t, routingControlARN, aws.ToString(rc.HealthCheck.HealthCheckConfig.RoutingControlArn))
	require.True(t, healthStatus(t, r, rc.HealthCheck.Id), "unknown state: a new check is healthy")
	rcMu.Lock()
	rcState[routingControlARN] = false
	rcMu.Unlock()
	require.False(t, healthStatus(t, r, rc.HealthCheck.Id), "Off")
	rcMu.Lock()
	delete(rcState, routingControlARN)
	rcMu.Unlock()
	require.False(t, healthStatus(t, r, rc.HealthCheck.Id), "unknown again: the last status stays")
	rcMu.Lock()
	rcState[routingControlARN] = true
	rcMu.Unlock()
	require.True(t, healthStatus(t, r, rc.HealthCheck.Id), "On")

	// List pages by marker; Get and Delete find the check by ID.
	page, err := r.ListHealthChecks(ctx, &route53.ListHealthChecksInput{MaxItems: aws.Int32(1)})
	require.NoError(t, err)
	require.True(t, page.IsTruncated)
	require.Equal(t, aws.ToString(hc.Id), aws.ToString(page.HealthChecks[0].Id))
	page, err = r.ListHealthChecks(ctx, &route53.ListHealthChecksInput{Marker: page.NextMarker})
	require.NoError(t, err)
	require.False(t, page.IsTruncated)
	require.Len(t, page.HealthChecks, 1)
	require.Equal(t, aws.ToString(rc.HealthCheck.Id), aws.ToString(page.HealthChecks[0].Id))
	got, err := r.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: rc.HealthCheck.Id})
	require.NoError(t, err)
	require.Equal(t, r53types.HealthCheckTypeRecoveryControl, got.HealthCheck.HealthCheckConfig.Type)
	_, err = r.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: rc.HealthCheck.Id})
	require.NoError(t, err)
	_, err = r.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: rc.HealthCheck.Id})
	require.ErrorAs(t, err, &noSuch)
	var re *smithyhttp.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusNotFound, re.HTTPStatusCode())
	_, err = r.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: rc.HealthCheck.Id})
	require.ErrorAs(t, err, &noSuch)
	// A deleted check's CallerReference cannot be reused.
	_, err = r.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("rc"),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String(routingControlARN)}})
	require.ErrorAs(t, err, &exists)
}

// TestInsufficientDataHealthStatus covers the three answers to an alarm without data — and to
// an alarm whose Region's CloudWatch the checkers cannot read.
func TestInsufficientDataHealthStatus(t *testing.T) {
	tw := New(Options{})
	t.Cleanup(tw.Close)
	require.NoError(t, tw.PutAlarm(east, Alarm{Name: "a"}))
	readable := true
	var mu sync.Mutex
	tw.SetHealthCheckHooks(HealthCheckHooks{AlarmReadable: func(region string) bool {
		mu.Lock()
		defer mu.Unlock()
		return region != east || readable
	}})
	ids := map[string]string{}
	for _, s := range []string{InsufficientDataHealthy, InsufficientDataUnhealthy, InsufficientDataLastKnownStatus} {
		id, err := tw.CreateHealthCheck("", HealthCheckConfig{Type: HealthCheckCloudWatchMetric, AlarmRegion: east, AlarmName: "a", InsufficientDataHealthStatus: s})
		require.NoError(t, err)
		ids[s] = id
	}
	status := func() map[string]bool {
		out := map[string]bool{}
		for s, id := range ids {
			h, ok := tw.HealthCheckHealthy(id)
			require.True(t, ok)
			out[s] = h
		}
		return out
	}
	// A new alarm has no data; LastKnownStatus of a new check is healthy.
	require.Equal(t, map[string]bool{"Healthy": true, "Unhealthy": false, "LastKnownStatus": true}, status())
	_, err := tw.SetAlarmState(east, "a", "ALARM", "test")
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"Healthy": false, "Unhealthy": false, "LastKnownStatus": false}, status())
	// Back to insufficient data: LastKnownStatus remembers ALARM.
	_, err = tw.SetAlarmState(east, "a", "INSUFFICIENT_DATA", "test")
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"Healthy": true, "Unhealthy": false, "LastKnownStatus": false}, status())
	// The alarm went OK and back to no data while nobody asked: the checkers saw it.
	_, err = tw.SetAlarmState(east, "a", "OK", "test")
	require.NoError(t, err)
	_, err = tw.SetAlarmState(east, "a", "INSUFFICIENT_DATA", "test")
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"Healthy": true, "Unhealthy": false, "LastKnownStatus": true}, status())
	// The alarm's Region cannot be read: insufficient data even though the alarm is in ALARM;
	// LastKnownStatus keeps OK, the last state the checkers could read.
	mu.Lock()
	readable = false
	mu.Unlock()
	_, err = tw.SetAlarmState(east, "a", "ALARM", "test")
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"Healthy": true, "Unhealthy": false, "LastKnownStatus": true}, status())
	mu.Lock()
	readable = true
	mu.Unlock()
	require.Equal(t, map[string]bool{"Healthy": false, "Unhealthy": false, "LastKnownStatus": false}, status())
}

// TestRoute53ControlPlaneHome: once the control plane has a home, the fault hook sees every
// Route 53 call as a call into it, whichever Region's endpoint received it; other services
// keep the endpoint's Region.
func TestRoute53ControlPlaneHome(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	var mu sync.Mutex
	var seen []FaultContext
	lab.twin.SetFaultHook(func(fc FaultContext) Fault {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fc)
		if fc.Service == ServiceRoute53 && fc.Region == east {
			return Fault{Kind: FaultRegionImpaired}
		}
		return Fault{}
	})
	r := route53.NewFromConfig(sdkConfig(lab.urls[west], west))
	_, err := r.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.NoError(t, err, "no home: the call is a call into us-west-2")

	lab.twin.SetRoute53Home(east)
	_, err = r.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "a dark Region answers nothing: %v", err)
	_, err = cloudwatch.NewFromConfig(sdkConfig(lab.urls[west], west)).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, FaultContext{Region: west, Endpoint: west, Service: ServiceRoute53, Operation: "ListHostedZones", Protocol: "restXml"}, seen[0])
	require.Equal(t, FaultContext{Region: east, Endpoint: west, Service: ServiceRoute53, Operation: "ListHostedZones", Protocol: "restXml"}, seen[1])
	last := seen[len(seen)-1]
	require.Equal(t, ServiceCloudWatch, last.Service)
	require.Equal(t, west, last.Region)
}
