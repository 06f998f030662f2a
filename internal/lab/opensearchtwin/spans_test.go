package opensearchtwin_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone cases must not depend on the host's zoneinfo

	"github.com/switchyard-dr/switchyard/internal/lab/labevent"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

// Time-range filters are answered from the timestamp order (binary searches per interval), not by
// testing documents. These tests hold every answer to a model computed from the documents
// themselves, at the boundaries where an off-by-one would show: gte/gt/lt/lte on a timestamp that
// documents have, date math rounding, many ranges, overlapping and adjacent ranges, empty spans,
// must_not, terms on the timestamp; over an index written in time order and one written out of
// order, with deletes, replacements and a point in time opened before them.

// modelDoc is one document as the model sees it.
type modelDoc struct {
	index, id, level string
	ms               int64
	live             bool
}

type model []modelDoc

func (m model) clone() model { return slices.Clone(m) }

func (m model) live(pred func(modelDoc) bool) []modelDoc {
	var out []modelDoc
	for _, d := range m {
		if d.live && pred(d) {
			out = append(out, d)
		}
	}
	return out
}

// spanFixture is two indices: spans-a written in time order (with deletes), spans-b written out of
// order (with deletes and replacements that move documents back in time).
type spanFixture struct {
	f   *fixture
	m   model
	ms0 int64
}

func (sf *spanFixture) write(t *testing.T, index string, docs []modelDoc, n0 int) {
	t.Helper()
	var b bytes.Buffer
	for i, d := range docs {
		e := labevent.New(uint64(n0+i), time.UnixMilli(d.ms).UTC(), "r", "spans", true)
		e.EventID, e.Level = d.id, d.level
		j, _ := json.Marshal(e)
		fmt.Fprintf(&b, `{"index":{"_id":%q}}`+"\n%s\n", d.id, j)
		for k := range sf.m {
			if sf.m[k].id == d.id && sf.m[k].live {
				sf.m[k].live = false // replaced
			}
		}
		d.index, d.live = index, true
		sf.m = append(sf.m, d)
	}
	if resp := sf.f.bulk(t, index, b.Bytes()); resp.Errors {
		t.Fatalf("bulk into %s had errors", index)
	}
}

func (sf *spanFixture) delete(t *testing.T, index string, ids []string) {
	t.Helper()
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, `{"delete":{"_id":%q}}`+"\n", id)
		for k := range sf.m {
			if sf.m[k].id == id && sf.m[k].index == index {
				sf.m[k].live = false
			}
		}
	}
	if resp := sf.f.bulk(t, index, b.Bytes()); resp.Errors {
		t.Fatalf("bulk delete in %s had errors", index)
	}
}

var spanLevels = []string{"INFO", "WARN", "ERROR"}

func newSpanFixture(t *testing.T) *spanFixture {
	sf := &spanFixture{f: newFixture(t, opensearchtwin.Options{}), ms0: base.UnixMilli()}
	// spans-a: 3,000 documents in time order, three per millisecond, 7 ms apart.
	var a []modelDoc
	for i := range 3000 {
		a = append(a, modelDoc{id: fmt.Sprintf("a-%05d", i), level: spanLevels[i%3], ms: sf.ms0 + int64(i/3)*7})
	}
	sf.write(t, "spans-a", a, 0)
	// spans-b: 2,000 documents in scrambled time order, 5 ms granularity, with collisions.
	var bdocs []modelDoc
	for i := range 2000 {
		bdocs = append(bdocs, modelDoc{id: fmt.Sprintf("b-%05d", i), level: spanLevels[(i/2)%3], ms: sf.ms0 + int64(labevent.Mix(uint64(i))%1400)*5})
	}
	sf.write(t, "spans-b", bdocs, 10000)
	return sf
}

