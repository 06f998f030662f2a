package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	kafkatypes "github.com/aws/aws-sdk-go-v2/service/kafka/types"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// MSKClusterArgs is the input of msk.cluster_active.
type MSKClusterArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region of the cluster"`
	ClusterARN  string `json:"cluster_arn,omitempty" doc:"default: the Region's msk_cluster_arn"`
}

// MSKClusterResult is the output of msk.cluster_active.
type MSKClusterResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Name   string `json:"name"`
	ARN    string `json:"arn"`
	State  string `json:"state"`
	// Warnings say the cluster passed in a state other than ACTIVE (see mskClusterState).
	Warnings []string `json:"warnings,omitempty" doc:"set when the cluster serves in a state other than ACTIVE (HEALING, MAINTENANCE, REBOOTING_BROKER, UPDATING)"`
}

// ClusterActive checks that the Region's MSK cluster serves (DescribeClusterV2): ACTIVE passes,
// and so, with a warning, do the states in which MSK still produces and consumes (see
// mskClusterState).
func (c *Cloud) ClusterActive(ctx context.Context, in MSKClusterArgs) (MSKClusterResult, error) {
	t, err := c.target(in.Environment, in.Region)
	if err != nil {
		return MSKClusterResult{}, err
	}
	arn, err := orEnv(in.ClusterARN, t.rc.MSKClusterARN, "MSK cluster", "msk_cluster_arn", t.region)
	if err != nil {
		return MSKClusterResult{}, err
	}
	kc, err := c.opts.AWS.Kafka(ctx, t.aws)
	if err != nil {
		return MSKClusterResult{}, Permanent(err)
	}
	out, err := kc.DescribeClusterV2(ctx, &kafka.DescribeClusterV2Input{ClusterArn: aws.String(arn)})
	if err != nil {
		return MSKClusterResult{}, Wrap(err, "describe MSK cluster", arn, t.region)
	}
	res := MSKClusterResult{ARN: arn}
	if ci := out.ClusterInfo; ci != nil {
		res.Name, res.State = aws.ToString(ci.ClusterName), string(ci.State)
	}
	switch v := mskClusterState(res.State); {
	case v.Serves && v.Warning != "":
		res.OK, res.Reason = true, fmt.Sprintf("MSK cluster %s in %s is %s: %s", res.Name, t.region, res.State, v.Warning)
		res.Warnings = []string{res.Reason}
	case v.Serves:
		res.OK, res.Reason = true, fmt.Sprintf("MSK cluster %s in %s is ACTIVE", res.Name, t.region)
	default:
		res.Reason = fmt.Sprintf("MSK cluster %s in %s is %s, not ACTIVE", cmp.Or(res.Name, arn), t.region, cmp.Or(res.State, "of unknown state"))
	}
	return res, nil
}

// ReplicatorArgs is the input of msk.replicator_running.
type ReplicatorArgs struct {
	Environment   string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region        string `json:"region" catalog:"region,required" doc:"the Region the replicator copies into (it runs there)"`
	ReplicatorARN string `json:"replicator_arn,omitempty" doc:"default: the Region's inbound_replicator_arn"`
}

// ReplicatorResult is the output of msk.replicator_running.
type ReplicatorResult struct {
	OK             bool   `json:"ok"`
	Reason         string `json:"reason"`
	Name           string `json:"name"`
	ARN            string `json:"arn"`
	State          string `json:"state"`
	CurrentVersion string `json:"current_version"`
}

