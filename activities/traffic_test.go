package activities

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab/arctwin"
	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// leverEnv writes environment name: the cloud lab's test environment with section added to its
// traffic mapping (a lever and its configuration).
func (l *cloudLab) leverEnv(t *testing.T, name, section string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(l.dir, "environments", labEnv+".yaml"))
	require.NoError(t, err)
	s := strings.Replace(string(src), "name: "+labEnv+"\n", "name: "+name+"\n", 1)
	s = strings.Replace(s, "zonal:\n", section+"zonal:\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(l.dir, "environments", name+".yaml"), []byte(s), 0o644))
}

// TestTrafficShiftWithRoute53Weights: the default lever moves the weighted records through
// route53.set_weights' logic, reads first, and a second shift changes nothing.
func TestTrafficShiftWithRoute53Weights(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	st, err := c.TrafficState(ctx, TrafficStateArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Equal(t, "route53_weights", st.Lever)
	require.Equal(t, []string{labEast}, st.Active)
	require.Equal(t, map[string]int64{labEast: 100, labWest: 0}, st.Weights)
	require.Contains(t, st.DNSNote, "traffic.resolver", "no resolver configured: the result says DNS was not read")

	res, err := c.TrafficShift(ctx, TrafficShiftArgs{Environment: labEnv, Region: labWest, Wait: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, "INSYNC", res.Status)
	require.Equal(t, map[string]int64{labEast: 100, labWest: 0}, res.PreviousWeights)
	require.Equal(t, map[string]string{labEast: "out", labWest: "in"}, res.States)
	st, err = c.TrafficState(ctx, TrafficStateArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.Equal(t, []string{labWest}, st.Active)

	l.takeCalls()
	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: labEnv, Region: labWest})
	require.NoError(t, err)
	require.False(t, res.Changed)
	for _, call := range l.takeCalls() {
		require.NotContains(t, call, "ChangeResourceRecordSets")
	}

	// A gradual move with weights; all-zero weights are refused.
	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: labEnv, Region: labEast, Weights: map[string]int64{labEast: 10, labWest: 90}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{labEast: "in", labWest: "in"}, res.States)
	_, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: labEnv, Region: labEast, Weights: map[string]int64{labEast: 0, labWest: 0}})
	requireNonRetryable(t, err, ErrBadArguments, "0")
}

// TestRoute53WeightsFailFastWithoutTheControlPlane: when Route 53's control plane does not
// answer (held requests, as a load balancer in front of an impaired us-east-1 does), traffic.state
// and traffic.shift fail after one short probe, not retryable, naming the reason and the
// data-plane levers; no change is sent. Without the probe the calls would wait for as long as
// the control plane holds them.
func TestRoute53WeightsFailFastWithoutTheControlPlane(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	l.mu.Lock()
	// Every Region: the twin may serve Route 53 from the caller's Region or from us-east-1.
	l.impaired = map[string]awstwin.FaultKind{labEast: awstwin.FaultTimeout, labWest: awstwin.FaultTimeout}
	l.faultOnly = "ListResourceRecordSets"
	l.mu.Unlock()

	_, err := l.cloud.TrafficState(ctx, TrafficStateArgs{Environment: labEnv, Region: labWest})
	requireNonRetryable(t, err, ErrControlPlaneUnavailable, "Route 53's control plane did not answer", "us-east-1", "arc_routing_control", "health_check_metric")
	_, err = l.cloud.TrafficShift(ctx, TrafficShiftArgs{Environment: labEnv, Region: labWest, Ungraceful: true, Wait: true})
	requireNonRetryable(t, err, ErrControlPlaneUnavailable, "lever route53_weights cannot move traffic")
	for _, call := range l.takeCalls() {
		require.NotContains(t, call, "ChangeResourceRecordSets")
	}

	// HTTP 500s are the control plane answering, badly: asked again, then left to the
	// activity's retries, never the permanent "did not answer".
	l.mu.Lock()
	l.impaired = map[string]awstwin.FaultKind{labEast: awstwin.FaultInternalError, labWest: awstwin.FaultInternalError}
	l.mu.Unlock()
	_, err = l.cloud.TrafficState(ctx, TrafficStateArgs{Environment: labEnv, Region: labWest})
	requireRetryable(t, err)
	require.NotContains(t, err.Error(), "did not answer")

	// An answer that refuses (access denied) is the control plane answering: not this error.
	l.mu.Lock()
	l.impaired = map[string]awstwin.FaultKind{labEast: awstwin.FaultAccessDenied, labWest: awstwin.FaultAccessDenied}
	l.mu.Unlock()
	_, err = l.cloud.TrafficState(ctx, TrafficStateArgs{Environment: labEnv, Region: labWest})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "did not answer")
}

