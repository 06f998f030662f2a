package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
	"github.com/switchyard-dr/switchyard/internal/lab/kafkatwin"
)

// Metric namespaces and names the lab publishes.
const (
	nsKafka = "AWS/Kafka"
	nsOSIS  = "AWS/OSIS"
	// NSLab holds the lab's collection probe: AWS has no metric for "endpoint answers".
	NSLab = "Switchyard/Lab"
)

// monitor publishes each Region's metrics into the CloudWatch twin and evaluates the lab's
// alarms, one goroutine per Region so that an impaired Region's slow probes never delay the
// other's.
type monitor struct {
	l      *Lab
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
	// ticked is, by Region, when the last completed tick started (Unix nanoseconds), so tests can
	// await "the monitor has looked since" instead of sleeping.
	ticked map[string]*atomic.Int64
}

func startMonitor(l *Lab) *monitor {
	ctx, cancel := context.WithCancel(context.Background())
	m := &monitor{l: l, cancel: cancel, client: &http.Client{Timeout: time.Second}, ticked: map[string]*atomic.Int64{}}
	for _, name := range l.order {
		m.ticked[name] = new(atomic.Int64)
	}
	for _, name := range l.order {
		m.wg.Add(1)
		go m.run(ctx, l.regions[name])
	}
	return m
}

func (m *monitor) stop() {
	m.cancel()
	m.wg.Wait()
}

// alarmState tracks one alarm's condition between evaluations.
type alarmState struct {
	name           string
	breachingSince time.Time // zero while the condition does not hold
	state          string
	namespace      string
	metric         string
	dims           map[string]string
}

// regionMonitor is what the monitor remembers about one Region between ticks.
type regionMonitor struct {
	lastPipeline   kafkatwin.PipelineMetrics
	lastReplicator kafkatwin.ReplicatorMetrics
	alarms         map[string]*alarmState
	lags           *kafkatwin.LagReader
	// lagPublished is the ReplicatorMetricsPeriod bucket of the last MessageLag round.
	lagPublished time.Time
}

// ReplicatorMetricsPeriod is how often the lab publishes a round of MessageLag samples, one per
// partition: MSK publishes its replicator metrics once a minute, the lab once a second (as a
// high-resolution metric would be) so that drills do not wait minutes for a datapoint. The lab's
// environment tells the activities to read MessageLag at this period (RegionConfig.Replication
// .MetricsPeriod), so that each period they read holds exactly one round, as each minute does on
// AWS.
const ReplicatorMetricsPeriod = time.Second

// publishMessageLag publishes one round of MSK Replicator's MessageLag the way MSK does: its raw
// granularity is the partition and its aggregation statistic Sum, so each partition's lag is a
// sample of its own under the ReplicatorName dimension and, per topic, under ReplicatorName and
// Topic (https://docs.aws.amazon.com/msk/latest/developerguide/msk-replicator-metrics-ref.html).
// A period's Sum is then the replicator's total lag, while its Minimum is only the least-lagged
// partition's. A replicator with no topic to copy publishes a single 0.
func (m *monitor) publishMessageLag(region, replicator string, at time.Time, parts []kafkatwin.PartitionLag) {
	all := []float64{}
	byTopic := map[string][]float64{}
	var topics []string
	for _, p := range parts {
		all = append(all, float64(p.Lag))
		if _, ok := byTopic[p.Topic]; !ok {
			topics = append(topics, p.Topic)
		}
		byTopic[p.Topic] = append(byTopic[p.Topic], float64(p.Lag))
	}
	if len(all) == 0 {
		all = []float64{0}
	}
	m.l.twin.PutMetricValues(region, nsKafka, "MessageLag", map[string]string{"ReplicatorName": replicator}, at, all)
	for _, t := range topics {
		m.l.twin.PutMetricValues(region, nsKafka, "MessageLag", map[string]string{"ReplicatorName": replicator, "Topic": t}, at, byTopic[t])
	}
}

