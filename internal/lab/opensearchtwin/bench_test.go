package opensearchtwin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// Benchmarks for the store at lab scale. The data set is the producer's 12-field log event
// with an event_id; OPENSEARCHTWIN_BENCH_DOCS sets its size (default one million; the lab's
// target is ten million).
//
//	go test ./internal/lab/opensearchtwin/ -run '^$' -bench . -benchtime 3x

func benchDocs() int {
	if s := os.Getenv("OPENSEARCHTWIN_BENCH_DOCS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

// eventBatch renders n events starting at sequence number start, ~3 ms apart.
func eventBatch(start, n int) [][]byte {
	docs := make([][]byte, n)
	for i := range docs {
		seq := start + i
		e := labevent.New(uint64(seq), base.Add(time.Duration(seq)*3*time.Millisecond), "us-east-1", "bench", true)
		docs[i], _ = json.Marshal(e)
	}
	return docs
}

var (
	seeded     *fixture
	seededOnce sync.Once
	seededN    int
)

// seededFixture returns a twin holding benchDocs() events in one index, built once per process.
func seededFixture(b *testing.B) *fixture {
	seededOnce.Do(func() {
		seededN = benchDocs()
		// Not newFixture: the fixture outlives the benchmark that happens to build it.
		c := opensearchtwin.New(opensearchtwin.Options{Logger: quietLogger()})
		srv := httptest.NewServer(c.Handler())
		client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{srv.URL}, DisableRetry: true}})
		if err != nil {
			b.Fatalf("client: %v", err)
		}
		seeded = &fixture{c: c, client: client, url: srv.URL}
		for start := 0; start < seededN; start += 50_000 {
			if errs := seeded.c.IndexDocs(day1, eventBatch(start, min(50_000, seededN-start))); errs != nil {
				b.Fatalf("seed: %v", errs[0])
			}
		}
	})
	if seeded == nil {
		b.Fatal("seeding failed earlier")
	}
	return seeded
}

func BenchmarkIngest(b *testing.B) {
	c := opensearchtwin.New(opensearchtwin.Options{Logger: quietLogger()})
	docs := eventBatch(0, 10_000)
	b.SetBytes(int64(len(bytes.Join(docs, nil)) / 10)) // bytes per op of 1,000 documents
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if errs := c.IndexDocs(day1, docs[n%len(docs):n%len(docs)+1000]); errs != nil {
			b.Fatal(errs[0])
		}
		n = (n + 1000) % len(docs)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "docs/s")
}

