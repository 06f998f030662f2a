package activities

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
)

// The MessageLag reader against the whole lab, whose monitor publishes MessageLag per partition
// as MSK does: with the replicator stopped and records in one of three partitions, two
// partitions are at 0 — the Minimum — and the replicator is 7 behind — the Sum.
func TestReplicatorLagAgainstTheLab(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := lab.Start(startCtx, lab.Options{RandomPorts: true, ReplicatorCreateDelay: -1, MetricsInterval: 100 * time.Millisecond, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(l.Close)
	dir := t.TempDir()
	b, err := yaml.Marshal(l.Environment())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), b, 0o644))
	c := NewCloud(CloudOptions{RunbookDir: dir, Logger: quiet, AWS: awsclients.New(awsclients.Options{Logger: quiet,
		LoadOptions: []func(*config.LoadOptions) error{config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", ""))}})})

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
