package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/lab"
)

// The MessageLag reader against the whole lab, whose monitor publishes MessageLag per partition
// as MSK does: with the replicator stopped and records in one of three partitions, two
// partitions are at 0 — the Minimum — and the replicator is 7 behind — the Sum.
func TestReplicatorLagAgainstTheLab(t *testing.T) {
	ctx := context.Background()
	l, c, _ := startLabCloud(t, lab.Options{ReplicatorCreateDelay: -1, MetricsInterval: 100 * time.Millisecond})
	const west, east = "us-west-2", "us-east-1"
	rep := l.InboundReplicator(west)
	require.NoError(t, rep.Stop(ctx))
	cl, err := kgo.NewClient(kgo.SeedBrokers(l.Cluster(east).Bootstrap()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	for i := range 7 {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: lab.Topic, Partition: 0, Value: fmt.Appendf(nil, `{"n":%d}`, i)}).FirstErr())
	}
	args := ReplicatorLagArgs{Environment: "lab", Region: west}
	var res ReplicatorLagResult
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			res, err = c.ReplicatorLag(ctx, args)
			require.NoError(t, err)
			if cond() {
				return
			}
			require.False(t, time.Now().After(deadline), "%s: last %+v", what, res)
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("MessageLag 7", func() bool { return res.MessageLag != nil && *res.MessageLag == 7 })
	require.False(t, res.OK, res.Reason)
	require.Equal(t, 3, res.Samples, "one datapoint per partition")

	rep.Resume()
	waitFor("caught up", func() bool { return res.OK })
	require.Equal(t, 0.0, *res.MessageLag)
}