func (sf *spanFixture) mutate(t *testing.T) {
	var del []string
	for i := 0; i < 3000; i += 17 {
		del = append(del, fmt.Sprintf("a-%05d", i))
	}
	sf.delete(t, "spans-a", del)
	del = del[:0]
	for i := 0; i < 2000; i += 13 {
		del = append(del, fmt.Sprintf("b-%05d", i))
	}
	sf.delete(t, "spans-b", del)
	// Later documents in spans-a (still in order); spans-b documents moved back by 3 s.
	var more []modelDoc
	for i := 3000; i < 3300; i++ {
		more = append(more, modelDoc{id: fmt.Sprintf("a-%05d", i), level: spanLevels[i%3], ms: sf.ms0 + int64(i/3)*7})
	}
	sf.write(t, "spans-a", more, 20000)
	var moved []modelDoc
	for i := 1; i < 2000; i += 29 {
		moved = append(moved, modelDoc{id: fmt.Sprintf("b-%05d", i), level: "WARN", ms: sf.ms0 + int64(labevent.Mix(uint64(i))%1400)*5 - 3000})
	}
	sf.write(t, "spans-b", moved, 30000)
}

// spanCase is a query and the documents it matches.
type spanCase struct {
	name  string
	query string
	match func(modelDoc) bool
}

func rng(lo, hi int64) string { // [lo, hi) in epoch millis, the engine's clause
	return fmt.Sprintf(`{"range":{"timestamp":{"gte":%d,"lt":%d,"format":"epoch_millis"}}}`, lo, hi)
}

