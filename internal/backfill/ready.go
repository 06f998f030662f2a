package backfill

import (
	"fmt"
	"strings"
	"time"
)

// This file is the one definition of "the recovered Region has caught up": the rules the
// msk.replicator_lag and msk.consumer_lag checks apply, the pipeline gates of backfill
// verification apply, and a reconciliation pass is judged by. They are pure functions of what
// was observed and of a Policy, so every caller decides the same way and a table test pins each
// rule. Callers observe (AWS calls, broker offsets, a pass); these functions only decide.

// DefaultMetricsLookback is how far back the replicator's MessageLag is looked for when the
// caller gives no lookback: ten periods of MSK's one-minute publication, so a replicator that
// publishes is always seen, and one that stopped publishing long ago is not trusted.
const DefaultMetricsLookback = 10 * time.Minute

// ReplicatorRunning is the ReplicatorState DescribeReplicator reports for a replicator that
// copies (kafkatypes.ReplicatorStateRunning, kept here so this package needs no AWS SDK).
const ReplicatorRunning = "RUNNING"

// Policy is what catching up tolerates. The zero Policy is the strict one backfill verification
// uses: no message lag, no consumer lag, no dead letters, no missing document.
type Policy struct {
	// MaxMessageLag is the highest replicator MessageLag (Sum over its partitions) that passes.
	MaxMessageLag int64
	// MaxLatency, when above 0, is the highest ReplicationLatency that passes; 0 does not check it.
	MaxLatency time.Duration
	// MaxConsumerLag is the highest consumer-group lag (over topics and partitions) that passes.
	MaxConsumerLag int64
	// AcceptDLQ lets dead-letter objects pass (they are still reported).
	AcceptDLQ bool
	// Tolerance is how many documents a reconciliation pass may find missing.
	Tolerance int64
}

// ReplicatorObservation is what was read of the replicator copying into the recovered Region.
type ReplicatorObservation struct {
	Name   string
	Region string
	// State is the ReplicatorState DescribeReplicator reported; "" when the caller did not
	// describe the replicator (msk.replicator_lag reads metrics only; msk.replicator_running is
	// the state check).
	State string
	// MessageLag is the Sum over partitions of the newest complete period; nil when CloudWatch
	// had no datapoint within Lookback.
	MessageLag *float64
	Samples    int
	At         time.Time
	// LatencyMS is ReplicationLatency's Maximum in that period; nil when absent.
	LatencyMS *float64
	Lookback  time.Duration
}

// ReplicatorCaughtUp: a replicator has caught up when, if its state is known, it is RUNNING (a
// stopped or failed replicator's last datapoints may read 0 while records wait), it has a
// MessageLag datapoint (none proves nothing), that MessageLag is at most MaxMessageLag, and, when
// MaxLatency is set, its ReplicationLatency is known and at most MaxLatency.
func ReplicatorCaughtUp(o ReplicatorObservation, p Policy) (bool, string) {
	name := fmt.Sprintf("replicator %s in %s", o.Name, o.Region)
	period := func() string {
		return fmt.Sprintf("Sum over %d datapoints of the period at %s", o.Samples, o.At.UTC().Format(time.TimeOnly))
	}
	maxLatencyMS := float64(p.MaxLatency.Milliseconds())
	switch {
	case o.State != "" && o.State != ReplicatorRunning:
		return false, fmt.Sprintf("%s is %s, not RUNNING", name, o.State)
	case o.MessageLag == nil:
		lookback := o.Lookback
		if lookback <= 0 {
			lookback = DefaultMetricsLookback
		}
		return false, fmt.Sprintf("%s has no MessageLag datapoints in the last %s", name, lookback)
	case *o.MessageLag > float64(p.MaxMessageLag):
		return false, fmt.Sprintf("%s: MessageLag %.0f > %d (%s)", name, *o.MessageLag, p.MaxMessageLag, period())
	case p.MaxLatency > 0 && o.LatencyMS == nil:
		return false, fmt.Sprintf("%s has no ReplicationLatency datapoints", name)
	case p.MaxLatency > 0 && *o.LatencyMS > maxLatencyMS:
		return false, fmt.Sprintf("%s: ReplicationLatency %.0f ms > %s", name, *o.LatencyMS, p.MaxLatency)
	}
	running := ""
	if o.State != "" {
		running = " RUNNING,"
	}
	return true, fmt.Sprintf("%s:%s MessageLag %.0f (%s)", name, running, *o.MessageLag, period())
}