// metricLever is the health_check_metric section of the lab environment: each Region's health
// check watches an alarm kept in the other Region.
const metricLever = `  lever: health_check_metric
  health_check_metric:
    namespace: Switchyard/Traffic
    metric_name: TakesTraffic
    checks:
      us-east-1: {health_check_id: hc-east, alarm_region: us-west-2, alarm_name: us-east-1-takes-traffic, dimensions: {Region: us-east-1}}
      us-west-2: {health_check_id: hc-west, alarm_region: us-east-1, alarm_name: us-west-2-takes-traffic, dimensions: {Region: us-west-2}}
`

// TestTrafficShiftWithHealthCheckMetric: taking us-east-1 out writes its metric (0) in
// us-west-2, where its alarm lives; an ungraceful shift with us-east-1 impaired calls nothing
// there and says which write it skipped; a missing alarm is a readable permanent error.
func TestTrafficShiftWithHealthCheckMetric(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	for region, alarm := range map[string]string{labWest: "us-east-1-takes-traffic", labEast: "us-west-2-takes-traffic"} {
		require.NoError(t, l.twin.PutAlarm(region, awstwin.Alarm{Name: alarm, Namespace: "Switchyard/Traffic", MetricName: "TakesTraffic",
			Statistic: "Minimum", Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "LessThanThreshold", TreatMissingData: "ignore"}))
		_, err := l.twin.SetAlarmState(region, alarm, "OK", "takes traffic")
		require.NoError(t, err)
	}
	// The records' health checks, which traffic.state asks Route 53 about.
	eastCheck, err := l.twin.CreateHealthCheck("", awstwin.HealthCheckConfig{Type: "CLOUDWATCH_METRIC", AlarmRegion: labWest, AlarmName: "us-east-1-takes-traffic"})
	require.NoError(t, err)
	westCheck, err := l.twin.CreateHealthCheck("", awstwin.HealthCheckConfig{Type: "CLOUDWATCH_METRIC", AlarmRegion: labEast, AlarmName: "us-west-2-takes-traffic"})
	require.NoError(t, err)
	lever := strings.NewReplacer("hc-east", eastCheck, "hc-west", westCheck).Replace(metricLever)
	l.leverEnv(t, "metric", lever)
	st, err := c.TrafficState(ctx, TrafficStateArgs{Environment: "metric", Region: labWest})
	require.NoError(t, err)
	require.Equal(t, []string{labEast, labWest}, st.Active)

	l.setFault(labEast, awstwin.FaultRegionImpaired, "")
	l.takeCalls()
	res, err := c.TrafficShift(ctx, TrafficShiftArgs{Environment: "metric", Region: labWest, Ungraceful: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, []string{"us-west-2/us-east-1-takes-traffic"}, res.Alarms)
	require.Len(t, res.Skipped, 1)
	require.Contains(t, res.Skipped[0], "us-east-1/us-west-2-takes-traffic")
	require.Contains(t, res.Summary, "evaluation period")
	for _, call := range l.takeCalls() {
		require.False(t, strings.HasPrefix(call, labEast+"/"), "an ungraceful shift called %s", call)
		require.NotContains(t, call, "route53", "no Route 53 call at all")
	}

	// The datum landed in us-west-2, under us-east-1's dimensions, with value 0.
	cw, err := c.opts.AWS.CloudWatch(ctx, awsclients.Region{Name: labWest, Endpoint: l.awsURL[labWest]})
	require.NoError(t, err)
	now := time.Now()
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"),
			Metric: &cwtypes.Metric{Namespace: aws.String("Switchyard/Traffic"), MetricName: aws.String("TakesTraffic"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Region"), Value: aws.String(labEast)}}}}}}})
	require.NoError(t, err)
	require.NotEmpty(t, out.MetricDataResults[0].Values, "no datum for us-east-1 in us-west-2")
	for _, v := range out.MetricDataResults[0].Values {
		require.Equal(t, 0.0, v)
	}

	// Once the alarm has followed, the same shift writes nothing.
	_, err = l.twin.SetAlarmState(labWest, "us-east-1-takes-traffic", "ALARM", "out")
	require.NoError(t, err)
	l.takeCalls()
	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "metric", Region: labWest, Ungraceful: true})
	require.NoError(t, err)
	require.False(t, res.Changed)
	for _, call := range l.takeCalls() {
		require.NotContains(t, call, "PutMetricData")
	}

	// Admitting us-east-1 back (failback) writes its 1 in us-west-2 and leaves us-west-2's alone.
	l.setFault("", awstwin.NoFault, "")
	l.takeCalls()
	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "metric", Region: labEast, Admit: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.Equal(t, []string{"us-west-2/us-east-1-takes-traffic"}, res.Alarms)
	var puts []string
	for _, call := range l.takeCalls() {
		if strings.HasSuffix(call, "/PutMetricData") {
			puts = append(puts, call)
		}
	}
	require.Equal(t, []string{labWest + "/monitoring/PutMetricData"}, puts)

	// An alarm that does not exist: a permanent error naming it, not a silent success.
	l.leverEnv(t, "metric-typo", strings.Replace(lever, "alarm_name: us-east-1-takes-traffic", "alarm_name: us-east-1-takes-trafic", 1))
	_, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "metric-typo", Region: labWest})
	requireNonRetryable(t, err, ErrPermanent, "us-east-1-takes-trafic", "does not exist in us-west-2")
}