func spanCases(ms0 int64) []spanCase {
	in := func(lo, hi int64) func(modelDoc) bool { // inclusive, relative to ms0
		return func(d modelDoc) bool { return d.ms >= ms0+lo && d.ms <= ms0+hi }
	}
	iso := func(off int64, suffix string) string {
		return strconv.Quote(time.UnixMilli(ms0+off).UTC().Format("2006-01-02T15:04:05.000Z") + suffix)
	}
	bound := func(op string, off int64) string { return fmt.Sprintf(`"%s":%d`, op, ms0+off) }
	single := func(ops ...string) string {
		return `{"range":{"timestamp":{` + strings.Join(ops, ",") + `,"format":"epoch_millis"}}}`
	}
	// The engine's disjunction: groups of ranges, each with its covering range as a filter.
	var groups, flat []string
	var spans [][2]int64
	for g := range 5 {
		var rs []string
		for k := range 3 {
			lo := int64(g*1000 + k*300 + 7)
			spans = append(spans, [2]int64{lo, lo + 100})
			rs = append(rs, rng(ms0+lo, ms0+lo+100))
			flat = append(flat, rng(ms0+lo, ms0+lo+100))
		}
		groups = append(groups, fmt.Sprintf(`{"bool":{"filter":[%s],"should":[%s],"minimum_should_match":1}}`,
			rng(ms0+int64(g*1000+7), ms0+int64(g*1000+2*300+107)), strings.Join(rs, ",")))
	}
	inSpans := func(d modelDoc) bool {
		for _, s := range spans {
			if d.ms >= ms0+s[0] && d.ms < ms0+s[1] {
				return true
			}
		}
		return false
	}
	engine := fmt.Sprintf(`{"bool":{"filter":[%s,{"bool":{"should":[%s],"minimum_should_match":1}}]}}`, rng(ms0, ms0+5000), strings.Join(groups, ","))
	level := func(l string) func(modelDoc) bool { return func(d modelDoc) bool { return d.level == l } }
	and := func(a, b func(modelDoc) bool) func(modelDoc) bool {
		return func(d modelDoc) bool { return a(d) && b(d) }
	}
	return []spanCase{
		{"gte-lt", single(bound("gte", 700), bound("lt", 1400)), in(700, 1399)},
		{"gt-lte", single(bound("gt", 700), bound("lte", 1400)), in(701, 1400)},
		{"gte-lte one ms", single(bound("gte", 700), bound("lte", 700)), in(700, 700)},
		{"gt-lt between timestamps", single(bound("gt", 700), bound("lt", 705)), in(701, 704)},
		{"gte only", single(bound("gte", 6993)), in(6993, math.MaxInt32)},
		{"lt only", single(bound("lt", -2000)), in(-1<<40, -2001)},
		{"inverted", single(bound("gte", 1400), bound("lt", 700)), func(modelDoc) bool { return false }},
		{"before the data", single(bound("gte", -10000), bound("lt", -5000)), func(modelDoc) bool { return false }},
		{"date math gte/lt", `{"range":{"timestamp":{"gte":` + iso(1234, "||/s") + `,"lt":` + iso(3500, "||/s") + `}}}`, in(1000, 2999)},
		{"date math gt/lte", `{"range":{"timestamp":{"gt":` + iso(900, "||/s") + `,"lte":` + iso(4200, "||/s") + `}}}`, in(1000, 4999)},
		{"date math arithmetic", `{"range":{"timestamp":{"gte":` + iso(2000, "||-1s") + `,"lt":` + iso(2000, "||+2s") + `}}}`, in(1000, 3999)},
		{"engine disjunction", engine, inSpans},
		{"flat disjunction", `{"bool":{"should":[` + strings.Join(flat, ",") + `]}}`, inSpans},
		{"overlapping and adjacent", `{"bool":{"should":[` + rng(ms0+100, ms0+200) + `,` + rng(ms0+150, ms0+300) + `,` + rng(ms0+300, ms0+400) + `],"minimum_should_match":1}}`, in(100, 399)},
		{"disjoint from the filter", `{"bool":{"filter":[` + rng(ms0, ms0+1000) + `],"should":[` + rng(ms0+2000, ms0+3000) + `,` + rng(ms0+4000, ms0+4100) + `],"minimum_should_match":1}}`, func(modelDoc) bool { return false }},
		{"must_not", `{"bool":{"must_not":[` + rng(ms0+1000, ms0+5000) + `]}}`, func(d modelDoc) bool { return !in(1000, 4999)(d) }},
		{"filter minus must_not", `{"bool":{"filter":[` + rng(ms0, ms0+3000) + `],"must_not":[` + rng(ms0+700, ms0+1400) + `,` + rng(ms0+2100, ms0+2101) + `]}}`,
			func(d modelDoc) bool { return in(0, 2999)(d) && !in(700, 1399)(d) && !in(2100, 2100)(d) }},
		{"terms on the timestamp", fmt.Sprintf(`{"terms":{"timestamp":[%d,%d,%d,%d]}}`, ms0+700, ms0+1400, ms0+1401, ms0+9999999),
			func(d modelDoc) bool { return d.ms == ms0+700 || d.ms == ms0+1400 || d.ms == ms0+1401 }},
		{"term on the timestamp", fmt.Sprintf(`{"term":{"timestamp":%d}}`, ms0+1400), in(1400, 1400)},
		{"ranges and a keyword term", `{"bool":{"filter":[` + engine + `,{"term":{"level.keyword":"INFO"}}]}}`, and(inSpans, level("INFO"))},
		{"should mixing a range and a term", `{"bool":{"should":[` + rng(ms0+100, ms0+200) + `,{"term":{"level.keyword":"ERROR"}}],"minimum_should_match":1}}`,
			func(d modelDoc) bool { return in(100, 199)(d) || d.level == "ERROR" }},
		{"two of three should", `{"bool":{"should":[` + rng(ms0, ms0+2000) + `,` + rng(ms0+1000, ms0+3000) + `,{"term":{"level.keyword":"WARN"}}],"minimum_should_match":2}}`,
			func(d modelDoc) bool {
				n := 0
				for _, ok := range []bool{in(0, 1999)(d), in(1000, 2999)(d), d.level == "WARN"} {
					if ok {
						n++
					}
				}
				return n >= 2
			}},
		{"exists", `{"exists":{"field":"timestamp"}}`, func(modelDoc) bool { return true }},
		{"match_all", `{"match_all":{}}`, func(modelDoc) bool { return true }},
	}
}

