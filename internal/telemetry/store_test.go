package telemetry

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestRunbookStoreCountersAreExported(t *testing.T) {
	tel := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := tel.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var counts atomic.Pointer[StoreCounts] // read by the scrape's goroutine
	if err := tel.ObserveRunbookStore(func() StoreCounts { return *counts.Load() }); err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String() + MetricsPath
	for _, want := range []StoreCounts{{Reloads: 1, Parses: 9}, {Reloads: 3, Parses: 11}} {
		counts.Store(&want) // read at each scrape
		fams := scrape(t, url)
		if m := sample(fams, MetricRunbookStoreReloads, nil); m == nil || m.GetCounter().GetValue() != float64(want.Reloads) {
			t.Errorf("%s = %v, want a counter of %d", MetricRunbookStoreReloads, m, want.Reloads)
		}
		if m := sample(fams, MetricRunbookStoreParses, nil); m == nil || m.GetCounter().GetValue() != float64(want.Parses) {
			t.Errorf("%s = %v, want a counter of %d", MetricRunbookStoreParses, m, want.Parses)
		}
	}
}
