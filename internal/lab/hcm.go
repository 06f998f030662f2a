package lab

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// The health_check_metric lever, as a team without an ARC cluster sets it up
// (runbooks/environments/example.yaml): for each Region a metric that says it takes traffic (1)
// or not (0), an alarm on that metric kept in the OTHER Region (ALARM below 1, missing data
// ignored: "The current alarm state is maintained" —
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data),
// and a Route 53 CLOUDWATCH_METRIC health check on that alarm. The check's
// InsufficientDataHealthStatus is LastKnownStatus: while the alarm's Region is impaired, the
// checkers cannot read it ("the status of the health check from the last time CloudWatch had
// sufficient data to determine the alarm state" —
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html), so the
// surviving Region, whose alarm lives in the impaired one, stays healthy as it last was. Taking
// us-east-1 out is then one PutMetricData of 0 in us-west-2: CloudWatch there fires the alarm,
// the checkers see it, and DNS leaves us-east-1 out — no call into us-east-1 and no Route 53
// control-plane call.

// Metric of the health_check_metric lever in the lab.
const (
	TakesTrafficNamespace = "Switchyard/Traffic"
	TakesTrafficMetric    = "TakesTraffic"
)

// TakesTrafficPeriod is the period of the lab's takes-traffic alarms. AWS's shortest alarm
// period is 10 s (a high-resolution alarm, evaluated every 10 s); the lab uses 1 s, a period its
// CloudWatch twin evaluates every second, so that drills do not wait for the alarm (as the lab's
// other alarm windows are short). A realistic latency profile sets AWS's 10 s with
// [Lab.SetTakesTrafficPeriod].
const TakesTrafficPeriod = time.Second

// Kinds of health check the lab's weighted records carry (Options.RecordHealthChecks).
const (
	// RecordChecksRecoveryControl ties each record to its Region's ARC routing control (the
	// default; lever arc_routing_control).
	RecordChecksRecoveryControl = awstwin.HealthCheckRecoveryControl
	// RecordChecksCloudWatchMetric ties each record to its Region's takes-traffic alarm in the
	// other Region (lever health_check_metric).
	RecordChecksCloudWatchMetric = awstwin.HealthCheckCloudWatchMetric
)

// hcmSetup is what the lab built for both levers' health checks.
type hcmSetup struct {
	mu sync.Mutex
	// kind is the kind of health check the records carry now.
	kind string
	// checks are the health check IDs by kind, then Region.
	checks map[string]map[string]string
}

// takesTrafficAlarm names the alarm that says whether region takes traffic; it lives in the
// other Region.
func takesTrafficAlarm(region string) string { return "lab-" + region + "-takes-traffic" }

// setUpHealthChecks creates, for each Region, the RECOVERY_CONTROL health check on its routing
// control and the takes-traffic alarm (in the other Region, with a first datapoint of 1) and the
// CLOUDWATCH_METRIC health check on it. Both kinds exist from the start; the records carry the
// kind Options.RecordHealthChecks names.
//
// Why one set of records whose checks can be switched ([Lab.SetRecordHealthChecks]) rather than
// a second record name for the health_check_metric lever: a Route 53 record carries one health
// check, and the lab's producers, its Router and the DNS answers a drill checks all follow
// RecordName. A second name would leave them following the ARC-controlled record, so a
// health_check_metric failover would move nothing anybody writes to. A team has one lever on its
// records; the lab is set up like the team the drill plays.
func (l *Lab) setUpHealthChecks() error {
	kind := l.opts.RecordHealthChecks
	if kind == "" {
		kind = RecordChecksRecoveryControl
	}
	if kind != RecordChecksRecoveryControl && kind != RecordChecksCloudWatchMetric {
		return fmt.Errorf("lab: Options.RecordHealthChecks is %q: want %s or %s", kind, RecordChecksRecoveryControl, RecordChecksCloudWatchMetric)
	}
	h := &hcmSetup{kind: kind, checks: map[string]map[string]string{RecordChecksRecoveryControl: {}, RecordChecksCloudWatchMetric: {}}}
	now := time.Now()
	for _, r := range l.order {
		id, err := l.recoveryHealthCheck(r)
		if err != nil {
			return err
		}
		h.checks[RecordChecksRecoveryControl][r] = id
		alarmRegion := l.peer(r)
		if err := l.putTakesTrafficAlarm(r, TakesTrafficPeriod); err != nil {
			return err
		}
		l.twin.PutMetric(alarmRegion, TakesTrafficNamespace, TakesTrafficMetric, map[string]string{"Region": r}, now, 1)
		id, err = l.twin.CreateHealthCheck("lab-takes-traffic-"+r, awstwin.HealthCheckConfig{Type: awstwin.HealthCheckCloudWatchMetric,
			AlarmRegion: alarmRegion, AlarmName: takesTrafficAlarm(r), InsufficientDataHealthStatus: awstwin.InsufficientDataLastKnownStatus})
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		h.checks[RecordChecksCloudWatchMetric][r] = id
	}
	l.hcm = h
	return nil
}