// ConsumerObservation is what the brokers said of the recovered pipeline's consumer group.
type ConsumerObservation struct {
	Group  string
	Region string
	// Topics are every topic measured: the environment's and the replicator's copy topic.
	Topics []string
	// Lag is the total over topics and partitions.
	Lag int64
	// NotMeasurable, when set, says why the lag could not be measured (no group yet, nothing
	// committed, no brokers configured).
	NotMeasurable string
}

// ConsumerDrained: the consumer group has drained when its lag could be measured (a group with
// nothing committed proves nothing) and is at most MaxConsumerLag.
func ConsumerDrained(o ConsumerObservation, p Policy) (bool, string) {
	if o.NotMeasurable != "" {
		return false, o.NotMeasurable
	}
	on := strings.Join(o.Topics, ", ")
	switch {
	case o.Lag > p.MaxConsumerLag:
		return false, fmt.Sprintf("consumer group %s in %s is %d messages behind on %s", o.Group, o.Region, o.Lag, on)
	case o.Lag == 0:
		return true, fmt.Sprintf("consumer group %s in %s has consumed all of %s", o.Group, o.Region, on)
	}
	return true, fmt.Sprintf("consumer group %s in %s is %d messages behind on %s (at most %d pass)", o.Group, o.Region, o.Lag, on, p.MaxConsumerLag)
}

// DLQObservation counts the objects the recovered pipeline wrote to its dead-letter bucket since
// the window start.
type DLQObservation struct {
	// Bucket is "" when the Region has no dead-letter bucket configured.
	Bucket  string
	Region  string
	Since   time.Time
	Objects int64
	Bytes   int64
}

// DLQClear: each dead-letter object holds documents OpenSearch refused, which no replay brings
// back, so any object closes the gate unless the policy accepts them.
func DLQClear(o DLQObservation, p Policy) (bool, string) {
	since := o.Since.Format(time.RFC3339)
	switch {
	case o.Bucket == "":
		return true, "no dlq_bucket configured for " + o.Region
	case o.Objects == 0:
		return true, fmt.Sprintf("no dead-letter objects in %s since %s", o.Bucket, since)
	case p.AcceptDLQ:
		return true, fmt.Sprintf("%d dead-letter objects (%d bytes) in %s since %s, accepted", o.Objects, o.Bytes, o.Bucket, since)
	}
	return false, fmt.Sprintf("%d dead-letter objects (%d bytes) in %s since %s: documents the pipeline failed to write", o.Objects, o.Bytes, o.Bucket, since)
}

// PassConverged: a reconciliation pass converged when at most Tolerance documents are missing
// from the target (Report.Converged). Duplicates never block (MSK Replicator delivers at least
// once).
func PassConverged(r *Report, target string, p Policy) (bool, string) {
	if !r.Converged(p.Tolerance) {
		return false, fmt.Sprintf("%d documents missing from %s (tolerance %d)", r.MissingDocs(), target, p.Tolerance)
	}
	return true, fmt.Sprintf("%s holds every document of the window (%d compared, %d missing, tolerance %d)", target, r.DocsCompared, r.MissingDocs(), p.Tolerance)
}

// Observations are what a caller observed; nil parts were not observed and are not judged.
type Observations struct {
	Replicator *ReplicatorObservation
	Consumer   *ConsumerObservation
	DLQ        *DLQObservation
	// Pass is a completed reconciliation pass into Target.
	Pass   *Report
	Target string
}

// Ready judges every observed part with its rule. ok is true when each passes (and something
// was observed); reasons are the failing parts' reasons, in the order replicator, consumer,
// dead letters, pass — or, when ok, every part's reason.
func Ready(o Observations, p Policy) (ok bool, reasons []string) {
	var passed, failed []string
	judge := func(ok bool, reason string) {
		if ok {
			passed = append(passed, reason)
		} else {
			failed = append(failed, reason)
		}
	}
	if o.Replicator != nil {
		judge(ReplicatorCaughtUp(*o.Replicator, p))
	}
	if o.Consumer != nil {
		judge(ConsumerDrained(*o.Consumer, p))
	}
	if o.DLQ != nil {
		judge(DLQClear(*o.DLQ, p))
	}
	if o.Pass != nil {
		judge(PassConverged(o.Pass, o.Target, p))
	}
	if len(failed) > 0 {
		return false, failed
	}
	if len(passed) == 0 {
		return false, []string{"nothing observed: no proof of catching up"}
	}
	return true, passed
}