func (m *monitor) run(ctx context.Context, rg *region) {
	defer m.wg.Done()
	lags, err := kafkatwin.NewLagReader(rg.cluster.Bootstrap())
	if err != nil {
		m.l.log.Error("lab monitor cannot read consumer lag", "region", rg.name, "err", err)
		return
	}
	defer lags.Close()
	st := &regionMonitor{alarms: map[string]*alarmState{}, lags: lags}
	for _, a := range m.l.alarmDefs(rg) {
		st.alarms[a.Name] = &alarmState{name: a.Name, state: "INSUFFICIENT_DATA", namespace: a.Namespace, metric: a.MetricName, dims: a.Dimensions}
	}
	t := time.NewTicker(m.l.opts.MetricsInterval)
	defer t.Stop()
	for {
		started := time.Now()
		m.tick(ctx, rg, st)
		m.ticked[rg.name].Store(started.UnixNano())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *monitor) tick(ctx context.Context, rg *region, st *regionMonitor) {
	l := m.l
	now := time.Now()
	put := func(ns, name string, dims map[string]string, v float64) {
		l.twin.PutMetric(rg.name, ns, name, dims, now, v)
	}

	// OSI: Data Prepper counters are per-period counts, so publish what changed since the
	// last tick.
	pm := rg.pipeline.Metrics()
	pipeDims := map[string]string{"PipelineName": rg.pipeline.Name()}
	cur, prev := pm.CloudWatch(SubPipeline), st.lastPipeline.CloudWatch(SubPipeline)
	for name, v := range cur {
		put(nsOSIS, name, pipeDims, v-prev[name])
	}
	progressed := pm.DocumentsSuccess > st.lastPipeline.DocumentsSuccess
	st.lastPipeline = pm
	l.publishUsage(ctx, rg, put) // readiness.go: computeUnits, IndexingOCU, SearchOCU

	// MSK consumer lag of the pipeline's group (SumOffsetLag), which also tells the alarm
	// whether an idle pipeline has anything to do.
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	backlog, lagErr := st.lags.Lag(lctx, consumerGroup(rg.role), Topic)
	cancel()
	if lagErr == nil {
		put(nsKafka, "SumOffsetLag", map[string]string{"Cluster Name": clusterName(rg.role), "Consumer Group": consumerGroup(rg.role), "Topic": Topic}, float64(backlog))
	}

	// The inbound replicator's metrics live in its target Region, this one.
	rep := rg.inbound
	repDims := map[string]string{"ReplicatorName": rep.Name()}
	lctx, cancel = context.WithTimeout(ctx, time.Second)
	parts, msgLagErr := rep.PartitionLags(lctx)
	cancel()
	var msgLag int64
	for _, p := range parts {
		msgLag += p.Lag
	}
	rm := rep.Counters()
	if bucket := now.Truncate(ReplicatorMetricsPeriod); msgLagErr == nil && bucket.After(st.lagPublished) {
		st.lagPublished = bucket
		m.publishMessageLag(rg.name, rep.Name(), now, parts)
	}
	if rm.RecordsReplicated > st.lastReplicator.RecordsReplicated {
		put(nsKafka, "ReplicationLatency", repDims, float64(rm.ReplicationLatencyLastMillis))
		put(nsKafka, "ReplicationLatency", map[string]string{"ReplicatorName": rep.Name(), "Topic": Topic}, float64(rm.ReplicationLatencyLastMillis))
	}
	put(nsKafka, "ReplicatorThroughput", repDims, rm.ReplicatorThroughput)
	put(nsKafka, "ReplicatorBytesInPerSec", repDims, rm.ReplicatorBytesInPerSec)
	put(nsKafka, "ReplicationFailures", repDims, float64(rm.ReplicationFailures-st.lastReplicator.ReplicationFailures))
	put(nsKafka, "ConsumerGroupCount", repDims, float64(rm.ConsumerGroupCount))
	put(nsKafka, "ConsumerGroupOffsetSyncFailure", repDims, float64(rm.ConsumerGroupOffsetSyncFailure-st.lastReplicator.ConsumerGroupOffsetSyncFailure))
	for alias, ok := range rm.KafkaClusterPingSuccessCount {
		put(nsKafka, "KafkaClusterPingSuccessCount", map[string]string{"ReplicatorName": rep.Name(), "ClusterAlias": alias}, float64(ok))
	}
	st.lastReplicator = rm

	// The collection probe.
	reachable := m.probe(ctx, rg.osGW.URL())
	put(NSLab, "CollectionReachable", map[string]string{"CollectionName": collectionName(rg.role)}, boolFloat(reachable))
	// The other Region's collection, probed from here: a canary in this Region watching the
	// other's endpoint, so that an alarm about that Region is evaluated and delivered here while
	// that Region is down (see peerUnreachableAlarm).
	peer := l.regions[l.peer(rg.name)]
	peerReachable := m.probe(ctx, peer.osGW.URL())
	put(NSLab, "CollectionReachable", canaryDims(peer, rg.name), boolFloat(peerReachable))

	// An impaired Region's CloudWatch evaluates nothing and its EventBridge delivers nothing: its
	// alarms keep the state they had and send no event until it recovers. What is known about it
	// comes from the other Region's alarms. (AWS: a Region's CloudWatch and EventBridge are
	// Regional services, inside the Region's fault boundary —
	// https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/regional-services.html.)
	if l.regionImpaired(rg.name) {
		return
	}

	// Alarms.
	m.evaluate(rg, st.alarms[alarmUnreachable(peer.name)], now, !peerReachable,
		fmt.Sprintf("the collection endpoint of %s did not answer the canary in %s", peer.name, rg.name))
	m.evaluate(rg, st.alarms[alarmNotIngesting(rg.name)], now, (lagErr != nil || backlog > 0) && !progressed,
		fmt.Sprintf("no documents indexed while the consumer group has %s records waiting", lagText(backlog, lagErr)))
	m.evaluate(rg, st.alarms[alarmUnreachable(rg.name)], now, !reachable, "the collection endpoint did not answer the lab's probe")
	lagReason := fmt.Sprintf("MessageLag %d is above the threshold %d", msgLag, l.opts.ReplicationLagThreshold)
	if msgLagErr != nil {
		lagReason = "MessageLag could not be measured (missing data is treated as breaching): " + msgLagErr.Error()
	}
	m.evaluate(rg, st.alarms[alarmReplicationLag(rg.name)], now, msgLagErr != nil || msgLag > l.opts.ReplicationLagThreshold, lagReason)
}

// regionImpaired reports whether the lab impaired the Region.
func (l *Lab) regionImpaired(name string) bool {
	l.fmu.Lock()
	defer l.fmu.Unlock()
	return l.impaired[name]
}

// canaryDims are the dimensions of the canary metric about peer's collection published in
// region.
func canaryDims(peer *region, from string) map[string]string {
	return map[string]string{"CollectionName": collectionName(peer.role), "Region": peer.name, "ProbedFrom": from}
}

func lagText(n int64, err error) string {
	if err != nil {
		return "an unknown number of"
	}
	return fmt.Sprint(n)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *monitor) probe(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/"+IndexPattern+"/_count", nil)
	if err != nil {
		return false
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode < 500
}

// evaluate moves an alarm to ALARM once its condition has held for the alarm window, and back
// to OK as soon as it does not, sending an event on every change.
func (m *monitor) evaluate(rg *region, a *alarmState, now time.Time, breaching bool, reason string) {
	want := "OK"
	if breaching {
		if a.breachingSince.IsZero() {
			a.breachingSince = now
		}
		// Samples come from a ticker: a window of n intervals is n ticks apart, give or take the
		// ticker's jitter, which must not cost a whole extra interval (a 60 s window would fire
		// after 120 s). A tenth of an interval absorbs it.
		if now.Sub(a.breachingSince) >= m.l.opts.AlarmWindow-m.l.opts.MetricsInterval/10 {
			want = "ALARM"
		}
	} else {
		a.breachingSince = time.Time{}
	}
	if breaching && want == "OK" {
		return // not for long enough yet: keep the current state
	}
	if want == a.state {
		return
	}
	if want == "OK" {
		reason = "the condition no longer holds"
	} else {
		reason = fmt.Sprintf("Threshold Crossed: %s for %s", reason, m.l.opts.AlarmWindow)
	}
	ch, err := m.l.twin.SetAlarmState(rg.name, a.name, want, reason)
	if err != nil {
		m.l.log.Warn("lab alarm state", "alarm", a.name, "err", err)
		return
	}
	a.state = want
	ev := NewAlarmEvent(newEventID(), AccountID, rg.name, a.name, a.namespace, a.metric, a.dims, ch.PreviousState, want, reason, now)
	for _, q := range m.l.order {
		if _, err := m.l.twin.SendMessage(q, AlarmQueue, string(ev.JSON())); err != nil {
			m.l.log.Warn("lab alarm event", "alarm", a.name, "queue_region", q, "err", err)
		}
	}
	m.l.log.Info("lab alarm state changed", "alarm", a.name, "region", rg.name, "from", ch.PreviousState, "to", want, "reason", reason)
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// alarmDefs are a Region's alarms as DescribeAlarms shows them: its own three, and
// peerUnreachableAlarm about the other Region.
func (l *Lab) alarmDefs(rg *region) []awstwin.Alarm {
	win := int(math.Max(1, math.Ceil(l.opts.AlarmWindow.Seconds()/60)))
	return append(l.ownAlarmDefs(rg, win), l.peerUnreachableAlarm(rg, win))
}

// peerUnreachableAlarm is the alarm kept in rg about the other Region's collection, on the
// canary metric the monitor publishes in rg. It has the name of the other Region's own
// collection-unreachable alarm (alarm names are unique per Region, not across Regions), so the
// environment's alarms list and the trigger rules that name that alarm match it too; its ARN
// and event name rg, so rules must read the Region it is about from the environment
// (region_from: environment), not from the ARN. Why an alarm in the healthy Region rather than a
// cross-Region EventBridge target: when a Region is impaired its CloudWatch evaluates nothing and
// its EventBridge forwards nothing, so only an alarm evaluated elsewhere, on a measurement taken
// elsewhere, can report it (docs/reliability.md, "Alarms from the healthy Region").
func (l *Lab) peerUnreachableAlarm(rg *region, win int) awstwin.Alarm {
	peer := l.regions[l.peer(rg.name)]
	return awstwin.Alarm{
		Name: alarmUnreachable(peer.name),
		Description: fmt.Sprintf("Collection %s in %s did not answer the canary in %s for %s (kept in %s, which reports %s while it is down).",
			collectionName(peer.role), peer.name, rg.name, l.opts.AlarmWindow, rg.name, peer.name),
		Namespace: NSLab, MetricName: "CollectionReachable", Dimensions: canaryDims(peer, rg.name),
		Statistic: "Minimum", Period: 60, EvaluationPeriods: win, DatapointsToAlarm: win, Threshold: 1,
		ComparisonOperator: "LessThanThreshold", TreatMissingData: "breaching", ActionsEnabled: true,
	}
}

// ownAlarmDefs are the alarms about rg kept in rg.
func (l *Lab) ownAlarmDefs(rg *region, win int) []awstwin.Alarm {
	return []awstwin.Alarm{
		{
			Name: alarmNotIngesting(rg.name),
			Description: fmt.Sprintf("Pipeline %s indexed no documents for %s while its consumer group had a backlog (evaluated by the lab).",
				rg.pipeline.Name(), l.opts.AlarmWindow),
			Namespace: nsOSIS, MetricName: SubPipeline + ".opensearch.documentsSuccess.count",
			Dimensions: map[string]string{"PipelineName": rg.pipeline.Name()}, Statistic: "Sum", Period: 60,
			EvaluationPeriods: win, DatapointsToAlarm: win, Threshold: 1, ComparisonOperator: "LessThanThreshold",
			TreatMissingData: "breaching", ActionsEnabled: true,
		},
		{
			Name:        alarmUnreachable(rg.name),
			Description: fmt.Sprintf("Collection %s did not answer the lab's probe for %s.", collectionName(rg.role), l.opts.AlarmWindow),
			Namespace:   NSLab, MetricName: "CollectionReachable", Dimensions: map[string]string{"CollectionName": collectionName(rg.role)},
			Statistic: "Minimum", Period: 60, EvaluationPeriods: win, DatapointsToAlarm: win, Threshold: 1,
			ComparisonOperator: "LessThanThreshold", TreatMissingData: "breaching", ActionsEnabled: true,
		},
		{
			Name: alarmReplicationLag(rg.name),
			Description: fmt.Sprintf("Replicator %s (into %s) had MessageLag above %d, or none measurable, for %s.",
				rg.inbound.Name(), rg.name, l.opts.ReplicationLagThreshold, l.opts.AlarmWindow),
			Namespace: nsKafka, MetricName: "MessageLag", Dimensions: map[string]string{"ReplicatorName": rg.inbound.Name()},
			// Sum: MessageLag's documented aggregation, the replicator's total over its partitions.
			Statistic: "Sum", Period: 60, EvaluationPeriods: win, DatapointsToAlarm: win, Threshold: float64(l.opts.ReplicationLagThreshold),
			ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "breaching", ActionsEnabled: true,
		},
	}
}

// defineAlarms defines each Region's alarms. The monitor drives them ([awstwin.Alarm.Driven]):
// their conditions are not one metric against a threshold, and drills need them to fire after
// Options.AlarmWindow, not after the 60 s periods their definitions show.
func (l *Lab) defineAlarms() error {
	for _, name := range l.order {
		for _, a := range l.alarmDefs(l.regions[name]) {
			a.Driven = true
			if err := l.twin.PutAlarm(name, a); err != nil {
				return fmt.Errorf("lab: define alarm %s: %w", a.Name, err)
			}
		}
	}
	return nil
}
