package arctwin

import (
	"context"
	"strings"
	"time"
)

// SetUpdateLatency makes every UpdateRoutingControlState(s) call take d before the cluster
// applies and answers it (0: at once, the default). Benchmarks use it to model the time an
// update spends between the caller and the cluster's quorum: AWS documents the call as
// synchronous (the state is committed when it answers:
// https://docs.aws.amazon.com/routing-control/latest/APIReference/API_UpdateRoutingControlStates.html)
// but publishes no latency figure, so the value is the benchmark profile's (internal/lab
// profile.go). Reads (Get, List) are not delayed.
func (c *Cluster) SetUpdateLatency(d time.Duration) { c.updateLatency.Store(int64(max(d, 0))) }

// UpdateLatency is what SetUpdateLatency set.
func (c *Cluster) UpdateLatency() time.Duration { return time.Duration(c.updateLatency.Load()) }

// HeldUpdates is how many update calls are waiting out the update latency now: a test that
// abandons a held update waits for it to be held first, or its request may reach the cluster
// after the latency changed and be applied (as AWS would apply a request its caller gave up on).
func (c *Cluster) HeldUpdates() int { return int(c.heldUpdates.Load()) }

// delayUpdate waits the update latency before an update operation is applied. It says false
// when the caller went away (or the cluster closed) meanwhile: the update then never reached
// the cluster and changes nothing.
func (c *Cluster) delayUpdate(ctx context.Context, op string) bool {
	d := c.UpdateLatency()
	if d <= 0 || !strings.HasPrefix(op, "UpdateRoutingControlState") {
		return true
	}
	c.heldUpdates.Add(1)
	defer c.heldUpdates.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-c.closed:
	}
	return false
}