// arcCluster is an ARC cluster twin with one routing control per lab Region (us-east-1 On,
// us-west-2 Off) and the lab environment "arc" whose lever names them.
type arcCluster struct {
	cluster           *arctwin.Cluster
	panel, east, west string
	section           string // the environment's traffic lever section
}

// arcLever starts the cluster (the clients sign its loopback endpoints with the lab's key pair,
// which the twin accepts) and writes the environment "arc".
func (l *cloudLab) arcLever(t *testing.T) arcCluster {
	t.Helper()
	cluster, err := arctwin.New(arctwin.Options{Account: "111122223333", Logger: l.cloud.opts.Logger})
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	a := arcCluster{cluster: cluster, panel: cluster.AddControlPanel("switchyard")}
	a.east, err = cluster.AddRoutingControl(a.panel, "east", true)
	require.NoError(t, err)
	a.west, err = cluster.AddRoutingControl(a.panel, "west", false)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("  lever: arc_routing_control\n  arc:\n    cluster_arn: " + cluster.ClusterARN() + "\n    endpoints:\n")
	for r, u := range cluster.Endpoints() {
		b.WriteString("      " + r + ": " + u + "\n")
	}
	b.WriteString("    routing_controls:\n      us-east-1: " + a.east + "\n      us-west-2: " + a.west + "\n")
	a.section = b.String()
	l.leverEnv(t, "arc", a.section)
	return a
}

