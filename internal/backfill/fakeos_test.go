package backfill

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeOS is a minimal OpenSearch Serverless stand-in for the OpenSearch side's unit tests: it
// understands exactly the request shapes the side sends (bool/range/exists/terms/term queries,
// date_histogram with a terms sub-aggregation, terms on _index, sort + search_after, point in
// time) and refuses what Serverless refuses (_cluster, _nodes, scroll). The lab's twin is the
// full stand-in; this keeps the side's tests independent of it.
type fakeOS struct {
	data      *MemSide
	timeField string
	idField   string
	// textID makes the id field a text field, so sorting on it fails as OpenSearch's does.
	textID bool
	// status, when set, answers every request with it.
	status int

	mu    sync.Mutex
	paths []string
	pits  map[string]bool
	seq   int
}

func newFakeOS(docs []MemDoc) *fakeOS {
	return &fakeOS{data: NewMemSide("fake", docs), timeField: "timestamp", idField: "event_id", pits: map[string]bool{}}
}

func (f *fakeOS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		writeErr(w, status, "injected", "injected failure")
		return
	}
	if r.URL.Query().Has("scroll") || strings.HasPrefix(r.URL.Path, "/_cluster") || strings.HasPrefix(r.URL.Path, "/_nodes") || strings.Contains(r.URL.Path, "/_search/scroll") {
		writeErr(w, http.StatusNotFound, "unsupported_operation", "not supported by OpenSearch Serverless")
		return
	}
	var body map[string]any
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&body)
	}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_search/point_in_time"):
		f.mu.Lock()
		f.seq++
		id := fmt.Sprintf("pit-%d", f.seq)
		f.pits[id] = true
		f.mu.Unlock()
		writeJSON(w, map[string]any{"pit_id": id, "creation_time": time.Now().UnixMilli()})
	case r.Method == http.MethodDelete && r.URL.Path == "/_search/point_in_time":
		f.mu.Lock()
		for _, id := range body["pit_id"].([]any) {
			delete(f.pits, id.(string))
		}
		f.mu.Unlock()
		writeJSON(w, map[string]any{"pits": []any{}})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_count"):
		n := 0
		f.match(body["query"], func(MemDoc) { n++ })
		writeJSON(w, map[string]any{"count": n})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_search"):
		if pit, ok := body["pit"].(map[string]any); ok {
			f.mu.Lock()
			live := f.pits[pit["id"].(string)]
			f.mu.Unlock()
			if !live || r.URL.Path != "/_search" {
				writeErr(w, http.StatusNotFound, "search_context_missing_exception", "no such pit")
				return
			}
		}
		f.search(w, body)
	default:
		writeErr(w, http.StatusNotFound, "no_handler", r.URL.Path)
	}
}

func (f *fakeOS) search(w http.ResponseWriter, body map[string]any) {
	if aggs, ok := body["aggs"].(map[string]any); ok {
		f.aggregate(w, body, aggs)
		return
	}
	sortFields := body["sort"].([]any)
	if len(sortFields) != 2 || firstKey(sortFields[0].(map[string]any)) != f.timeField {
		writeErr(w, http.StatusBadRequest, "fake_limit", fmt.Sprintf("the fake sorts by [%s, id] only, got %v", f.timeField, sortFields))
		return
	}
	idSort := firstKey(sortFields[1].(map[string]any))
	if f.textID && idSort == f.idField {
		writeErr(w, http.StatusBadRequest, "illegal_argument_exception", "Text fields are not optimised for operations that require per-document field data like aggregations and sorting")
		return
	}
	var docs []Doc
	f.match(body["query"], func(d MemDoc) { docs = append(docs, Doc{ID: d.ID, TS: d.TS}) })
	slices.SortFunc(docs, compareDocs)
	if sa, ok := body["search_after"].([]any); ok {
		after := Doc{TS: int64(sa[0].(float64)), ID: sa[1].(string)}
		i, _ := slices.BinarySearchFunc(docs, after, compareDocs)
		for i < len(docs) && docs[i] == after {
			i++
		}
		docs = docs[i:]
	}
	size := int(body["size"].(float64))
	docs = docs[:min(size, len(docs))]
	hits := make([]any, len(docs))
	for i, d := range docs {
		hits[i] = map[string]any{"_index": "x", "_id": fmt.Sprint(i), "sort": []any{d.TS, d.ID}}
	}
	writeJSON(w, map[string]any{"_shards": map[string]any{"total": 1, "failed": 0}, "hits": map[string]any{"hits": hits}})
}

