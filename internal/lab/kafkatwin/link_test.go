package kafkatwin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPartitionedReplicatorStopsCopyingWhileBothClustersServeLocally(t *testing.T) {
	a, b := newPair(t)
	link := NewLink()
	r := newTestReplicator(t, ReplicatorOptions{Name: "lab-primary-to-secondary", Source: a, Target: b, SourceLink: link, FailAfter: 500 * time.Millisecond})

	produce(t, a, "before", 50)
	eventually(t, 20*time.Second, func() (bool, string) { n := endOffsetSum(t, b); return n == 50, fmt.Sprintf("%d of 50 copied", n) })

	link.SetUp(false)
	require.False(t, link.Up())
	// The source still takes writes from its own Region: only the path between Regions is gone.
	produce(t, a, "during", 80)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, r.WaitForState(ctx, ReplicatorFailed), "a replicator that cannot reach its source fails")
	require.EqualValues(t, 0, r.Metrics().KafkaClusterPingSuccessCount["lab-msk-primary"])
	require.EqualValues(t, 1, r.Metrics().KafkaClusterPingSuccessCount["lab-msk-secondary"])
	require.EqualValues(t, 50, endOffsetSum(t, b), "nothing crosses a partition")
	_, err := r.MessageLagContext(ctx)
	require.Error(t, err, "the lag cannot be measured from the far side of a partition")

	link.SetUp(true)
	require.NoError(t, r.WaitForState(ctx, ReplicatorRunning))
	eventually(t, 20*time.Second, func() (bool, string) {
		lag := r.MessageLag()
		return lag == 0, fmt.Sprintf("lag %d after healing", lag)
	})
	// At-least-once: a batch whose source commit was cut off may be copied again, but every
	// record produced on either side of the partition arrives.
	got := messages(t, topicRecords(t, b, DefaultTopic))
	require.Len(t, got, 130, "distinct records after healing")
	for i := range 80 {
		require.Positive(t, got[fmt.Sprintf("during-%d", i)], "during-%d", i)
	}
}