// TestTrafficShiftWithARCRoutingControls drives the ARC cluster twin through the real SDK: one
// update sets both Regions' controls, a second shift changes nothing, the endpoint in the Region
// an ungraceful run leaves is not called, and a safety rule's refusal is permanent unless the
// run is ungraceful with force, which overrides it and records the rule.
func TestTrafficShiftWithARCRoutingControls(t *testing.T) {
	l := newCloudLab(t)
	ctx := context.Background()
	c := l.cloud
	a := l.arcLever(t)
	cluster, panel, east, west := a.cluster, a.panel, a.east, a.west

	st, err := c.TrafficState(ctx, TrafficStateArgs{Environment: "arc", Region: labWest})
	require.NoError(t, err)
	require.Equal(t, []string{labEast}, st.Active)

	eastBefore := cluster.Requests(labEast)
	res, err := c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labWest, Ungraceful: true})
	require.NoError(t, err)
	require.True(t, res.Changed)
	require.ElementsMatch(t, []string{east, west}, res.ChangedControls)
	on, _ := cluster.RoutingControlState(west)
	require.True(t, on)
	on, _ = cluster.RoutingControlState(east)
	require.False(t, on)
	updates := cluster.Updates()
	require.Len(t, updates, 1, "both controls in one call")
	require.Equal(t, "UpdateRoutingControlStates", updates[0].Op)
	require.Equal(t, eastBefore, cluster.Requests(labEast), "the ungraceful shift called the endpoint in us-east-1")

	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labWest})
	require.NoError(t, err)
	require.False(t, res.Changed)
	require.Len(t, cluster.Updates(), 1, "nothing to update the second time")

	// Admitting us-east-1 back turns its control On and leaves us-west-2's On.
	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labEast, Admit: true})
	require.NoError(t, err)
	require.Equal(t, []string{east}, res.ChangedControls)
	for _, rc := range []string{east, west} {
		on, _ = cluster.RoutingControlState(rc)
		require.True(t, on)
	}

	// Weights are for route53_weights only.
	_, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labEast, Weights: map[string]int64{labEast: 50, labWest: 50}})
	requireNonRetryable(t, err, ErrBadArguments, "route53_weights")

	// A gating rule that is closed refuses moving traffic back: permanent, naming the rule.
	gate, err := cluster.AddRoutingControl(panel, "gate", false)
	require.NoError(t, err)
	rule, err := cluster.AddGatingRule(arctwin.GatingRule{Name: "change-freeze", ControlPanelARN: panel, GatingControls: []string{gate},
		TargetControls: []string{east, west}, RuleConfig: arctwin.RuleConfig{Type: "OR", Threshold: 1}})
	require.NoError(t, err)
	_, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labEast})
	requireNonRetryable(t, err, ErrSafetyRule, rule, "ungraceful with force")
	on, _ = cluster.RoutingControlState(west)
	require.True(t, on, "refused: nothing moved")

	res, err = c.TrafficShift(ctx, TrafficShiftArgs{Environment: "arc", Region: labEast, Ungraceful: true, Force: true})
	require.NoError(t, err)
	require.Equal(t, []string{rule}, res.OverriddenSafetyRules)
	require.Contains(t, res.Summary, "FORCED")
	on, _ = cluster.RoutingControlState(west)
	require.False(t, on)
	last := cluster.Updates()[len(cluster.Updates())-1]
	require.Equal(t, []string{rule}, last.Overridden)

	// A routing control the cluster does not have: a permanent error, at the pre-flight's read.
	l.leverEnv(t, "arc-unknown", strings.Replace(a.section, west, panel+"/routingcontrol/0000000000000000", 1))
	_, err = c.TrafficState(ctx, TrafficStateArgs{Environment: "arc-unknown", Region: labWest})
	requireNonRetryable(t, err, ErrPermanent, "0000000000000000")
}

// serveDNS answers every query for name with a CNAME to target, over UDP on loopback, as the
// authoritative answer a resolver would pass on; it returns the server's host:port.
func serveDNS(t *testing.T, name, target string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	encode := func(n string) []byte {
		var b []byte
		for _, label := range strings.Split(strings.TrimSuffix(n, "."), ".") {
			b = append(b, byte(len(label)))
			b = append(b, label...)
		}
		return append(b, 0)
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			end := 12
			for end < len(q) && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 5 // the name's 0, qtype, qclass
			if end > len(q) {
				continue
			}
			qname := ""
			for i := 12; q[i] != 0; i += int(q[i]) + 1 {
				qname += string(q[i+1:i+1+int(q[i])]) + "."
			}
			resp := append([]byte{}, q[:end]...)
			resp[2], resp[3] = 0x84, 0x80 // QR, AA; RA
			resp[6], resp[7] = 0, 0       // ANCOUNT
			if strings.EqualFold(qname, name+".") {
				resp[7] = 1
				rdata := encode(target)
				resp = append(resp, 0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 5, byte(len(rdata)>>8), byte(len(rdata)))
				resp = append(resp, rdata...)
			} else {
				resp[3] |= 3 // NXDOMAIN
			}
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// TestTrafficStateReadsDNSAnswers: with traffic.resolver set, traffic.state resolves the record
// as a client would and reports the answer.
func TestTrafficStateReadsDNSAnswers(t *testing.T) {
	l := newCloudLab(t)
	addr := serveDNS(t, labRecordName, "ingest.us-west-2.lab.switchyard.internal")
	l.leverEnv(t, "dns", "  resolver: "+addr+"\n")
	st, err := l.cloud.TrafficState(context.Background(), TrafficStateArgs{Environment: "dns", Region: labWest})
	require.NoError(t, err)
	require.Empty(t, st.DNSNote)
	require.Equal(t, []string{"ingest.us-west-2.lab.switchyard.internal"}, st.DNSAnswers)
	require.Contains(t, st.Summary, "resolves to ingest.us-west-2")
}