func BenchmarkIngestHTTPBulk(b *testing.B) {
	f := newFixture(b, opensearchtwin.Options{})
	evs := make([]labevent.Event, 1000)
	for i := range evs {
		evs[i] = labevent.New(uint64(i), base.Add(time.Duration(i)*time.Millisecond), "us-east-1", "bench", true)
	}
	body := ndjson(evs)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp, err := f.client.Bulk(context.Background(), opensearchapi.BulkReq{Index: day1, Body: bytes.NewReader(body)})
		if err != nil || resp.Errors {
			b.Fatalf("bulk: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkMemoryPerDocument reports the heap held per stored document.
func BenchmarkMemoryPerDocument(b *testing.B) {
	n := benchDocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := opensearchtwin.New(opensearchtwin.Options{Logger: quietLogger()})
	start := time.Now()
	for s := 0; s < n; s += 50_000 {
		if errs := c.IndexDocs(day1, eventBatch(s, min(50_000, n-s))); errs != nil {
			b.Fatal(errs[0])
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	for b.Loop() {
		runtime.KeepAlive(c)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/doc")
	b.ReportMetric(float64(c.Stats()[0].StoreBytes)/float64(n), "store-bytes/doc")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "ingest-docs/s(incl.json)")
}

func BenchmarkDateHistogram(b *testing.B) {
	f := seededFixture(b)
	body := `{"size":0,"aggs":{"m":{"date_histogram":{"field":"timestamp","fixed_interval":"1m","min_doc_count":0}}}}`
	for b.Loop() {
		f.search(b, []string{day1}, body)
	}
	b.ReportMetric(float64(seededN)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

func BenchmarkDateHistogramTermsRange(b *testing.B) {
	f := seededFixture(b)
	lo := base.Add(time.Duration(seededN/4) * 3 * time.Millisecond).Format(time.RFC3339)
	body := `{"size":0,"query":{"range":{"timestamp":{"gte":"` + lo + `"}}},"aggs":{"m":{"date_histogram":{"field":"timestamp","fixed_interval":"1m"},"aggs":{"lvl":{"terms":{"field":"level.keyword"}}}}}}`
	for b.Loop() {
		f.search(b, []string{day1}, body)
	}
}

func BenchmarkCountRange(b *testing.B) {
	f := seededFixture(b)
	lo := base.Add(time.Duration(seededN/3) * 3 * time.Millisecond).Format(time.RFC3339Nano)
	body := `{"query":{"range":{"timestamp":{"gte":"` + lo + `"}}}}`
	for b.Loop() {
		f.count(b, []string{day1}, body)
	}
}

// BenchmarkPITScan pages through the whole index with PIT + search_after sorted on
// [timestamp, event_id], the way backfill verification reads a collection.
func BenchmarkPITScan(b *testing.B) {
	f := seededFixture(b)
	ctx := context.Background()
	const page = 10_000
	total := 0
	for b.Loop() {
		pit, err := f.client.PointInTime.Create(ctx, opensearchapi.PointInTimeCreateReq{Indices: []string{day1},
			Params: opensearchapi.PointInTimeCreateParams{KeepAlive: 5 * time.Minute}})
		if err != nil {
			b.Fatal(err)
		}
		var after []any
		n := 0
		for {
			body := map[string]any{"size": page, "pit": map[string]any{"id": pit.PitID, "keep_alive": "5m"}, "track_total_hits": false,
				"sort": []any{map[string]any{"timestamp": "asc"}, map[string]any{"event_id.keyword": "asc"}}}
			if after != nil {
				body["search_after"] = after
			}
			resp := f.search(b, nil, jsonBody(body))
			if len(resp.Hits.Hits) == 0 {
				break
			}
			n += len(resp.Hits.Hits)
			after = resp.Hits.Hits[len(resp.Hits.Hits)-1].Sort
		}
		if n != seededN {
			b.Fatalf("scan returned %d docs, want %d", n, seededN)
		}
		total += n
		if _, err := f.client.PointInTime.Delete(ctx, opensearchapi.PointInTimeDeleteReq{PitID: []string{pit.PitID}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkPITScanServer is BenchmarkPITScan without the client: requests go straight to the
// handler and only the last hit's sort values are decoded, so it measures the twin alone.
func BenchmarkPITScanServer(b *testing.B) {
	f := seededFixture(b)
	h := f.c.Handler()
	call := func(method, path, body string) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		if rec.Code != 200 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	total := 0
	for b.Loop() {
		var pit struct {
			PitID string `json:"pit_id"`
		}
		if err := json.Unmarshal(call("POST", "/"+day1+"/_search/point_in_time?keep_alive=5m", ""), &pit); err != nil {
			b.Fatal(err)
		}
		after := ""
		n := 0
		for {
			body := `{"size":10000,"track_total_hits":false,"pit":{"id":"` + pit.PitID + `"},"sort":[{"timestamp":"asc"},{"event_id.keyword":"asc"}]`
			if after != "" {
				body += `,"search_after":` + after
			}
			out := call("POST", "/_search", body+"}")
			i := bytes.LastIndex(out, []byte(`"sort":`))
			if i < 0 {
				break
			}
			j := bytes.IndexByte(out[i:], ']')
			after = string(out[i+7 : i+j+1])
			n += bytes.Count(out, []byte(`"_index":`))
		}
		if n != seededN {
			b.Fatalf("scan returned %d docs, want %d", n, seededN)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkHistogramSum is the backfill engine's first level: fixed-interval buckets over the
// whole index with the sum of timestamps in each, inside a range filter. At 50ms the default
// data set gives 60,000 buckets, the most the engine asks for in one request.
func BenchmarkHistogramSum(b *testing.B) {
	f := seededFixture(b)
	h := f.c.Handler()
	lo, hi := base.UnixMilli(), base.Add(time.Duration(seededN)*3*time.Millisecond).UnixMilli()
	for _, iv := range []string{"1s", "50ms"} {
		b.Run(iv, func(b *testing.B) {
			body := `{"size":0,"track_total_hits":false,"query":{"bool":{"filter":[{"range":{"timestamp":{"gte":` + strconv.FormatInt(lo, 10) + `,"lt":` + strconv.FormatInt(hi, 10) + `,"format":"epoch_millis"}}}]}},` +
				`"aggs":{"h":{"date_histogram":{"field":"timestamp","fixed_interval":"` + iv + `","min_doc_count":1},"aggs":{"s":{"sum":{"field":"timestamp"}}}}}}`
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/"+day1+"/_search", strings.NewReader(body)))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(seededN)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// multiRangeFilter is the backfill engine's filter for many short buckets: a covering range,
// then a disjunction of groups, each a covering range and its ranges.
func multiRangeFilter(n int, width, gap int64) string {
	var groups []string
	start := base.UnixMilli()
	per := 30
	for g := 0; g < n; g += per {
		var rs []string
		gLo := start + int64(g)*(width+gap)
		gHi := gLo
		for i := g; i < min(g+per, n); i++ {
			lo := start + int64(i)*(width+gap)
			gHi = lo + width
			rs = append(rs, `{"range":{"timestamp":{"gte":`+strconv.FormatInt(lo, 10)+`,"lt":`+strconv.FormatInt(gHi, 10)+`,"format":"epoch_millis"}}}`)
		}
		groups = append(groups, `{"bool":{"filter":[{"range":{"timestamp":{"gte":`+strconv.FormatInt(gLo, 10)+`,"lt":`+strconv.FormatInt(gHi, 10)+`,"format":"epoch_millis"}}}],"should":[`+strings.Join(rs, ",")+`],"minimum_should_match":1}}`)
	}
	cover := `{"range":{"timestamp":{"gte":` + strconv.FormatInt(start, 10) + `,"lt":` + strconv.FormatInt(start+int64(n)*(width+gap), 10) + `,"format":"epoch_millis"}}}`
	return `{"bool":{"filter":[` + cover + `,{"bool":{"should":[` + strings.Join(groups, ",") + `],"minimum_should_match":1}}]}}`
}

// BenchmarkMultiRangeIDPage reads the ids of 900 short ranges spread over the whole index, sorted
// on [timestamp, event_id.keyword], as the backfill engine's merge does.
func BenchmarkMultiRangeIDPage(b *testing.B) {
	f := seededFixture(b)
	h := f.c.Handler()
	span := int64(seededN) * 3
	q := multiRangeFilter(900, 100, span/900-100)
	body := `{"size":10000,"_source":false,"track_total_hits":false,"query":{"bool":{"filter":[` + q + `,{"exists":{"field":"event_id.keyword"}}]}},` +
		`"sort":[{"timestamp":{"order":"asc"}},{"event_id.keyword":{"order":"asc"}}]}`
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/"+day1+"/_search", strings.NewReader(body)))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
}
