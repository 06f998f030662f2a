package lab

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// answeredRegions resolves the ingest record n times and returns the Regions answered.
func answeredRegions(t *testing.T, l *Lab, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		a, err := l.Router().Resolve(context.Background())
		require.NoError(t, err)
		out[a.Region]++
	}
	return out
}

func TestRoute53ControlPlaneLivesInUSEast1(t *testing.T) {
	l := startTestLab(t, func(o *Options) {
		o.InitialWeights = map[string]int64{east: 50, west: 50}
	})
	ctx := context.Background()
	westR53 := route53.NewFromConfig(sdkConfig(l, west))
	var mu sync.Mutex
	calls := map[string]int{} // Route 53 calls by the Region they were made into
	t.Cleanup(l.ObserveControlPlane(func(fc awstwin.FaultContext, _ awstwin.Fault) {
		mu.Lock()
		defer mu.Unlock()
		if fc.Service == awstwin.ServiceRoute53 {
			calls[fc.Region]++
			require.Equal(t, west, fc.Endpoint)
		}
	}))

	// Healthy: the call reaches us-west-2's endpoint and is served — by us-east-1.
	_, err := westR53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.NoError(t, err)
	mu.Lock()
	require.Equal(t, map[string]int{east: 1}, calls, "a Route 53 call is a call into us-east-1")
	mu.Unlock()

	_, err = l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	// Every control-plane operation fails as the impaired Region's other services do: no answer.
	for op, call := range map[string]func() error{
		"ListHostedZones": func() error { _, err := westR53.ListHostedZones(ctx, &route53.ListHostedZonesInput{}); return err },
		"ListResourceRecordSets": func() error {
			_, err := westR53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID)})
			return err
		},
		"ChangeResourceRecordSets": func() error {
			_, err := westR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
				ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
					Name: aws.String(RecordName), Type: r53types.RRTypeCname, SetIdentifier: aws.String(west), Weight: aws.Int64(100), TTL: aws.Int64(5),
					ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(ingestHost(west))}}}}}}})
			return err
		},
		"GetChange": func() error {
			_, err := westR53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("C0000000000000")})
			return err
		},
		"ListHealthChecks": func() error { _, err := westR53.ListHealthChecks(ctx, &route53.ListHealthChecksInput{}); return err },
	} {
		err := call()
		require.Error(t, err, op)
		var ae smithy.APIError
		require.False(t, errors.As(err, &ae), "%s: a dark Region answers nothing: %v", op, err)
	}
	w, err := l.Router().Weights(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{east: 50, west: 50}, w, "no change got through")
	// The data plane keeps answering, and us-west-2's own services are up.
	answered := answeredRegions(t, l, 40)
	require.Positive(t, answered[east], "%v", answered)
	require.Positive(t, answered[west], "%v", answered)
	_, err = kafka.NewFromConfig(sdkConfig(l, west)).ListClustersV2(ctx, &kafka.ListClustersV2Input{})
	require.NoError(t, err)
	mu.Lock()
	require.Zero(t, calls[west], "no Route 53 call counts for us-west-2")
	mu.Unlock()

	// Off (Options.Route53ControlPlaneAnywhere), Route 53 is exempt from impair-region, unlike AWS.
	l.SetGlobalControlPlaneInHomeRegion(false)
	_, err = westR53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.NoError(t, err)
}

