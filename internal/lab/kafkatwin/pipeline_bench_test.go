package kafkatwin

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// BenchmarkPipelineIngest measures the data path a drill depends on: b.N producer events
// already in Kafka, drained by the OSI pipeline twin through _bulk into a serverless collection
// twin. ns/op is per document; docs/s is the ingest rate; heap-MiB/1M-docs is how much the live
// heap grew while the collection filled (the pipeline closed, the records already in Kafka
// before), scaled to a million documents; store-MiB/1M-docs is the collection's own estimate.
//
//	go test -run '^$' -bench PipelineIngest -benchtime 500000x ./internal/lab/kafkatwin/
func BenchmarkPipelineIngest(b *testing.B) {
	c := newTestCluster(b, "us-east-1", "lab-msk-primary")
	produceEvents(b, c, b.N)
	before := heapInUse() // Kafka holds the records already; only the collection grows from here

	coll := opensearchtwin.New(opensearchtwin.Options{Name: "lab-opensearch-primary", Mode: opensearchtwin.ModeServerless, Logger: testLogger()})
	srv := httptest.NewServer(coll.Handler())
	b.ResetTimer()
	start := time.Now()
	p, err := NewPipeline(PipelineOptions{Name: "lab-osi-primary", Cluster: c, GroupID: "osi-consumer-group-primary",
		OpenSearchURL: srv.URL, Logger: testLogger(), BatchSize: 5000})
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for coll.DocCount("application-logs-*") < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("indexed %d of %d documents", coll.DocCount("application-logs-*"), b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	p.Close()
	srv.Close()

	var storeBytes int64
	for _, st := range coll.Stats() {
		storeBytes += st.StoreBytes
	}
	after := heapInUse()
	runtime.KeepAlive(coll)
	perMillion := func(v float64) float64 { return v / float64(b.N) * 1e6 / (1 << 20) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(perMillion(max(float64(after)-float64(before), 0)), "heap-MiB/1M-docs")
	b.ReportMetric(perMillion(float64(storeBytes)), "store-MiB/1M-docs")
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// produceEvents writes n producer events (with event ids) as fast as the cluster takes them.
func produceEvents(b *testing.B, c *Cluster, n int) {
	b.Helper()
	cl, err := kgo.NewClient(clientOpts(c.Bootstrap(), kgo.DefaultProduceTopic(DefaultTopic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(50000))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const chunk = 10000
	recs := make([]*kgo.Record, 0, chunk)
	for i := 0; i < n; i++ {
		v, err := json.Marshal(labevent.New(uint64(i), base.Add(time.Duration(i)*3*time.Millisecond), "us-east-1", "bench", true))
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Value: v})
		if len(recs) == chunk || i == n-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
}