type histOut struct {
	Aggregations struct {
		H struct {
			Buckets []struct {
				Key      int64 `json:"key"`
				DocCount int64 `json:"doc_count"`
				S        struct {
					Value float64 `json:"value"`
				} `json:"s"`
				Lo struct {
					Value float64 `json:"value"`
				} `json:"lo"`
				N struct {
					Value int64 `json:"value"`
				} `json:"n"`
			} `json:"buckets"`
		} `json:"h"`
		Idx struct {
			Buckets []struct {
				Key      string `json:"key"`
				DocCount int64  `json:"doc_count"`
				Hi       struct {
					Value float64 `json:"value"`
				} `json:"hi"`
			} `json:"buckets"`
		} `json:"idx"`
		Sum struct {
			Value float64 `json:"value"`
		} `json:"sum"`
	} `json:"aggregations"`
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			ID   string `json:"_id"`
			Sort []any  `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
}

// searchSpan runs a search over the fixture's indices, or over a point in time when pit is set.
func (sf *spanFixture) searchSpan(t *testing.T, pit string, body map[string]any) histOut {
	t.Helper()
	path := "/spans-a,spans-b/_search"
	if pit != "" {
		body["pit"] = map[string]any{"id": pit}
		path = "/_search"
	}
	status, raw := sf.f.raw(t, "POST", path, jsonBody(body))
	if status != 200 {
		t.Fatalf("search %s: %d %s", jsonBody(body), status, raw)
	}
	var out histOut
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return out
}

func (sf *spanFixture) check(t *testing.T, c spanCase, pit string, m model) {
	want := m.live(c.match)
	var q map[string]any
	if err := json.Unmarshal([]byte(c.query), &q); err != nil {
		t.Fatalf("query %s: %v", c.query, err)
	}
	if pit == "" {
		if got := sf.f.count(t, []string{"spans-a", "spans-b"}, jsonBody(map[string]any{"query": q})); got != len(want) {
			t.Errorf("_count = %d, want %d", got, len(want))
		}
	}

	// Total hits, and the aggregations a backfill pass asks for: per-100ms buckets with the sum
	// (and min and count) of their timestamps, per-index counts with the latest timestamp.
	out := sf.searchSpan(t, pit, map[string]any{"size": 0, "track_total_hits": true, "query": q, "aggs": map[string]any{
		"h": map[string]any{"date_histogram": map[string]any{"field": "timestamp", "fixed_interval": "100ms", "min_doc_count": 1},
			"aggs": map[string]any{"s": map[string]any{"sum": map[string]any{"field": "timestamp"}},
				"lo": map[string]any{"min": map[string]any{"field": "timestamp"}}, "n": map[string]any{"value_count": map[string]any{"field": "timestamp"}}}},
		"idx": map[string]any{"terms": map[string]any{"field": "_index"}, "aggs": map[string]any{"hi": map[string]any{"max": map[string]any{"field": "timestamp"}}}},
		"sum": map[string]any{"sum": map[string]any{"field": "timestamp"}},
	}})
	if out.Hits.Total.Value != int64(len(want)) {
		t.Errorf("hits.total = %d, want %d", out.Hits.Total.Value, len(want))
	}
	type hb struct{ n, sum, lo int64 }
	buckets := map[int64]*hb{}
	indices := map[string][2]int64{}
	var total int64
	for _, d := range want {
		k := d.ms - ((d.ms%100)+100)%100
		b := buckets[k]
		if b == nil {
			b = &hb{lo: d.ms}
			buckets[k] = b
		}
		b.n, b.sum, b.lo = b.n+1, b.sum+d.ms, min(b.lo, d.ms)
		x := indices[d.index]
		indices[d.index] = [2]int64{x[0] + 1, max(x[1], d.ms)}
		total += d.ms
	}
	keys := slices.Sorted(func(yield func(int64) bool) {
		for k := range buckets {
			if !yield(k) {
				return
			}
		}
	})
	got := out.Aggregations.H.Buckets
	if len(got) != len(keys) {
		t.Errorf("histogram has %d buckets, want %d", len(got), len(keys))
	}
	for i := range min(len(got), len(keys)) {
		g, w := got[i], buckets[keys[i]]
		if g.Key != keys[i] || g.DocCount != w.n || g.S.Value != float64(w.sum) || g.Lo.Value != float64(w.lo) || g.N.Value != w.n {
			t.Errorf("bucket %d = {key %d, count %d, sum %v, min %v, n %d}, want {key %d, count %d, sum %d, min %d}",
				i, g.Key, g.DocCount, g.S.Value, g.Lo.Value, g.N.Value, keys[i], w.n, w.sum, w.lo)
			break
		}
	}
	if len(want) > 0 && out.Aggregations.Sum.Value != float64(total) {
		t.Errorf("sum = %v, want %d", out.Aggregations.Sum.Value, total)
	}
	gotIdx := map[string][2]int64{}
	for _, b := range out.Aggregations.Idx.Buckets {
		gotIdx[b.Key] = [2]int64{b.DocCount, int64(b.Hi.Value)}
	}
	if fmt.Sprint(gotIdx) != fmt.Sprint(indices) {
		t.Errorf("per-index counts and latest timestamps = %v, want %v", gotIdx, indices)
	}

	// Sorted pages, both directions, small enough that pages end inside runs of equal timestamps.
	for _, order := range []string{"asc", "desc"} {
		exp := slices.Clone(want)
		slices.SortFunc(exp, func(a, b modelDoc) int {
			r := cmp.Or(cmp.Compare(a.ms, b.ms), strings.Compare(a.id, b.id))
			if order == "desc" {
				return -r
			}
			return r
		})
		var ids []string
		var after []any
		for page := 0; ; page++ {
			body := map[string]any{"size": 97, "_source": false, "track_total_hits": false, "query": q,
				"sort": []any{map[string]any{"timestamp": order}, map[string]any{"event_id.keyword": order}}}
			if after != nil {
				body["search_after"] = after
			}
			hits := sf.searchSpan(t, pit, body).Hits.Hits
			if len(hits) == 0 {
				break
			}
			for _, h := range hits {
				ids = append(ids, h.ID)
			}
			after = hits[len(hits)-1].Sort
			if page > len(want) {
				t.Fatal("paging does not end")
			}
		}
		if len(ids) != len(exp) {
			t.Errorf("%s pages returned %d documents, want %d", order, len(ids), len(exp))
			continue
		}
		for i := range ids {
			if ids[i] != exp[i].id {
				t.Errorf("%s hit %d = %s, want %s (@%d)", order, i, ids[i], exp[i].id, exp[i].ms-sf.ms0)
				break
			}
		}
	}

	// Unsorted hits: the same documents.
	hits := sf.searchSpan(t, pit, map[string]any{"size": 10000, "_source": false, "query": q}).Hits.Hits
	var gotIDs, wantIDs []string
	for _, h := range hits {
		gotIDs = append(gotIDs, h.ID)
	}
	for _, d := range want {
		wantIDs = append(wantIDs, d.id)
	}
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("unsorted hits: %d documents, want %d (or different ones)", len(gotIDs), len(wantIDs))
	}
}

func TestTimeRangeFilters(t *testing.T) {
	sf := newSpanFixture(t)
	cases := spanCases(sf.ms0)
	for _, c := range cases {
		t.Run("fresh/"+c.name, func(t *testing.T) { sf.check(t, c, "", sf.m) })
	}
	// A point in time opened now keeps seeing these documents through the deletes, replacements
	// and later writes below.
	status, raw := sf.f.raw(t, "POST", "/spans-a,spans-b/_search/point_in_time?keep_alive=10m", "")
	if status != 200 {
		t.Fatalf("open point in time: %d %s", status, raw)
	}
	var p struct {
		PitID string `json:"pit_id"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.PitID == "" {
		t.Fatalf("point in time %s: %v", raw, err)
	}
	snapshot := sf.m.clone()
	sf.mutate(t)
	for _, c := range cases {
		t.Run("mutated/"+c.name, func(t *testing.T) { sf.check(t, c, "", sf.m) })
		t.Run("pit/"+c.name, func(t *testing.T) { sf.check(t, c, p.PitID, snapshot) })
	}
}