func TestDNSHonoursHealthChecks(t *testing.T) {
	rcMu := sync.Mutex{}
	routingControls := map[string]bool{}
	l := startTestLab(t, func(o *Options) {
		o.RoutingControlState = func(arn string) (bool, bool) {
			rcMu.Lock()
			defer rcMu.Unlock()
			on, ok := routingControls[arn]
			return on, ok
		}
	})
	ctx := context.Background()
	eastR53 := route53.NewFromConfig(sdkConfig(l, east))
	westCW := cloudwatch.NewFromConfig(sdkConfig(l, west))

	// The health_check_metric lever: one alarm per record, both in us-west-2, the Region a
	// failover out of us-east-1 keeps; a third alarm lives in us-east-1.
	for _, a := range []struct{ region, name string }{{west, "east-in-service"}, {west, "west-in-service"}, {east, "east-local"}} {
		require.NoError(t, l.Twin().PutAlarm(a.region, awstwin.Alarm{Name: a.name, Namespace: "Switchyard/Traffic", MetricName: "InService",
			Statistic: "Minimum", Period: 10, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "LessThanThreshold",
			TreatMissingData: "ignore"})) // no datapoints: the state SetAlarmState gives stays
	}
	setAlarm := func(name string, state cwtypes.StateValue) {
		t.Helper()
		_, err := westCW.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("test")})
		require.NoError(t, err)
	}
	setAlarm("east-in-service", cwtypes.StateValueOk)
	setAlarm("west-in-service", cwtypes.StateValueOk)
	createCheck := func(ref string, cfg r53types.HealthCheckConfig) *string {
		t.Helper()
		out, err := eastR53.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String(ref), HealthCheckConfig: &cfg})
		require.NoError(t, err)
		return out.HealthCheck.Id
	}
	metricCheck := func(region, alarm string, insufficient r53types.InsufficientDataHealthStatus) r53types.HealthCheckConfig {
		return r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeCloudwatchMetric, InsufficientDataHealthStatus: insufficient,
			AlarmIdentifier: &r53types.AlarmIdentifier{Region: r53types.CloudWatchRegion(region), Name: aws.String(alarm)}}
	}
	attach := func(checks map[string]*string, weights map[string]int64) {
		t.Helper()
		var changes []r53types.Change
		for _, region := range []string{east, west} {
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(RecordName), Type: r53types.RRTypeCname, SetIdentifier: aws.String(region), Weight: aws.Int64(weights[region]),
				TTL: aws.Int64(5), HealthCheckId: checks[region], ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(ingestHost(region))}}}})
		}
		_, err := eastR53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(HostedZoneID),
			ChangeBatch: &r53types.ChangeBatch{Changes: changes}})
		require.NoError(t, err)
	}
	attach(map[string]*string{
		east: createCheck("east", metricCheck(west, "east-in-service", r53types.InsufficientDataHealthStatusLastKnownStatus)),
		west: createCheck("west", metricCheck(west, "west-in-service", r53types.InsufficientDataHealthStatusLastKnownStatus)),
	}, map[string]int64{east: 100, west: 0})
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20), "both healthy: the weights decide")

	// us-east-1 goes dark with its control plane: the health checks still move DNS.
	_, err := l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	_, err = eastR53.ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
	require.Error(t, err, "the control plane is down")
	setAlarm("east-in-service", cwtypes.StateValueAlarm)
	a, err := l.Router().Resolve(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{east: false, west: true}, a.Healthy)
	require.Equal(t, map[string]int{west: 20}, answeredRegions(t, l, 20),
		"the unhealthy weight-100 record is left out; the healthy weight-0 one answers")

	// Every record unhealthy: Route 53 fails open and answers by weight as if all were healthy.
	setAlarm("west-in-service", cwtypes.StateValueAlarm)
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
	setAlarm("west-in-service", cwtypes.StateValueOk)
	require.Equal(t, map[string]int{west: 20}, answeredRegions(t, l, 20))

	_, err = l.HealAll(ctx)
	require.NoError(t, err)

	// An alarm in a Region the checkers cannot read is insufficient data: here Unhealthy.
	setAlarm("east-in-service", cwtypes.StateValueOk)
	_, err = route53.NewFromConfig(sdkConfig(l, east)).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	require.NoError(t, err)
	_, err = cloudwatch.NewFromConfig(sdkConfig(l, east)).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("east-local"),
		StateValue: cwtypes.StateValueOk, StateReason: aws.String("test")})
	require.NoError(t, err)
	attach(map[string]*string{
		east: createCheck("east-local", metricCheck(east, "east-local", r53types.InsufficientDataHealthStatusUnhealthy)),
		west: createCheck("west-2", metricCheck(west, "west-in-service", r53types.InsufficientDataHealthStatusHealthy)),
	}, map[string]int64{east: 100, west: 0})
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
	_, err = l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	require.Equal(t, map[string]int{west: 20}, answeredRegions(t, l, 20), "us-east-1's alarm cannot be read: Unhealthy")
	_, err = l.HealAll(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))

	// RECOVERY_CONTROL checks follow the routing controls the lab is told about.
	const arnPrefix = "arn:aws:route53-recovery-control::000000000000:controlpanel/lab/routingcontrol/"
	attach(map[string]*string{
		east: createCheck("rc-east", r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String(arnPrefix + "east")}),
		west: createCheck("rc-west", r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeRecoveryControl, RoutingControlArn: aws.String(arnPrefix + "west")}),
	}, map[string]int64{east: 1, west: 1})
	setControls := func(eastOn, westOn bool) {
		rcMu.Lock()
		defer rcMu.Unlock()
		routingControls[arnPrefix+"east"], routingControls[arnPrefix+"west"] = eastOn, westOn
	}
	setControls(false, true)
	require.Equal(t, map[string]int{west: 20}, answeredRegions(t, l, 20))
	setControls(true, false)
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
	// The state becomes unknown (no ARC endpoint answers the checkers): the last status stays.
	l.SetRoutingControlState(nil)
	require.Equal(t, map[string]int{east: 20}, answeredRegions(t, l, 20))
}
