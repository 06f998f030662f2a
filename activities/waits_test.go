package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPollPausesDoubleFromAHundredMillisecondsUpToTheInterval(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		want     []time.Duration
	}{
		{interval: time.Second, want: []time.Duration{100, 200, 400, 800, 1000, 1000}},
		{interval: 5 * time.Second, want: []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}},
		{interval: 50 * time.Millisecond, want: []time.Duration{50, 50, 50}},
		{interval: 300 * time.Millisecond, want: []time.Duration{100, 200, 300, 300}},
	} {
		var got []time.Duration
		p := FirstPollPause(tc.interval)
		for range tc.want {
			got = append(got, p/time.Millisecond)
			p = NextPollPause(p, tc.interval)
		}
		require.Equal(t, tc.want, got, "interval %s", tc.interval)
	}
}

// A long poll reports each pause it takes to the context's observer, and only its pauses: a
// read that is done at once reports none.
func TestPollReportsItsPausesToTheWaitObserver(t *testing.T) {
	var waits []time.Duration
	ctx := WithWaitObserver(context.Background(), func(d time.Duration) { waits = append(waits, d) })
	reads := 0
	err := poll(ctx, pollOptions{interval: 20 * time.Millisecond, timeout: time.Minute, what: "test"}, func(context.Context) (bool, string, error) {
		reads++
		return reads == 3, "not yet", nil
	})
	require.NoError(t, err)
	require.Len(t, waits, 2)
	for _, w := range waits {
		require.GreaterOrEqual(t, w, 20*time.Millisecond)
	}

	waits = nil
	require.NoError(t, poll(ctx, pollOptions{interval: 20 * time.Millisecond, timeout: time.Minute, what: "test"}, func(context.Context) (bool, string, error) {
		return true, "", nil
	}))
	require.Empty(t, waits)

	// Without an observer a pause reports to nobody, and a cancelled context ends it.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, pause(cctx, time.Hour), context.Canceled)
}