// putTakesTrafficAlarm defines (or redefines, keeping its state) the alarm that says whether r
// takes traffic, in the other Region.
func (l *Lab) putTakesTrafficAlarm(r string, period time.Duration) error {
	alarmRegion := l.peer(r)
	err := l.twin.PutAlarm(alarmRegion, awstwin.Alarm{
		Name:        takesTrafficAlarm(r),
		Description: fmt.Sprintf("%s takes traffic: ALARM takes its record out of DNS (Route 53 health check). Kept in %s, which is up when %s is down.", r, alarmRegion, r),
		Namespace:   TakesTrafficNamespace, MetricName: TakesTrafficMetric, Dimensions: map[string]string{"Region": r},
		Statistic: "Minimum", Period: int(period / time.Second), EvaluationPeriods: 1, DatapointsToAlarm: 1,
		Threshold: 1, ComparisonOperator: "LessThanThreshold", TreatMissingData: awstwin.MissingIgnore,
	})
	if err != nil {
		return fmt.Errorf("lab: takes-traffic alarm of %s: %w", r, err)
	}
	return nil
}

// SetTakesTrafficPeriod redefines the takes-traffic alarms with another period: 10 s is AWS's
// shortest (a high-resolution alarm, evaluated every 10 s —
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#high-resolution-alarms),
// what a realistic latency profile wants; the lab starts with TakesTrafficPeriod. Periods the
// CloudWatch twin does not evaluate (not 1, 5, 10, 20, 30 s or a multiple of 60 s) are refused.
func (l *Lab) SetTakesTrafficPeriod(period time.Duration) error {
	if period%time.Second != 0 || !slices.Contains([]time.Duration{1, 5, 10, 20, 30}, period/time.Second) && (period < time.Minute || period%time.Minute != 0) {
		return fmt.Errorf("lab: takes-traffic period %s: want 1, 5, 10, 20 or 30 s or a multiple of a minute", period)
	}
	for _, r := range l.order {
		if err := l.putTakesTrafficAlarm(r, period); err != nil {
			return err
		}
	}
	return nil
}

// recordHealthCheck is the health check Region r's record carries at start.
func (l *Lab) recordHealthCheck(r string) (string, error) {
	if l.hcm == nil {
		if err := l.setUpHealthChecks(); err != nil {
			return "", err
		}
	}
	return l.hcm.checks[l.hcm.kind][r], nil
}

// RecordHealthChecks is the kind of health check the weighted records carry now.
func (l *Lab) RecordHealthChecks() string {
	l.hcm.mu.Lock()
	defer l.hcm.mu.Unlock()
	return l.hcm.kind
}

// SetRecordHealthChecks puts health checks of the kind given on the weighted records,
// keeping everything else of them (weights included). It seeds the lab as its operator would
// have set it up before the drill, so it changes the records directly, not through Route 53's
// control plane: it works while us-east-1 is impaired and counts no call.
func (l *Lab) SetRecordHealthChecks(kind string) error {
	l.hcm.mu.Lock()
	defer l.hcm.mu.Unlock()
	ids, ok := l.hcm.checks[kind]
	if !ok {
		return fmt.Errorf("lab: record health checks %q: want %s or %s", kind, RecordChecksRecoveryControl, RecordChecksCloudWatchMetric)
	}
	records, err := l.twin.RecordSets(HostedZoneID)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	for _, rs := range records {
		id, mine := ids[rs.SetIdentifier]
		if rs.Name != RecordName+"." || !mine {
			continue
		}
		rs.HealthCheckID = id
		if err := l.twin.UpsertRecordSet(HostedZoneID, rs); err != nil {
			return fmt.Errorf("lab: health check of %s's record: %w", rs.SetIdentifier, err)
		}
	}
	l.hcm.kind = kind
	return nil
}

// ResetTakesTraffic writes 1 (takes traffic) for every Region into its alarm's Region, as the
// lab starts; the alarms follow after TakesTrafficPeriod.
func (l *Lab) ResetTakesTraffic() {
	now := time.Now()
	for _, r := range l.order {
		l.twin.PutMetric(l.peer(r), TakesTrafficNamespace, TakesTrafficMetric, map[string]string{"Region": r}, now, 1)
	}
}

// HealthCheckMetricEnvironment is this lab's environment under another name with the traffic
// lever health_check_metric: traffic.shift writes each Region's takes-traffic metric in the
// other Region, where its alarm lives, never calling Route 53's control plane. What a team
// without an ARC cluster writes (runbooks/environments/example.yaml). DNS follows only while the
// records carry these checks: [Lab.SetRecordHealthChecks](RecordChecksCloudWatchMetric).
func (l *Lab) HealthCheckMetricEnvironment(name string) *runbook.Environment {
	env := l.Environment()
	env.Name = name
	env.Traffic.Lever = runbook.LeverHealthCheckMetric
	env.Traffic.ARC = nil // one lever per environment: another's section is refused at load
	h := &runbook.HealthCheckMetricLever{Namespace: TakesTrafficNamespace, MetricName: TakesTrafficMetric, Checks: map[string]runbook.MetricHealthCheck{}}
	for _, r := range l.order {
		h.Checks[r] = runbook.MetricHealthCheck{HealthCheckID: l.hcm.checks[RecordChecksCloudWatchMetric][r], AlarmRegion: l.peer(r),
			AlarmName: takesTrafficAlarm(r), Dimensions: map[string]string{"Region": r}}
	}
	env.Traffic.HealthCheckMetric = h
	return env
}