// ReplicatorRunning checks that the replicator copying into the Region is RUNNING
// (DescribeReplicator, in the Region that replicator runs in).
func (c *Cloud) ReplicatorRunning(ctx context.Context, in ReplicatorArgs) (ReplicatorResult, error) {
	t, err := c.target(in.Environment, in.Region)
	if err != nil {
		return ReplicatorResult{}, err
	}
	arn, err := orEnv(in.ReplicatorARN, t.rc.InboundReplicatorARN, "replicator", "inbound_replicator_arn", t.region)
	if err != nil {
		return ReplicatorResult{}, err
	}
	kc, err := c.opts.AWS.Kafka(ctx, t.aws)
	if err != nil {
		return ReplicatorResult{}, Permanent(err)
	}
	out, err := kc.DescribeReplicator(ctx, &kafka.DescribeReplicatorInput{ReplicatorArn: aws.String(arn)})
	if err != nil {
		return ReplicatorResult{}, Wrap(err, "describe replicator", arn, t.region)
	}
	res := ReplicatorResult{ARN: arn, Name: cmp.Or(aws.ToString(out.ReplicatorName), replicatorNameFromARN(arn)),
		State: string(out.ReplicatorState), CurrentVersion: aws.ToString(out.CurrentVersion)}
	if res.State == string(kafkatypes.ReplicatorStateRunning) {
		res.OK, res.Reason = true, fmt.Sprintf("replicator %s in %s is RUNNING", res.Name, t.region)
	} else {
		res.Reason = fmt.Sprintf("replicator %s in %s is %s, not RUNNING", res.Name, t.region, res.State)
		if si := out.StateInfo; si != nil && aws.ToString(si.Message) != "" {
			res.Reason += ": " + aws.ToString(si.Message)
		}
	}
	return res, nil
}

// ReplicatorLagArgs is the input of msk.replicator_lag.
type ReplicatorLagArgs struct {
	Environment    string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region         string           `json:"region" catalog:"region,required" doc:"the replicator's target Region, where MSK publishes its metrics"`
	ReplicatorARN  string           `json:"replicator_arn,omitempty" doc:"default: the Region's inbound_replicator_arn"`
	ReplicatorName string           `json:"replicator_name,omitempty" doc:"the ReplicatorName dimension; default: taken from the ARN"`
	MaxMessageLag  int64            `json:"max_message_lag,omitempty" doc:"highest MessageLag that passes (default 0: caught up)"`
	MaxLatency     runbook.Duration `json:"max_latency,omitempty" catalog:"duration" doc:"highest ReplicationLatency that passes; default: not checked"`
	Lookback       runbook.Duration `json:"lookback,omitempty" catalog:"duration" doc:"how far back to look for datapoints (default 10m)"`
}

// ReplicatorLagResult is the output of msk.replicator_lag. Missing metrics are null.
type ReplicatorLagResult struct {
	OK                   bool      `json:"ok"`
	Reason               string    `json:"reason"`
	Name                 string    `json:"name"`
	MessageLag           *float64  `json:"message_lag"`
	ReplicationLatencyMS *float64  `json:"replication_latency_ms"`
	At                   time.Time `json:"at,omitzero" doc:"time of the newest MessageLag datapoint"`
}