func (f *fakeOS) aggregate(w http.ResponseWriter, body, aggs map[string]any) {
	h, ok := aggs["h"].(map[string]any)
	if !ok {
		h = map[string]any{"date_histogram": map[string]any{"fixed_interval": "1h"}}
	}
	dh := h["date_histogram"].(map[string]any)
	iv, err := time.ParseDuration(dh["fixed_interval"].(string))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	var terms map[string]any
	var sum bool
	if sub, ok := h["aggs"].(map[string]any); ok {
		_, sum = sub["s"]
		if d, ok := sub["d"].(map[string]any); ok {
			terms = d["terms"].(map[string]any)
		}
		if terms != nil && f.textID && terms["field"] == f.idField {
			writeErr(w, http.StatusBadRequest, "illegal_argument_exception", "Text fields are not optimised; fielddata is disabled")
			return
		}
	}
	type acc struct {
		n   int64
		sum float64
		ids map[string]int64
	}
	buckets := map[int64]*acc{}
	indices := map[string]int64{}
	f.match(body["query"], func(d MemDoc) {
		k := floorTo(d.TS, iv)
		if buckets[k] == nil {
			buckets[k] = &acc{ids: map[string]int64{}}
		}
		buckets[k].n++
		buckets[k].sum += float64(d.TS)
		buckets[k].ids[d.ID]++
		indices[d.Index]++
	})
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := []any{}
	for _, k := range keys {
		b := map[string]any{"key": k, "key_as_string": msTime(k).Format(time.RFC3339), "doc_count": buckets[k].n}
		if sum {
			// Java's Double.toString style, as OpenSearch writes sums.
			b["s"] = map[string]any{"value": json.Number(strconv.FormatFloat(buckets[k].sum, 'E', -1, 64))}
		}
		if terms != nil {
			var dups []IDCount
			for id, n := range buckets[k].ids {
				if n >= 2 {
					dups = append(dups, IDCount{ID: id, Count: n})
				}
			}
			slices.SortFunc(dups, func(a, b IDCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID)) })
			dups = dups[:min(len(dups), int(terms["size"].(float64)))]
			tb := []any{}
			for _, d := range dups {
				tb = append(tb, map[string]any{"key": d.ID, "doc_count": d.Count})
			}
			b["d"] = map[string]any{"doc_count_error_upper_bound": 0, "buckets": tb}
		}
		out = append(out, b)
	}
	res := map[string]any{}
	if ok {
		res["h"] = map[string]any{"buckets": out}
	}
	if _, ok := aggs["idx"]; ok {
		ib := []any{}
		for name, n := range indices {
			ib = append(ib, map[string]any{"key": name, "doc_count": n})
		}
		res["idx"] = map[string]any{"buckets": ib}
	}
	writeJSON(w, map[string]any{"_shards": map[string]any{"total": 1, "failed": 0}, "aggregations": res})
}

// match calls f for each document the query selects.
func (f *fakeOS) match(q any, fn func(MemDoc)) {
	f.data.mu.RLock()
	defer f.data.mu.RUnlock()
	for _, d := range f.data.docs {
		if f.matches(q, d) {
			fn(d)
		}
	}
}

func (f *fakeOS) matches(q any, d MemDoc) bool {
	m, _ := q.(map[string]any)
	if m == nil {
		return true
	}
	if b, ok := m["bool"].(map[string]any); ok {
		filters, _ := b["filter"].([]any)
		for _, c := range filters {
			if !f.matches(c, d) {
				return false
			}
		}
		should, _ := b["should"].([]any)
		if len(should) == 0 {
			return true
		}
		for _, c := range should {
			if f.matches(c, d) {
				return true
			}
		}
		return false
	}
	if r, ok := m["range"].(map[string]any); ok {
		spec := r[firstKey(r)].(map[string]any)
		return float64(d.TS) >= spec["gte"].(float64) && float64(d.TS) < spec["lt"].(float64)
	}
	if _, ok := m["exists"]; ok {
		return d.ID != ""
	}
	if t, ok := m["terms"].(map[string]any); ok {
		for _, v := range t[firstKey(t)].([]any) {
			if v.(string) == d.ID {
				return true
			}
		}
		return false
	}
	if t, ok := m["term"].(map[string]any); ok {
		return t[firstKey(t)] == d.ID
	}
	panic(fmt.Sprintf("fake OpenSearch: unsupported query %v", q))
}

func firstKey(m map[string]any) string {
	for k := range m {
		return k
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, typ, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": typ, "reason": reason,
		"root_cause": []any{map[string]any{"type": typ, "reason": reason}}}, "status": status})
}
