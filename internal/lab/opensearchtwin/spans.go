package opensearchtwin

import (
	"math"
	"slices"
)

// Time spans. A query's conditions on the index's primary timestamp (range, term/terms, exists,
// and bool combinations of them: filter intersects, should unions, must_not subtracts) compile
// to a sorted set of disjoint timestamp intervals. The index keeps its rows in timestamp order
// (row order while documents arrive in order, else a permutation built once and extended), so
// each interval is a contiguous run of positions found by two binary searches. A disjunction of
// hundreds of ranges then costs a few binary searches instead of a test of every range against
// every document, a count with such a filter is O(log n) per interval, and histograms and sorted
// pages read only the rows inside the intervals.

// tsSpan is an inclusive interval of primary timestamps (epoch millis).
type tsSpan struct{ lo, hi int64 }

// allTimestamps is every timestamp, including tsMissing: the complement of a condition on the
// timestamp matches documents that have none.
var allTimestamps = []tsSpan{{math.MinInt64, math.MaxInt64}}

// normSpans sorts s, drops empty intervals and merges overlapping or touching ones, in place.
func normSpans(s []tsSpan) []tsSpan {
	s = slices.DeleteFunc(s, func(x tsSpan) bool { return x.lo > x.hi })
	if len(s) < 2 {
		return s
	}
	if !slices.IsSortedFunc(s, cmpSpan) {
		slices.SortFunc(s, cmpSpan)
	}
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		if last.hi == math.MaxInt64 || x.lo <= last.hi+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return out
}

func cmpSpan(a, b tsSpan) int {
	switch {
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// intersectSpans returns the timestamps in both a and b (each normalised).
func intersectSpans(a, b []tsSpan) []tsSpan {
	var out []tsSpan
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, tsSpan{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// complementSpans returns the timestamps not in s (normalised), tsMissing included.
func complementSpans(s []tsSpan) []tsSpan {
	var out []tsSpan
	next := int64(math.MinInt64)
	open := true // next is a timestamp not yet covered
	for _, x := range s {
		if open && x.lo > next {
			out = append(out, tsSpan{next, x.lo - 1})
		}
		if x.hi == math.MaxInt64 {
			open = false
			break
		}
		next = x.hi + 1
	}
	if open {
		out = append(out, tsSpan{next, math.MaxInt64})
	}
	return out
}

// spansContain reports whether ts lies in s (normalised).
func spansContain(s []tsSpan, ts int64) bool {
	i, _ := slices.BinarySearchFunc(s, ts, func(x tsSpan, t int64) int {
		switch {
		case x.hi < t:
			return -1
		case x.lo > t:
			return 1
		}
		return 0
	})
	return i < len(s) && s[i].lo <= ts && ts <= s[i].hi
}

// tsQuery is the compiled query matching exactly the documents whose primary timestamp is in s
// (normalised).
func tsQuery(s []tsSpan) *cquery {
	if len(s) == 0 {
		return matchNone()
	}
	cq := &cquery{hasTs: true, tsLo: s[0].lo, tsHi: s[len(s)-1].hi}
	if len(s) > 1 {
		cq.spans = s
	}
	return cq
}

// tsSpans returns the query's timestamp intervals (the caller must not modify them).
func (cq *cquery) tsSpans() []tsSpan {
	if !cq.hasTs {
		return allTimestamps
	}
	if cq.spans != nil {
		return cq.spans
	}
	return []tsSpan{{cq.tsLo, cq.tsHi}}
}

// inTs reports whether a primary timestamp satisfies the query's conditions on it.
func (cq *cquery) inTs(ts int64) bool {
	if !cq.hasTs {
		return true
	}
	if ts < cq.tsLo || ts > cq.tsHi {
		return false
	}
	return cq.spans == nil || spansContain(cq.spans, ts)
}

// posSpan is a run [lo, hi) of positions in a target's timestamp order.
type posSpan struct{ lo, hi int }

// tsView is a target's rows in timestamp order: position p holds row ord[p], or row p when ord
// is nil (the rows arrived in order). A permutation may list rows the target does not see
// (written after its snapshot): callers skip rows >= t.n.
type tsView struct {
	ix   *index
	ord  []uint32
	size int
}

func (t *target) tsView() tsView {
	ord := t.ix.order()
	if ord == nil {
		return tsView{ix: t.ix, size: t.n}
	}
	return tsView{ix: t.ix, ord: ord, size: len(ord)}
}

func (v *tsView) row(p int) int {
	if v.ord == nil {
		return p
	}
	return int(v.ord[p])
}

func (v *tsView) ts(p int) int64 { return v.ix.tsAt(v.row(p)) }

// lowerBound returns the first position in [from, size) whose timestamp is >= x.
func (v *tsView) lowerBound(from int, x int64) int {
	lo, hi := from, v.size
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.ts(m) < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// upperBound returns the first position in [from, size) whose timestamp is > x.
func (v *tsView) upperBound(from int, x int64) int {
	if x == math.MaxInt64 {
		return v.size
	}
	return v.lowerBound(from, x+1)
}

// positions maps timestamp intervals (normalised) to the non-empty runs of positions holding them.
func (v *tsView) positions(spans []tsSpan) []posSpan {
	out := make([]posSpan, 0, len(spans))
	from := 0
	for _, s := range spans {
		lo := v.lowerBound(from, s.lo)
		hi := v.upperBound(lo, s.hi)
		if lo < hi {
			out = append(out, posSpan{lo, hi})
		}
		from = hi
		if from >= v.size {
			break
		}
	}
	return out
}

// eachTs calls f with the primary timestamps of the target's visible, live rows that q (which
// must have no condition besides the timestamp, fn == nil) matches, a slice at a time: in
// timestamp order when q restricts the timestamp, else in row order. Where rows arrived in
// order and none is deleted, the slices are the timestamp column itself, so nothing is copied.
func (t *target) eachTs(q *cquery, buf []int64, f func(ts []int64)) []int64 {
	if q.none {
		return buf
	}
	ix := t.ix
	hasDel := len(ix.deleted) > 0
	rowRun := func(lo, hi int) { // rows [lo, hi), chunk by chunk
		for lo < hi {
			c := lo >> colBits
			end := min(hi, (c+1)<<colBits)
			col := ix.ts[c][lo&colMask : lo&colMask+end-lo]
			if !hasDel {
				f(col)
			} else {
				buf = buf[:0]
				for k, ts := range col {
					if t.live(lo + k) {
						buf = append(buf, ts)
					}
				}
				if len(buf) > 0 {
					f(buf)
				}
			}
			lo = end
		}
	}
	if !q.hasTs {
		rowRun(0, t.n)
		return buf
	}
	v := t.tsView()
	ps := v.positions(q.tsSpans())
	if v.ord == nil {
		for _, s := range ps {
			rowRun(s.lo, s.hi)
		}
		return buf
	}
	const batch = 4096
	buf = buf[:0]
	for _, s := range ps {
		for p := s.lo; p < s.hi; p++ {
			row := int(v.ord[p])
			if row >= t.n || (hasDel && !t.live(row)) {
				continue
			}
			buf = append(buf, ix.tsAt(row))
			if len(buf) == batch {
				f(buf)
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		f(buf)
	}
	return buf
}