// ReplicatorLag reads the replicator's newest MessageLag and ReplicationLatency (namespace
// AWS/Kafka, dimension ReplicatorName) in its target Region, the only place MSK publishes them.
// MessageLag at or under the limit is the documented sign the replicator has caught up; no
// datapoint at all is not proof of anything, so it does not pass.
func (c *Cloud) ReplicatorLag(ctx context.Context, in ReplicatorLagArgs) (ReplicatorLagResult, error) {
	t, err := c.target(in.Environment, in.Region)
	if err != nil {
		return ReplicatorLagResult{}, err
	}
	name := in.ReplicatorName
	if name == "" {
		arn, err := orEnv(in.ReplicatorARN, t.rc.InboundReplicatorARN, "replicator", "inbound_replicator_arn", t.region)
		if err != nil {
			return ReplicatorLagResult{}, err
		}
		name = replicatorNameFromARN(arn)
	}
	cw, err := c.opts.AWS.CloudWatch(ctx, t.aws)
	if err != nil {
		return ReplicatorLagResult{}, Permanent(err)
	}
	m, err := readReplicatorMetrics(ctx, cw, name, cmp.Or(in.Lookback.D(), 10*time.Minute))
	if err != nil {
		return ReplicatorLagResult{}, Wrap(err, "read metrics of replicator", name, t.region)
	}
	res := ReplicatorLagResult{Name: name, MessageLag: m.messageLag, At: m.at, ReplicationLatencyMS: m.latencyMS}
	maxLatency := float64(in.MaxLatency.D().Milliseconds())
	switch {
	case res.MessageLag == nil:
		res.Reason = fmt.Sprintf("replicator %s in %s has no MessageLag datapoints in the last %s", name, t.region, cmp.Or(in.Lookback.D(), 10*time.Minute))
	case *res.MessageLag > float64(in.MaxMessageLag):
		res.Reason = fmt.Sprintf("replicator %s in %s: MessageLag %.0f > %d", name, t.region, *res.MessageLag, in.MaxMessageLag)
	case in.MaxLatency > 0 && res.ReplicationLatencyMS == nil:
		res.Reason = fmt.Sprintf("replicator %s in %s has no ReplicationLatency datapoints", name, t.region)
	case in.MaxLatency > 0 && *res.ReplicationLatencyMS > maxLatency:
		res.Reason = fmt.Sprintf("replicator %s in %s: ReplicationLatency %.0f ms > %s", name, t.region, *res.ReplicationLatencyMS, in.MaxLatency)
	default:
		res.OK, res.Reason = true, fmt.Sprintf("replicator %s in %s: MessageLag %.0f", name, t.region, *res.MessageLag)
	}
	return res, nil
}

// ConsumerLagArgs is the input of msk.consumer_lag.
type ConsumerLagArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region whose brokers to ask"`
	Group       string `json:"group,omitempty" doc:"default: the Region's consumer_group (the OSI pipeline's)"`
	Topic       string `json:"topic,omitempty" doc:"default: the environment's topic"`
	MaxLag      int64  `json:"max_lag,omitempty" doc:"highest lag that passes (default 0: drained)"`
}

// ConsumerLagResult is the output of msk.consumer_lag.
type ConsumerLagResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Group  string `json:"group"`
	Topic  string `json:"topic"`
	Lag    int64  `json:"lag"`
}

// ConsumerLag measures a consumer group's lag at the Region's brokers with kadm: the OSI
// pipeline's own Kafka-source metrics are not documented, while the brokers' committed offsets
// are exact. A group with nothing committed yet is not ok (nothing proves it drained); brokers
// that do not answer are a retryable RegionUnreachable error.
func (c *Cloud) ConsumerLag(ctx context.Context, in ConsumerLagArgs) (ConsumerLagResult, error) {
	t, err := c.target(in.Environment, in.Region)
	if err != nil {
		return ConsumerLagResult{}, err
	}
	group, err := orEnv(in.Group, t.rc.ConsumerGroup, "consumer group", "consumer_group", t.region)
	if err != nil {
		return ConsumerLagResult{}, err
	}
	topic := in.Topic
	if topic == "" && t.env.Topic == "" {
		return ConsumerLagResult{}, badArgs("no topic: pass one or set topic in environment %s", t.envName)
	}
	topic = cmp.Or(topic, t.env.Topic)
	res := ConsumerLagResult{Group: group, Topic: topic}
	adm, err := kafkaAdmin(ctx, c.opts.AWS, t.region, t.rc)
	if err != nil {
		return res, err
	}
	defer adm.Close()
	lag, err := groupLag(ctx, adm, t.region, t.rc, group, topic)
	var notReady backfillLagNotReady
	switch {
	case errors.As(err, &notReady):
		res.Reason = string(notReady)
		return res, nil
	case err != nil:
		return res, err
	}
	res.Lag = lag
	if lag > in.MaxLag {
		res.Reason = fmt.Sprintf("consumer group %s in %s is %d messages behind on %s", group, t.region, lag, topic)
	} else {
		res.OK, res.Reason = true, fmt.Sprintf("consumer group %s in %s is %d messages behind on %s", group, t.region, lag, topic)
	}
	return res, nil
}

