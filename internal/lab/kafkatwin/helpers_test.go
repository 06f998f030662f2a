package kafkatwin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testLogger discards logs unless KAFKATWIN_LOG is set, which helps when debugging a drill.
func testLogger() *slog.Logger {
	if os.Getenv("KAFKATWIN_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestCluster(t testing.TB, region, name string) *Cluster {
	t.Helper()
	c, err := NewCluster(ClusterOptions{Region: region, Name: name, Logger: testLogger()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func newPair(t testing.TB) (primary, secondary *Cluster) {
	return newTestCluster(t, "us-east-1", "lab-msk-primary"), newTestCluster(t, "us-west-2", "lab-msk-secondary")
}

func newTestReplicator(t testing.TB, opts ReplicatorOptions) *Replicator {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 100 * time.Millisecond
	}
	if opts.OffsetSyncInterval == 0 {
		opts.OffsetSyncInterval = 100 * time.Millisecond
	}
	r, err := NewReplicator(opts)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, r.WaitForState(ctx, ReplicatorRunning))
	return r
}

// event is what the sample's producer writes, trimmed to what the tests look at.
type event struct {
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"`
	Source    string `json:"source_region"`
	Poison    bool   `json:"poison,omitempty"`
}

func eventValue(t testing.TB, ts time.Time, msg, region string) []byte {
	t.Helper()
	b, err := json.Marshal(event{Timestamp: ts.UTC().Format(time.RFC3339Nano), Message: msg, Source: region})
	require.NoError(t, err)
	return b
}

// produce writes n events named prefix-0..n-1, keyed so they spread over partitions.
func produce(t testing.TB, c *Cluster, prefix string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(clientOpts(c.Bootstrap(), kgo.DefaultProduceTopic(DefaultTopic))...)
	require.NoError(t, err)
	defer cl.Close()
	msgs := make([]string, n)
	recs := make([]*kgo.Record, n)
	for i := range n {
		msgs[i] = fmt.Sprintf("%s-%d", prefix, i)
		recs[i] = &kgo.Record{Key: []byte(msgs[i]), Value: eventValue(t, time.Now(), msgs[i], c.Region())}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
	return msgs
}

// topicRecords reads every record currently in the cluster's topic.
func topicRecords(t testing.TB, c *Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm, closeAdm := newAdmin(t, c)
	defer closeAdm()
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	want := int64(0)
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	ends.Each(func(o kadm.ListedOffset) {
		want += o.Offset
		offsets[topic][o.Partition] = kgo.NewOffset().AtStart()
	})
	if want == 0 {
		return nil
	}
	cl, err := kgo.NewClient(clientOpts(c.Bootstrap(), kgo.ConsumePartitions(offsets))...)
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for int64(len(out)) < want {
		f := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records from %s", len(out), want, c.Name())
		out = append(out, f.Records()...)
	}
	return out
}

func newAdmin(t testing.TB, c *Cluster) (*kadm.Client, func()) {
	t.Helper()
	cl, err := kgo.NewClient(clientOpts(c.Bootstrap())...)
	require.NoError(t, err)
	return kadm.NewClient(cl), cl.Close
}

func endOffsetSum(t testing.TB, c *Cluster) int64 {
	t.Helper()
	adm, done := newAdmin(t, c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, DefaultTopic)
	if err != nil || ends.Error() != nil {
		return -1
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// eventually polls cond until it holds or the deadline passes; cond's message explains the
// last failed check.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func messages(t testing.TB, recs []*kgo.Record) map[string]int {
	t.Helper()
	out := make(map[string]int, len(recs))
	for _, r := range recs {
		var ev event
		require.NoError(t, json.Unmarshal(r.Value, &ev))
		out[ev.Message]++
	}
	return out
}
