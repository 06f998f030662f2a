package kafkatwin

import (
	"sync"
	"time"
)

// secondWindow aggregates samples into one-second buckets so that "max over the last minute"
// and "bytes per second over the last ten seconds" — the shapes CloudWatch reports for
// ReplicationLatency (Maximum) and ReplicatorThroughput — cost constant memory however busy the
// replicator is.
type secondWindow struct {
	mu      sync.Mutex
	span    time.Duration
	buckets []bucket
	last    int64
	hasLast bool
}

type bucket struct {
	sec int64
	max int64
	sum int64
}

func newSecondWindow(span time.Duration) *secondWindow {
	return &secondWindow{span: span}
}

func (w *secondWindow) add(now time.Time, v int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sec := now.Unix()
	w.last, w.hasLast = v, true
	if k := len(w.buckets); k > 0 && w.buckets[k-1].sec == sec {
		b := &w.buckets[k-1]
		b.max = max(b.max, v)
		b.sum += v
		return
	}
	w.buckets = append(w.buckets, bucket{sec: sec, max: v, sum: v})
	w.pruneLocked(sec)
}

func (w *secondWindow) pruneLocked(nowSec int64) {
	oldest := nowSec - int64(w.span/time.Second) + 1
	i := 0
	for i < len(w.buckets) && w.buckets[i].sec < oldest {
		i++
	}
	if i > 0 {
		w.buckets = append(w.buckets[:0], w.buckets[i:]...)
	}
}

// stats returns the most recent sample, and the max and sum of the samples in the window
// ending at now.
func (w *secondWindow) stats(now time.Time) (last, maxV, sum int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pruneLocked(now.Unix())
	for _, b := range w.buckets {
		maxV = max(maxV, b.max)
		sum += b.sum
	}
	if w.hasLast {
		last = w.last
	}
	return last, maxV, sum
}
