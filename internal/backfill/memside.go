package backfill

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// MemDoc is one document of a MemSide.
type MemDoc struct {
	Index string
	// ID is the id field's value; empty means the document has none.
	ID string
	TS int64
}

// MemSide is an in-memory Side for tests that need no cluster. It answers exactly the queries the
// engine makes and counts requests the way the OpenSearch side does (one per count query and per
// page, plus opening and closing a point in time when a stream spans pages), so request budgets
// measured on it carry over.
type MemSide struct {
	name string

	mu   sync.RWMutex
	docs []MemDoc // sorted by TS

	requests atomic.Int64
	// Fail, when set, fails every request with it (an unreachable Region).
	Fail error
	// DupShardLimit, when positive, marks the duplicate lists of buckets holding more documents
	// than it as inexact, as a multi-shard cluster's terms aggregation may be.
	DupShardLimit int64
	// MaxBuckets, when positive, refuses count queries returning more buckets with ErrTooLarge.
	MaxBuckets int
}

// NewMemSide returns a side holding docs.
func NewMemSide(name string, docs []MemDoc) *MemSide {
	m := &MemSide{name: name}
	m.Add(docs...)
	return m
}

// Add indexes more documents (late arrivals).
func (m *MemSide) Add(docs ...MemDoc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs = append(m.docs, docs...)
	slices.SortStableFunc(m.docs, func(a, b MemDoc) int { return cmp.Compare(a.TS, b.TS) })
}

// Name implements Side.
func (m *MemSide) Name() string { return m.name }

// Requests implements Side.
func (m *MemSide) Requests() int64 { return m.requests.Load() }

// each calls f for every document in the union of ranges (bounded by window).
func (m *MemSide) each(window Range, ranges []Range, f func(MemDoc)) {
	if ranges == nil {
		ranges = []Range{window}
	}
	for _, r := range ranges {
		from, to := max(r.From, window.From), min(r.To, window.To)
		i := sort.Search(len(m.docs), func(i int) bool { return m.docs[i].TS >= from })
		for ; i < len(m.docs) && m.docs[i].TS < to; i++ {
			f(m.docs[i])
		}
	}
}

// Counts implements Side.
func (m *MemSide) Counts(_ context.Context, q CountQuery) (Counts, error) {
	m.requests.Add(1)
	if m.Fail != nil {
		return Counts{}, m.Fail
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	type acc struct {
		n   int64
		sum float64 // added in float64 order, as clusters do
		ids map[string]int64
	}
	buckets := map[int64]*acc{}
	m.each(q.Window, q.Ranges, func(d MemDoc) {
		k := floorTo(d.TS, q.Interval)
		b := buckets[k]
		if b == nil {
			b = &acc{ids: map[string]int64{}}
			buckets[k] = b
		}
		b.n++
		b.sum += float64(d.TS)
		if q.Dups > 0 && d.ID != "" {
			b.ids[d.ID]++
		}
	})
	if m.MaxBuckets > 0 && len(buckets) > m.MaxBuckets {
		return Counts{}, &Error{Side: m.name, Op: "count", Status: 400, Reason: "too_many_buckets_exception", Err: ErrTooLarge}
	}
	out := Counts{Dups: map[int64]BucketDups{}}
	for k, b := range buckets {
		bk := Bucket{Key: k, Count: b.n}
		if q.Sum {
			bk.Sum = b.sum
		}
		if q.Dups > 0 {
			var bd BucketDups
			for id, n := range b.ids {
				if n > 1 {
					bd.IDs = append(bd.IDs, IDCount{ID: id, Count: n})
				}
			}
			slices.SortFunc(bd.IDs, func(a, b IDCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID)) })
			bd.Exact = len(bd.IDs) <= q.Dups && (m.DupShardLimit <= 0 || b.n <= m.DupShardLimit)
			if len(bd.IDs) > q.Dups {
				bd.IDs = bd.IDs[:q.Dups]
			}
			if len(bd.IDs) > 0 || !bd.Exact {
				out.Dups[k] = bd
			}
		}
		out.Buckets = append(out.Buckets, bk)
	}
	slices.SortFunc(out.Buckets, func(a, b Bucket) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// IndexCounts implements Side.
func (m *MemSide) IndexCounts(_ context.Context, _ Scope, window Range) ([]IndexCount, error) {
	m.requests.Add(1)
	if m.Fail != nil {
		return nil, m.Fail
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	indices := map[string]int64{}
	m.each(window, nil, func(d MemDoc) { indices[d.Index]++ })
	var out []IndexCount
	for name, n := range indices {
		out = append(out, IndexCount{Index: name, Count: n})
	}
	slices.SortFunc(out, func(a, b IndexCount) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}

// IDs implements Side. The matching documents are collected when the stream opens; pages are
// only counted, which is what a test of the engine's request budget needs.
func (m *MemSide) IDs(_ context.Context, q IDQuery) (DocStream, error) {
	if m.Fail != nil {
		m.requests.Add(1)
		return nil, m.Fail
	}
	var want map[string]bool
	if q.IDs != nil {
		want = map[string]bool{}
		for _, id := range q.IDs {
			want[id] = true
		}
	}
	var docs []Doc
	m.mu.RLock()
	m.each(Range{From: minInt64, To: maxInt64}, q.Ranges, func(d MemDoc) {
		doc := Doc{ID: d.ID, TS: d.TS}
		if d.ID == "" || (q.After != nil && compareDocs(doc, *q.After) <= 0) || (want != nil && !want[d.ID]) {
			return
		}
		docs = append(docs, doc)
	})
	m.mu.RUnlock()
	slices.SortFunc(docs, compareDocs)
	return &memStream{m: m, docs: docs, page: max(q.PageSize, 1)}, nil
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)

type memStream struct {
	m     *MemSide
	docs  []Doc
	page  int
	i     int
	end   int // documents fetched so far
	pages int
	done  bool // the last page was short
	pit   bool
}

func (s *memStream) Next(context.Context) (Doc, bool, error) {
	if s.i == s.end {
		if s.done {
			return Doc{}, false, nil
		}
		if s.pages == 2 {
			s.pit = true
			s.m.requests.Add(1) // a third page opens a point in time, as the OpenSearch side does
		}
		s.m.requests.Add(1)
		s.pages++
		n := min(s.page, len(s.docs)-s.end)
		s.end += n
		s.done = n < s.page
		if n == 0 {
			return Doc{}, false, nil
		}
	}
	d := s.docs[s.i]
	s.i++
	return d, true, nil
}

func (s *memStream) Close(context.Context) error {
	if s.pit {
		s.pit = false
		s.m.requests.Add(1)
	}
	return nil
}