// TestTimeRangeFiltersEmpty checks answers for spans holding no document.
func TestTimeRangeFiltersEmpty(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(10, time.Second, 1, base, "us-east-1")
	f.bulk(t, day1, ndjson(evs))
	ms := base.UnixMilli()
	q := `{"query":{"bool":{"filter":[` + rng(ms+20000, ms+30000) + `]}}}`
	if n := f.count(t, []string{day1}, q); n != 0 {
		t.Errorf("count after the data = %d, want 0", n)
	}
	q = `{"query":{"bool":{"filter":[` + rng(ms+2000, ms+4000) + `]}}}`
	if n := f.count(t, []string{day1}, q); n != 2 {
		t.Errorf("count of [2s, 4s) = %d, want 2", n)
	}
	resp := f.search(t, []string{day1}, `{"size":0,"query":{"bool":{"filter":[`+rng(ms+20000, ms+30000)+`]}},"aggs":{"h":{"date_histogram":{"field":"timestamp","fixed_interval":"1s"},"aggs":{"s":{"sum":{"field":"timestamp"}}}}}}`)
	var aggs struct {
		H struct {
			Buckets []json.RawMessage `json:"buckets"`
		} `json:"h"`
	}
	if err := json.Unmarshal(resp.Aggregations, &aggs); err != nil {
		t.Fatalf("aggregations %s: %v", resp.Aggregations, err)
	}
	if len(aggs.H.Buckets) != 0 || !bytes.Contains(resp.Aggregations, []byte(`"buckets":[]`)) {
		t.Errorf("histogram of an empty span = %s, want no buckets", resp.Aggregations)
	}
}

