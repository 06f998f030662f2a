package backfill

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func f64(v float64) *float64 { return &v }

func TestReplicatorCaughtUp(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 4, 0, 0, time.UTC)
	base := ReplicatorObservation{Name: "r", Region: "us-west-2", MessageLag: f64(0), Samples: 3, At: at}
	with := func(f func(*ReplicatorObservation)) ReplicatorObservation { o := base; f(&o); return o }
	for _, tc := range []struct {
		name   string
		obs    ReplicatorObservation
		policy Policy
		ok     bool
		reason string
	}{
		{"caught up, state not observed", base, Policy{}, true, "replicator r in us-west-2: MessageLag 0 (Sum over 3 datapoints of the period at 10:04:00)"},
		{"caught up and RUNNING", with(func(o *ReplicatorObservation) { o.State = "RUNNING" }), Policy{}, true, "RUNNING, MessageLag 0"},
		{"a FAILED replicator reading 0 is not caught up", with(func(o *ReplicatorObservation) { o.State = "FAILED" }), Policy{}, false, "replicator r in us-west-2 is FAILED, not RUNNING"},
		{"no datapoint proves nothing", with(func(o *ReplicatorObservation) { o.MessageLag = nil }), Policy{}, false, "no MessageLag datapoints in the last 10m0s"},
		{"the caller's lookback is named", with(func(o *ReplicatorObservation) { o.MessageLag, o.Lookback = nil, time.Hour }), Policy{}, false, "in the last 1h0m0s"},
		{"lag above 0", with(func(o *ReplicatorObservation) { o.MessageLag = f64(12) }), Policy{}, false, "MessageLag 12 > 0 (Sum over 3 datapoints"},
		{"lag at the limit passes", with(func(o *ReplicatorObservation) { o.MessageLag = f64(12) }), Policy{MaxMessageLag: 12}, true, "MessageLag 12"},
		{"latency not checked by default", with(func(o *ReplicatorObservation) { o.LatencyMS = f64(9000) }), Policy{}, true, "MessageLag 0"},
		{"latency checked but absent", base, Policy{MaxLatency: time.Second}, false, "has no ReplicationLatency datapoints"},
		{"latency above the limit", with(func(o *ReplicatorObservation) { o.LatencyMS = f64(850) }), Policy{MaxLatency: 500 * time.Millisecond}, false, "ReplicationLatency 850 ms > 500ms"},
		{"latency within the limit", with(func(o *ReplicatorObservation) { o.LatencyMS = f64(450) }), Policy{MaxLatency: 500 * time.Millisecond}, true, "MessageLag 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := ReplicatorCaughtUp(tc.obs, tc.policy)
			require.Equal(t, tc.ok, ok, reason)
			require.Contains(t, reason, tc.reason)
		})
	}
}

func TestConsumerDrained(t *testing.T) {
	base := ConsumerObservation{Group: "g", Region: "us-east-1", Topics: []string{"events", "east.events"}}
	for _, tc := range []struct {
		name   string
		obs    ConsumerObservation
		policy Policy
		ok     bool
		reason string
	}{
		{"drained", base, Policy{}, true, "consumer group g in us-east-1 has consumed all of events, east.events"},
		{"behind", ConsumerObservation{Group: "g", Region: "us-east-1", Topics: []string{"events"}, Lag: 7}, Policy{}, false, "is 7 messages behind on events"},
		{"behind within max", ConsumerObservation{Group: "g", Region: "us-east-1", Topics: []string{"events"}, Lag: 5}, Policy{MaxConsumerLag: 5}, true, "5 messages behind on events (at most 5 pass)"},
		{"not measurable is not drained", ConsumerObservation{NotMeasurable: "group g has committed no offsets"}, Policy{MaxConsumerLag: 100}, false, "group g has committed no offsets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := ConsumerDrained(tc.obs, tc.policy)
			require.Equal(t, tc.ok, ok, reason)
			require.Contains(t, reason, tc.reason)
		})
	}
}

func TestDLQClear(t *testing.T) {
	since := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		obs    DLQObservation
		policy Policy
		ok     bool
		reason string
	}{
		{"no bucket configured", DLQObservation{Region: "us-east-1", Objects: 3}, Policy{}, true, "no dlq_bucket configured for us-east-1"},
		{"empty", DLQObservation{Bucket: "dlq", Since: since}, Policy{}, true, "no dead-letter objects in dlq since 2026-12-06T09:00:00Z"},
		{"objects close the gate", DLQObservation{Bucket: "dlq", Since: since, Objects: 2, Bytes: 80}, Policy{}, false, "2 dead-letter objects (80 bytes) in dlq since 2026-12-06T09:00:00Z: documents the pipeline failed to write"},
		{"accepted objects pass, still reported", DLQObservation{Bucket: "dlq", Since: since, Objects: 2, Bytes: 80}, Policy{AcceptDLQ: true}, true, "2 dead-letter objects (80 bytes) in dlq since 2026-12-06T09:00:00Z, accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := DLQClear(tc.obs, tc.policy)
			require.Equal(t, tc.ok, ok, reason)
			require.Equal(t, tc.reason, reason)
		})
	}
}

func TestPassConverged(t *testing.T) {
	missing := func(n int64) *Report {
		return &Report{Scope: Scope{IDField: "event_id"}, DocsCompared: 100, Missing: IDList{Total: n}}
	}
	ok, reason := PassConverged(missing(0), "us-east-1", Policy{})
	require.True(t, ok, reason)
	ok, reason = PassConverged(missing(3), "us-east-1", Policy{})
	require.False(t, ok)
	require.Equal(t, "3 documents missing from us-east-1 (tolerance 0)", reason)
	ok, reason = PassConverged(missing(3), "us-east-1", Policy{Tolerance: 3})
	require.True(t, ok, reason)
	require.Equal(t, missing(3).Converged(3), ok, "the report's own rule agrees")
}

func TestReady(t *testing.T) {
	caught := &ReplicatorObservation{Name: "r", Region: "us-east-1", State: "RUNNING", MessageLag: f64(0)}
	behind := &ReplicatorObservation{Name: "r", Region: "us-east-1", State: "RUNNING", MessageLag: f64(4)}
	drained := &ConsumerObservation{Group: "g", Region: "us-east-1", Topics: []string{"events"}}
	dead := &DLQObservation{Bucket: "dlq", Objects: 1}
	for _, tc := range []struct {
		name    string
		obs     Observations
		policy  Policy
		ok      bool
		reasons int
		first   string
	}{
		{"nothing observed proves nothing", Observations{}, Policy{}, false, 1, "nothing observed"},
		{"all gates open", Observations{Replicator: caught, Consumer: drained, DLQ: &DLQObservation{Bucket: "dlq"}}, Policy{}, true, 3, "replicator r"},
		{"only the closed gates are reasons", Observations{Replicator: behind, Consumer: drained, DLQ: dead}, Policy{}, false, 2, "MessageLag 4 > 0"},
		{"the policy opens them", Observations{Replicator: behind, Consumer: drained, DLQ: dead}, Policy{MaxMessageLag: 4, AcceptDLQ: true}, true, 3, "replicator r"},
		{"a pass with missing documents", Observations{Replicator: caught, Pass: &Report{MissingEstimate: 2}, Target: "us-east-1"}, Policy{}, false, 1, "2 documents missing from us-east-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reasons := Ready(tc.obs, tc.policy)
			require.Equal(t, tc.ok, ok, "%v", reasons)
			require.Len(t, reasons, tc.reasons)
			require.Contains(t, reasons[0], tc.first)
		})
	}
}
