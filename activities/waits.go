package activities

import (
	"context"
	"time"
)

// The pauses activities take on purpose — between reads of a long poll, between a wait_until's
// checks — are time a step spends waiting for the world, not working. The failover
// benchmark (starter bench failover) reports its critical path with and without them, so these
// pauses go through pause, which tells an observer the context carries how long each lasted.

// DefaultPollInterval is a long poll's steady-state pause when neither the step nor the worker's
// options give one (CloudOptions.PollInterval).
const DefaultPollInterval = 5 * time.Second

type waitObserverKey struct{}

// WithWaitObserver returns ctx carrying observe, which every intentional pause of an activity run
// with the context reports its length to. A worker interceptor installs it (the benchmark's); the
// production worker installs none, and pauses then report to nobody.
func WithWaitObserver(ctx context.Context, observe func(time.Duration)) context.Context {
	return context.WithValue(ctx, waitObserverKey{}, observe)
}

// pause sleeps d or until ctx ends, whichever comes first, and reports the time slept to the
// context's wait observer. It returns ctx's error when ctx ended first.
func pause(ctx context.Context, d time.Duration) error {
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
	}
	if observe, ok := ctx.Value(waitObserverKey{}).(func(time.Duration)); ok {
		observe(time.Since(start))
	}
	return err
}

// FirstPollPause is a long poll's first pause for a poll at interval: 100 ms, or the interval if
// shorter. Most waits on a failover's critical path end within a second, and a whole interval
// before the first re-read would add that interval to the RTO.
func FirstPollPause(interval time.Duration) time.Duration {
	return min(100*time.Millisecond, interval)
}

// NextPollPause is the pause after one of prev: double, up to the interval (steady state).
// Every long poll of the activities (poll) and any baseline that claims to poll as they do
// (the failover benchmark's sequential procedure) takes its pauses from these two functions.
func NextPollPause(prev, interval time.Duration) time.Duration {
	return min(2*prev, interval)
}
