package opensearchtwin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

const day1 = "application-logs-2026.11.21"

func TestBulkItemsAndCount(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(3000, 113*time.Millisecond, 1, base, "us-east-1")
	resp := f.bulk(t, day1, ndjson(evs))
	if resp.Errors || len(resp.Items) != len(evs) {
		t.Fatalf("errors=%v items=%d", resp.Errors, len(resp.Items))
	}
	ids := map[string]bool{}
	for i, item := range resp.Items {
		it, ok := item["index"]
		if !ok {
			t.Fatalf("item %d has no index action: %v", i, item)
		}
		if it.Index != day1 || it.Result != "created" || it.Status != 201 || it.Version != 1 || it.PrimaryTerm != 1 ||
			it.SeqNo != i || it.Shards.Total != 2 || it.Shards.Successful != 2 || len(it.ID) != 20 {
			t.Fatalf("item %d: %+v", i, it)
		}
		ids[it.ID] = true
	}
	if len(ids) != len(evs) {
		t.Fatalf("%d distinct ids for %d documents", len(ids), len(evs))
	}
	if n := f.count(t, []string{"application-logs-*"}, ""); n != len(evs) {
		t.Fatalf("count = %d, want %d", n, len(evs))
	}
	if got := f.c.DocCount(day1); got != int64(len(evs)) {
		t.Fatalf("DocCount = %d", got)
	}
	lo, hi := base.Add(time.Minute), base.Add(2*time.Minute)
	want := 0
	for _, e := range evs {
		if ts := mustTime(t, e.Timestamp); !ts.Before(lo) && ts.Before(hi) {
			want++
		}
	}
	if want == 0 {
		t.Fatal("test data has no events in the window")
	}
	q := fmt.Sprintf(`{"query":{"range":{"timestamp":{"gte":%q,"lt":%q}}}}`, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
	if n := f.count(t, []string{"application-logs-*"}, q); n != want {
		t.Fatalf("range count = %d, want %d", n, want)
	}
	// The same window as epoch millis and as date math anchored on a date.
	q = fmt.Sprintf(`{"query":{"range":{"timestamp":{"gte":%d,"lt":"%s||+1m"}}}}`, lo.UnixMilli(), lo.Format(time.RFC3339))
	if n := f.count(t, []string{day1}, q); n != want {
		t.Fatalf("range count (millis, date math) = %d, want %d", n, want)
	}
	// Source comes back byte for byte.
	sr := f.search(t, []string{day1}, `{"size":5,"sort":[{"timestamp":"asc"}]}`)
	for i, h := range sr.Hits.Hits {
		j, _ := json.Marshal(evs[i])
		if string(h.Source) != string(j) {
			t.Fatalf("hit %d source\n got %s\nwant %s", i, h.Source, j)
		}
	}
	// A missing concrete index is index_not_found; a pattern matching nothing is empty.
	if _, err := f.client.Indices.Count(context.Background(), &opensearchapi.IndicesCountReq{Indices: []string{"nope"}}); err == nil {
		t.Fatal("count on a missing index succeeded")
	} else if se := structErr(t, err); se.Status != 404 || se.Err.Type != "index_not_found_exception" {
		t.Fatalf("missing index error: %+v", se)
	}
	if n := f.count(t, []string{"nothing-*"}, ""); n != 0 {
		t.Fatalf("empty pattern count = %d", n)
	}
}

func TestBulkIDsVersionsAndConflicts(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	body := `{"index":{"_index":"docs","_id":"a"}}
{"v":1}
{"index":{"_index":"docs","_id":"a"}}
{"v":2}
{"create":{"_index":"docs","_id":"a"}}
{"v":3}
{"create":{"_index":"docs","_id":"b"}}
{"v":4}
{"index":{"_index":"Bad"}}
{"v":5}
{"index":{"_index":"docs"}}
{"v":
{"delete":{"_index":"docs","_id":"b"}}
{"delete":{"_index":"docs","_id":"zz"}}
`
	resp := f.bulk(t, "", []byte(body))
	if !resp.Errors {
		t.Fatal("errors flag not set")
	}
	type exp struct {
		action, result, errType string
		status, version         int
	}
	want := []exp{
		{"index", "created", "", 201, 1},
		{"index", "updated", "", 200, 2},
		{"create", "", "version_conflict_engine_exception", 409, 0},
		{"create", "created", "", 201, 1},
		{"index", "", "invalid_index_name_exception", 400, 0},
		{"index", "", "mapper_parsing_exception", 400, 0},
		{"delete", "deleted", "", 200, 2},
		{"delete", "not_found", "", 404, 1},
	}
	for i, w := range want {
		it, ok := resp.Items[i][w.action]
		if !ok {
			t.Fatalf("item %d: no %s action: %v", i, w.action, resp.Items[i])
		}
		if it.Status != w.status || it.Result != w.result || (w.version != 0 && it.Version != w.version) {
			t.Errorf("item %d: %+v, want %+v", i, it, w)
		}
		if (it.Error == nil) != (w.errType == "") || (it.Error != nil && it.Error.Type != w.errType) {
			t.Errorf("item %d: error %+v, want type %q", i, it.Error, w.errType)
		}
	}
	if n := f.count(t, []string{"docs"}, ""); n != 1 {
		t.Fatalf("count = %d, want 1 (a)", n)
	}
	got, err := f.client.Document.Get(context.Background(), opensearchapi.DocumentGetReq{Index: "docs", DocumentID: "a"})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !got.Found || got.Version != 2 || string(got.Source) != `{"v":2}` {
		t.Fatalf("get a: %+v source=%s", got, got.Source)
	}
}

func TestSearchQueries(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(4000, 97*time.Millisecond, 1, base, "us-east-1")
	f.bulk(t, day1, ndjson(evs))
	type pred func(e labevent.Event) bool
	countWhere := func(p pred) int {
		n := 0
		for _, e := range evs {
			if p(e) {
				n++
			}
		}
		return n
	}
	lo := base.Add(30 * time.Second)
	cases := []struct {
		name  string
		query string
		p     pred
	}{
		{"bool filter term+range, must_not, range on time",
			fmt.Sprintf(`{"bool":{"filter":[{"term":{"level.keyword":"ERROR"}},{"range":{"duration_ms":{"gte":1000}}},{"range":{"timestamp":{"gte":%q}}}],"must_not":[{"term":{"service.keyword":"auth"}}]}}`, lo.Format(time.RFC3339Nano)),
			func(e labevent.Event) bool {
				return e.Level == "ERROR" && e.DurationMS >= 1000 && e.Service != "auth" && !mustTime(t, e.Timestamp).Before(lo)
			}},
		{"should with minimum_should_match",
			`{"bool":{"should":[{"term":{"status_code":500}},{"term":{"status_code":503}},{"terms":{"service.keyword":["search"]}}],"minimum_should_match":2}}`,
			func(e labevent.Event) bool {
				n := 0
				for _, b := range []bool{e.StatusCode == 500, e.StatusCode == 503, e.Service == "search"} {
					if b {
						n++
					}
				}
				return n >= 2
			}},
		{"terms on keyword", `{"terms":{"level.keyword":["WARN","DEBUG"]}}`,
			func(e labevent.Event) bool { return e.Level == "WARN" || e.Level == "DEBUG" }},
		{"term on a text field matches the analyzed token", `{"term":{"level":"error"}}`,
			func(e labevent.Event) bool { return e.Level == "ERROR" }},
		{"term on a text field with the original case matches nothing", `{"term":{"level":"ERROR"}}`,
			func(labevent.Event) bool { return false }},
		{"match on text", `{"match":{"message":"upstream"}}`,
			func(e labevent.Event) bool { return strings.Contains(e.Message, "upstream") }},
		{"exists", `{"exists":{"field":"event_id"}}`, func(labevent.Event) bool { return true }},
		{"exists on a missing field", `{"exists":{"field":"nope"}}`, func(labevent.Event) bool { return false }},
		{"range on numbers, exclusive", `{"range":{"status_code":{"gt":200,"lt":500}}}`,
			func(e labevent.Event) bool { return e.StatusCode > 200 && e.StatusCode < 500 }},
		{"range on a second date field", fmt.Sprintf(`{"range":{"test_timestamp":{"lt":%q}}}`, lo.Format(time.RFC3339)),
			func(e labevent.Event) bool { return mustTime(t, e.TestTimestamp).Before(lo) }},
		{"match_all", `{"match_all":{}}`, func(labevent.Event) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := countWhere(tc.p)
			resp := f.search(t, []string{day1}, `{"size":50,"track_total_hits":true,"query":`+tc.query+`}`)
			if resp.Hits.Total.Value != want || resp.Hits.Total.Relation != "eq" {
				t.Fatalf("total = %d %s, want %d", resp.Hits.Total.Value, resp.Hits.Total.Relation, want)
			}
			if len(resp.Hits.Hits) != min(want, 50) {
				t.Fatalf("%d hits, want %d", len(resp.Hits.Hits), min(want, 50))
			}
			for _, h := range resp.Hits.Hits {
				var e labevent.Event
				if err := json.Unmarshal(h.Source, &e); err != nil {
					t.Fatalf("source: %v", err)
				}
				if !tc.p(e) || h.Index != day1 || h.Score != 1 {
					t.Fatalf("hit does not satisfy the query: %+v", h)
				}
			}
			if n := f.count(t, []string{day1}, `{"query":`+tc.query+`}`); n != want {
				t.Fatalf("_count = %d, want %d", n, want)
			}
		})
	}
	t.Run("default total is capped at 10000", func(t *testing.T) {
		more := events(7000, time.Millisecond, 1, base.Add(time.Hour), "us-east-1")
		f.bulk(t, "big", ndjson(more))
		f.bulk(t, "big", ndjson(more))
		resp := f.search(t, []string{"big"}, `{"size":0}`)
		if resp.Hits.Total.Value != 10000 || resp.Hits.Total.Relation != "gte" {
			t.Fatalf("total = %+v", resp.Hits.Total)
		}
	})
	t.Run("_source filtering", func(t *testing.T) {
		resp := f.search(t, []string{day1}, `{"size":1,"_source":["level","service"]}`)
		if got := string(resp.Hits.Hits[0].Source); got != fmt.Sprintf(`{"level":%q,"service":%q}`, evs[0].Level, evs[0].Service) {
			t.Fatalf("filtered source = %s", got)
		}
		resp = f.search(t, []string{day1}, `{"size":1,"_source":false}`)
		if resp.Hits.Hits[0].Source != nil {
			t.Fatalf("source present with _source:false: %s", resp.Hits.Hits[0].Source)
		}
	})
	t.Run("from and size page in insertion order", func(t *testing.T) {
		resp := f.search(t, []string{day1}, `{"from":10,"size":3}`)
		for i, h := range resp.Hits.Hits {
			var e labevent.Event
			_ = json.Unmarshal(h.Source, &e)
			if e.EventID != evs[10+i].EventID {
				t.Fatalf("hit %d = %s, want %s", i, e.EventID, evs[10+i].EventID)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct{ body, typ, rootType string }{
			{`{"query":{"nope":{}}}`, "parsing_exception", ""},
			{`{"bogus":1}`, "parsing_exception", ""},
			{`{"from":9999,"size":2}`, "search_phase_execution_exception", "illegal_argument_exception"},
			{`{"sort":[{"level":"asc"}]}`, "search_phase_execution_exception", "illegal_argument_exception"},
			{`{"sort":[{"nope":"asc"}]}`, "search_phase_execution_exception", "query_shard_exception"},
		} {
			_, err := f.client.Search(context.Background(), &opensearchapi.SearchReq{Indices: []string{day1}, Body: strings.NewReader(tc.body)})
			if err == nil {
				t.Fatalf("%s: no error", tc.body)
			}
			se := structErr(t, err)
			if se.Status != 400 || se.Err.Type != tc.typ || (tc.rootType != "" && se.Err.RootCause[0].Type != tc.rootType) {
				t.Errorf("%s: %v", tc.body, se)
			}
		}
	})
}

func TestAggregations(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(5000, 113*time.Millisecond, 1, base, "us-east-1")
	f.bulk(t, day1, ndjson(evs))

	perMinute := map[int64]int{}
	perMinuteLevel := map[int64]map[string]int{}
	perService := map[string]int{}
	for _, e := range evs {
		m := mustTime(t, e.Timestamp).Truncate(time.Minute).UnixMilli()
		perMinute[m]++
		if perMinuteLevel[m] == nil {
			perMinuteLevel[m] = map[string]int{}
		}
		perMinuteLevel[m][e.Level]++
		perService[e.Service]++
	}

	t.Run("date_histogram with extended bounds and terms sub-aggregation", func(t *testing.T) {
		lo, hi := base.Add(-2*time.Minute), base.Add(12*time.Minute)
		body := fmt.Sprintf(`{"size":0,"aggs":{"per_min":{"date_histogram":{"field":"timestamp","fixed_interval":"1m","min_doc_count":0,
			"extended_bounds":{"min":%q,"max":%d}},"aggs":{"levels":{"terms":{"field":"level.keyword"}}}}}}`, lo.Format(time.RFC3339), hi.UnixMilli())
		resp := f.search(t, []string{day1}, body)
		var aggs struct {
			PerMin struct {
				Buckets []struct {
					Key         int64  `json:"key"`
					KeyAsString string `json:"key_as_string"`
					DocCount    int    `json:"doc_count"`
					Levels      struct {
						Buckets []struct {
							Key      string `json:"key"`
							DocCount int    `json:"doc_count"`
						} `json:"buckets"`
					} `json:"levels"`
				} `json:"buckets"`
			} `json:"per_min"`
		}
		if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
			t.Fatalf("aggregations: %v", err)
		}
		if got := len(aggs.PerMin.Buckets); got != 15 {
			t.Fatalf("%d buckets, want 15 (09:58..10:12)", got)
		}
		total := 0
		for i, b := range aggs.PerMin.Buckets {
			key := lo.Add(time.Duration(i) * time.Minute)
			if b.Key != key.UnixMilli() || b.KeyAsString != key.Format("2006-01-02T15:04:05.000Z") {
				t.Fatalf("bucket %d key %d %q, want %s", i, b.Key, b.KeyAsString, key)
			}
			if b.DocCount != perMinute[b.Key] {
				t.Fatalf("bucket %s: %d docs, want %d", b.KeyAsString, b.DocCount, perMinute[b.Key])
			}
			got := map[string]int{}
			for _, lb := range b.Levels.Buckets {
				got[lb.Key] = lb.DocCount
			}
			if !maps.Equal(got, perMinuteLevel[b.Key]) && !(len(got) == 0 && perMinuteLevel[b.Key] == nil) {
				t.Fatalf("bucket %s levels %v, want %v", b.KeyAsString, got, perMinuteLevel[b.Key])
			}
			total += b.DocCount
		}
		if total != len(evs) {
			t.Fatalf("buckets hold %d docs, want %d", total, len(evs))
		}
	})

	t.Run("calendar_interval and min_doc_count", func(t *testing.T) {
		resp := f.search(t, []string{day1}, `{"size":0,"aggs":{"h":{"date_histogram":{"field":"timestamp","calendar_interval":"1h"}},
			"m":{"date_histogram":{"field":"timestamp","calendar_interval":"minute","min_doc_count":1}}}}`)
		var aggs struct {
			H, M struct {
				Buckets []struct {
					Key      int64 `json:"key"`
					DocCount int   `json:"doc_count"`
				} `json:"buckets"`
			}
		}
		if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
			t.Fatal(err)
		}
		if len(aggs.H.Buckets) != 1 || aggs.H.Buckets[0].Key != base.UnixMilli() || aggs.H.Buckets[0].DocCount != len(evs) {
			t.Fatalf("hour buckets: %+v", aggs.H.Buckets)
		}
		if len(aggs.M.Buckets) != len(perMinute) {
			t.Fatalf("%d minute buckets, want %d", len(aggs.M.Buckets), len(perMinute))
		}
	})

	t.Run("terms size and order", func(t *testing.T) {
		resp := f.search(t, []string{day1}, `{"size":0,"aggs":{"svc":{"terms":{"field":"service.keyword","size":3}}}}`)
		var aggs struct {
			Svc struct {
				Other   int `json:"sum_other_doc_count"`
				ErrUB   int `json:"doc_count_error_upper_bound"`
				Buckets []struct {
					Key      string `json:"key"`
					DocCount int    `json:"doc_count"`
				} `json:"buckets"`
			} `json:"svc"`
		}
		if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
			t.Fatal(err)
		}
		keys := slices.Collect(maps.Keys(perService))
		slices.SortFunc(keys, func(a, b string) int {
			if perService[a] != perService[b] {
				return perService[b] - perService[a]
			}
			return strings.Compare(a, b)
		})
		other := 0
		for _, k := range keys[3:] {
			other += perService[k]
		}
		if len(aggs.Svc.Buckets) != 3 || aggs.Svc.Other != other {
			t.Fatalf("terms: %+v, want other %d", aggs.Svc, other)
		}
		for i, b := range aggs.Svc.Buckets {
			if b.Key != keys[i] || b.DocCount != perService[keys[i]] {
				t.Fatalf("bucket %d = %+v, want %s:%d", i, b, keys[i], perService[keys[i]])
			}
		}
	})

	t.Run("composite paging covers every bucket once", func(t *testing.T) {
		want := map[string]int{}
		for _, e := range evs {
			want[fmt.Sprintf("%s|%d", e.Service, mustTime(t, e.Timestamp).Truncate(time.Minute).UnixMilli())]++
		}
		got := map[string]int{}
		var after json.RawMessage
		var prev string
		pages := 0
		for {
			q := `{"size":0,"aggs":{"c":{"composite":{"size":7,"sources":[{"svc":{"terms":{"field":"service.keyword"}}},{"min":{"date_histogram":{"field":"timestamp","fixed_interval":"1m"}}}]`
			if after != nil {
				q += `,"after":` + string(after)
			}
			q += `}}}}`
			resp := f.search(t, []string{day1}, q)
			var aggs struct {
				C struct {
					AfterKey json.RawMessage `json:"after_key"`
					Buckets  []struct {
						Key struct {
							Svc string `json:"svc"`
							Min int64  `json:"min"`
						} `json:"key"`
						DocCount int `json:"doc_count"`
					} `json:"buckets"`
				} `json:"c"`
			}
			if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
				t.Fatal(err)
			}
			if len(aggs.C.Buckets) == 0 {
				if aggs.C.AfterKey != nil {
					t.Fatalf("after_key on an empty page: %s", aggs.C.AfterKey)
				}
				break
			}
			pages++
			for _, b := range aggs.C.Buckets {
				k := fmt.Sprintf("%s|%d", b.Key.Svc, b.Key.Min)
				ordered := fmt.Sprintf("%s|%020d", b.Key.Svc, b.Key.Min)
				if ordered <= prev {
					t.Fatalf("composite keys out of order: %s after %s", ordered, prev)
				}
				prev = ordered
				if _, dup := got[k]; dup {
					t.Fatalf("bucket %s returned twice", k)
				}
				got[k] = b.DocCount
			}
			after = aggs.C.AfterKey
		}
		if !maps.Equal(got, want) {
			t.Fatalf("composite buckets differ: got %d buckets, want %d", len(got), len(want))
		}
		if pages != (len(want)+6)/7 {
			t.Fatalf("%d pages for %d buckets", pages, len(want))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp := f.search(t, []string{day1}, `{"size":0,"aggs":{"mx":{"max":{"field":"duration_ms"}},"n":{"value_count":{"field":"duration_ms"}},
			"card":{"cardinality":{"field":"service.keyword"}},"errors":{"filter":{"term":{"level.keyword":"ERROR"}}}}}`)
		var aggs struct {
			Mx     struct{ Value float64 }
			N      struct{ Value int }
			Card   struct{ Value int }
			Errors struct {
				DocCount int `json:"doc_count"`
			}
		}
		if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
			t.Fatal(err)
		}
		mx, nerr := 0, 0
		for _, e := range evs {
			mx = max(mx, e.DurationMS)
			if e.Level == "ERROR" {
				nerr++
			}
		}
		if aggs.Mx.Value != float64(mx) || aggs.N.Value != len(evs) || aggs.Card.Value != len(perService) || aggs.Errors.DocCount != nerr {
			t.Fatalf("metrics %+v, want max %d count %d card %d errors %d", aggs, mx, len(evs), len(perService), nerr)
		}
	})

	t.Run("terms on a text field is rejected as OpenSearch rejects it", func(t *testing.T) {
		_, err := f.client.Search(context.Background(), &opensearchapi.SearchReq{Indices: []string{day1},
			Body: strings.NewReader(`{"size":0,"aggs":{"x":{"terms":{"field":"level"}}}}`)})
		se := structErr(t, err)
		if se.Status != 400 || se.Err.RootCause[0].Type != "illegal_argument_exception" || !strings.Contains(se.Err.RootCause[0].Reason, "Text fields are not optimised") {
			t.Fatalf("error: %v", se)
		}
	})
}