// TestTimestampAggregationsMatchRowPath: aggregations that read only timestamps are collected
// from the timestamp column, the others row by row. The same aggregations under a filter that
// forces the row path (exists on a field every document has) must render the same bytes, for
// every date_histogram option the column path handles.
func TestTimestampAggregationsMatchRowPath(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	evs := events(2000, 37*time.Millisecond, 2, base, "us-east-1")
	f.bulk(t, "ts-ordered", ndjson(evs))
	shuffled := slices.Clone(evs)
	for i := range shuffled {
		j := int(labevent.Mix(uint64(i)) % uint64(i+1))
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	f.bulk(t, "ts-shuffled", ndjson(shuffled))
	ms := base.UnixMilli()
	hists := map[string]string{
		"fixed":          `"fixed_interval":"250ms"`,
		"keyed":          `"fixed_interval":"1s","keyed":true`,
		"offset":         `"fixed_interval":"1s","offset":"+300ms"`,
		"calendar":       `"calendar_interval":"minute"`,
		"time zone":      `"calendar_interval":"hour","time_zone":"America/New_York"`,
		"zone offset":    `"fixed_interval":"10s","time_zone":"+05:30"`,
		"hard bounds":    fmt.Sprintf(`"fixed_interval":"10ms","hard_bounds":{"min":%d,"max":%d}`, ms+3700, ms+9990), // documents at both, each starting a bucket
		"empty buckets":  fmt.Sprintf(`"fixed_interval":"5s","min_doc_count":0,"extended_bounds":{"min":%d,"max":%d}`, ms-20000, ms+90000),
		"by count":       `"fixed_interval":"1s","order":{"_count":"desc"}`,
		"min_doc_count":  `"fixed_interval":"100ms","min_doc_count":3`,
		"formatted keys": `"fixed_interval":"1s","format":"epoch_millis"`,
	}
	for name, h := range hists {
		aggs := `{"idx":{"terms":{"field":"_index"},"aggs":{"h":{"date_histogram":{"field":"timestamp",` + h + `},` +
			`"aggs":{"s":{"sum":{"field":"timestamp"}},"lo":{"min":{"field":"timestamp"}},"hi":{"max":{"field":"timestamp"}},"a":{"avg":{"field":"timestamp"}},"n":{"value_count":{"field":"timestamp"}}}}}},` +
			`"h":{"date_histogram":{"field":"timestamp",` + h + `}},"all":{"sum":{"field":"timestamp"}}}`
		for _, filter := range []string{rng(ms+1500, ms+60000), `{"bool":{"should":[` + rng(ms, ms+3000) + `,` + rng(ms+40000, ms+50000) + `]}}`} {
			column := `{"size":0,"query":{"bool":{"filter":[` + filter + `]}},"aggs":` + aggs + `}`
			rows := `{"size":0,"query":{"bool":{"filter":[` + filter + `,{"exists":{"field":"event_id"}}]}},"aggs":` + aggs + `}`
			a := f.search(t, []string{"ts-ordered", "ts-shuffled"}, column)
			b := f.search(t, []string{"ts-ordered", "ts-shuffled"}, rows)
			if !bytes.Equal(a.Aggregations, b.Aggregations) {
				t.Errorf("%s: column path\n%s\nrow path\n%s", name, a.Aggregations, b.Aggregations)
			}
			if !bytes.Contains(a.Aggregations, []byte(`"doc_count":`)) {
				t.Errorf("%s: no buckets: %s", name, a.Aggregations)
			}
		}
	}
}