// GroupIdleArgs is the input of msk.group_idle.
type GroupIdleArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region whose brokers to ask"`
	Group       string `json:"group,omitempty" doc:"default: the Region's consumer_group"`
}

// GroupIdleResult is the output of msk.group_idle.
type GroupIdleResult struct {
	OK      bool   `json:"ok"`
	Reason  string `json:"reason"`
	Group   string `json:"group"`
	State   string `json:"state"`
	Members int    `json:"members"`
}

// GroupIdle checks that a consumer group has no active members in the Region. MSK Replicator
// only commits translated offsets to a target group that is idle, so before consumers start in
// the failover Region this tells whether they will resume near where the others stopped.
func (c *Cloud) GroupIdle(ctx context.Context, in GroupIdleArgs) (GroupIdleResult, error) {
	t, err := c.target(in.Environment, in.Region)
	if err != nil {
		return GroupIdleResult{}, err
	}
	group, err := orEnv(in.Group, t.rc.ConsumerGroup, "consumer group", "consumer_group", t.region)
	if err != nil {
		return GroupIdleResult{}, err
	}
	adm, err := kafkaAdmin(ctx, c.opts.AWS, t.region, t.rc)
	if err != nil {
		return GroupIdleResult{}, err
	}
	defer adm.Close()
	state, members, err := groupMembers(ctx, adm, t.region, t.rc, group)
	if err != nil {
		return GroupIdleResult{}, err
	}
	res := GroupIdleResult{Group: group, State: state, Members: members}
	if members == 0 {
		res.OK, res.Reason = true, fmt.Sprintf("consumer group %s in %s has no active members (%s)", group, t.region, state)
	} else {
		res.Reason = fmt.Sprintf("consumer group %s in %s has %d active members (%s)", group, t.region, members, state)
	}
	return res, nil
}

// replicatorMetrics is the newest minute of a replicator's catch-up metrics; nil when absent.
type replicatorMetrics struct {
	messageLag, latencyMS *float64
	at                    time.Time
}

// readReplicatorMetrics reads MessageLag as the Minimum of each minute, and ReplicationLatency as
// its Maximum. Producers keep writing while a runbook waits for the replicator, so the lag is
// rarely 0 for a whole minute (a Maximum could wait forever on a busy topic); a 0 anywhere in the
// newest minute proves that everything produced before that moment reached the target, which is
// what a failback needs: the backfill proof that follows compares documents up to a settle delay
// before now. A replicator that stops shows in the next minute.
func readReplicatorMetrics(ctx context.Context, cw BackfillMetrics, name string, lookback time.Duration) (replicatorMetrics, error) {
	now := time.Now()
	dims := []cwtypes.Dimension{{Name: aws.String("ReplicatorName"), Value: aws.String(name)}}
	q := func(id, metric, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kafka"), MetricName: aws.String(metric), Dimensions: dims},
			Period: aws.Int32(60), Stat: aws.String(stat)}}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-lookback)), EndTime: aws.Time(now),
		ScanBy:            cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{q("lag", "MessageLag", "Minimum"), q("latency", "ReplicationLatency", "Maximum")},
	})
	if err != nil {
		return replicatorMetrics{}, err
	}
	var m replicatorMetrics
	for _, r := range out.MetricDataResults {
		if len(r.Values) == 0 {
			continue
		}
		v := r.Values[0] // newest first
		switch aws.ToString(r.Id) {
		case "lag":
			m.messageLag = &v
			if len(r.Timestamps) > 0 {
				m.at = r.Timestamps[0]
			}
		case "latency":
			m.latencyMS = &v
		}
	}
	return m, nil
}
