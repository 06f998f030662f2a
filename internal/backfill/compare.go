package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// DefaultLevels are the bucket intervals, coarse to fine. Each is a multiple of the next, so a
// bucket's children nest inside it; 1 ms is the resolution of OpenSearch date fields.
var DefaultLevels = []time.Duration{time.Hour, time.Minute, time.Second, 100 * time.Millisecond, 10 * time.Millisecond, time.Millisecond}

// Options configure a pass. Zero values take the defaults named on each field.
type Options struct {
	Scope Scope
	// From and To bound the window [From, To).
	From, To time.Time
	// Levels are the bucket intervals, coarse to fine (default DefaultLevels).
	Levels []time.Duration
	// LeafInterval is the finest level a count-only pass (no id field) refines to: below it a count
	// difference names no document anyway (default 1s).
	LeafInterval time.Duration
	// PageSize is the hits per id request (default 10000, OpenSearch's default
	// index.max_result_window).
	PageSize int
	// MaxBuckets bounds the buckets one histogram request may return (default 60000, under
	// OpenSearch's search.max_buckets of 65535).
	MaxBuckets int
	// MaxRanges bounds the time ranges in one query (default 900: with the clauses that group
	// them, under OpenSearch's indices.query.bool.max_clause_count of 1024).
	MaxRanges int
	// NoChecksum turns off the per-bucket sum of timestamps, for clusters that refuse a sum
	// aggregation on the time field. Without it a lost document and a duplicate (or an extra
	// document) in the same bucket leave the counts equal and go unseen.
	NoChecksum bool
	// DupLists also asks every bucket for its duplicated ids (a terms aggregation with
	// min_doc_count 2), so duplicates are reported over the whole window and subtracted before
	// comparing. It makes the cluster read every id, and buys exactness in the one case the
	// checksum misses: a lost document and a duplicate of another one in the same millisecond.
	DupLists bool
	// DupsPerBucket is the number of duplicated ids one bucket may list (default 100); a bucket
	// with more is refined instead of trusted.
	DupsPerBucket int
	// SampleSize caps every reported id list (default 100); TableSize caps bucket tables
	// (default 50). Totals stay exact.
	SampleSize, TableSize int
	// Progress, when set, is called after every level and every merged page.
	Progress func(Progress)
	// Checkpoint, when set, is called during the id merge with the state Resume takes, so a long
	// pass interrupted by a worker restart resumes instead of starting over.
	Checkpoint func(Checkpoint)
	Resume     *Checkpoint
	Logger     *slog.Logger
}

// Progress is a pass's progress, for heartbeats and the workflow's progress query.
type Progress struct {
	Stage          string `json:"stage"`
	Level          string `json:"level,omitempty"`
	BucketsChecked int64  `json:"buckets_checked"`
	DocsCompared   int64  `json:"docs_compared"`
	// Divergent is the number of buckets that still differ at the current level.
	Divergent int64 `json:"divergent"`
	Missing   int64 `json:"missing"`
	Requests  int64 `json:"requests"`
}

// Checkpoint is the state of a pass in its id merge: the leaves still to merge, how far the merge
// got, and the report so far.
type Checkpoint struct {
	Leaves []Leaf `json:"leaves"`
	// Group is the index of the leaf group being merged; After the last document key fully
	// merged in it.
	Group  int    `json:"group"`
	After  *Doc   `json:"after,omitempty"`
	Report Report `json:"report"`
}

// Leaf is a divergent bucket whose ids are merged. CountDups[side] is true when that side's
// duplicates in it were not listed by the bucket counts, so the merge counts them.
type Leaf struct {
	Range
	CountDups [2]bool `json:"count_dups"`
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Levels) == 0 {
		o.Levels = DefaultLevels
	}
	for i, l := range o.Levels {
		if l < time.Millisecond || l%time.Millisecond != 0 {
			return o, fmt.Errorf("level %s: intervals must be whole milliseconds", l)
		}
		if i > 0 && o.Levels[i-1]%l != 0 {
			return o, fmt.Errorf("level %s is not a divisor of %s: buckets would not nest", l, o.Levels[i-1])
		}
	}
	if o.LeafInterval == 0 {
		o.LeafInterval = time.Second
	}
	o.PageSize = cmp.Or(o.PageSize, 10000)
	o.MaxBuckets = cmp.Or(o.MaxBuckets, 60000)
	o.MaxRanges = cmp.Or(o.MaxRanges, 900)
	if o.Scope.IDField == "" {
		o.DupLists = false
	}
	o.DupsPerBucket = cmp.Or(o.DupsPerBucket, 100)
	o.SampleSize = cmp.Or(o.SampleSize, 100)
	o.TableSize = cmp.Or(o.TableSize, 50)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Scope.Pattern == "":
		return o, errors.New("an index pattern is required")
	case o.Scope.TimeField == "":
		return o, errors.New("a timestamp field is required")
	case !o.From.Before(o.To):
		return o, fmt.Errorf("empty window: from %s is not before to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	return o, nil
}

// engine is the state of one pass.
type engine struct {
	o      Options
	sides  [2]Side
	window Range
	acc    *accumulator
	rep    *Report
	// base are the sides' request counters at the start; prior the requests of resumed attempts.
	base  [2]int64
	prior Requests
	// located are the documents of duplicated ids whose buckets are being refined, per side: with
	// their timestamps the engine knows how many surplus copies fall into each finer bucket.
	located [2][]Doc
	// listed are the duplicate lists of buckets not yet located, by bucket key, per side.
	listed [2]map[int64][]IDCount
	// streamed counts the documents each side's id streams returned.
	streamed [2]int64
	start    time.Time
}

// Compare runs one reconciliation pass of src (the Region that took the writes) against dst (the
// Region that must have received them).
func Compare(ctx context.Context, src, dst Side, opts Options) (*Report, error) {
	e, err := newEngine(src, dst, opts, "descent")
	if err != nil {
		return nil, err
	}
	var leaves []Leaf
	group, after := 0, (*Doc)(nil)
	if r := e.o.Resume; r != nil {
		e.resume(r)
		leaves, group, after = r.Leaves, r.Group, r.After
	} else if leaves, err = e.descend(ctx); err != nil {
		return nil, err
	}
	if e.o.Scope.IDField != "" && len(leaves) > 0 {
		if err := e.merge(ctx, leaves, group, after); err != nil {
			return nil, err
		}
	}
	return e.finish(), nil
}

func newEngine(src, dst Side, opts Options, method string) (*engine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("backfill options: %w", err)
	}
	e := &engine{
		o: o, sides: [2]Side{src, dst},
		window: Range{From: o.From.UnixMilli(), To: o.To.UnixMilli()},
		acc:    newAccumulator(o.SampleSize),
		rep:    &Report{Method: method, From: o.From.UTC(), To: o.To.UTC(), Scope: o.Scope},
		base:   [2]int64{src.Requests(), dst.Requests()},
		start:  time.Now(),
	}
	return e, nil
}

func (e *engine) resume(c *Checkpoint) {
	r := c.Report
	e.rep = &r
	e.rep.Method, e.rep.Scope = "descent", e.o.Scope
	e.acc.restore(&r)
	e.prior = r.Requests
	e.o.Logger.Info("resuming backfill pass", "group", c.Group, "after", c.After, "leaves", len(c.Leaves))
}

func (e *engine) requests() Requests {
	return Requests{
		Source: e.prior.Source + e.sides[0].Requests() - e.base[0],
		Target: e.prior.Target + e.sides[1].Requests() - e.base[1],
	}
}

func (e *engine) finish() *Report {
	e.acc.fill(e.rep)
	e.rep.Requests = e.requests()
	e.rep.Elapsed = time.Since(e.start).Round(time.Millisecond).String()
	if e.rep.SourceDocs == 0 && e.rep.TargetDocs == 0 {
		e.rep.Notes = append(e.rep.Notes, "the window holds no documents in either Region: check the index pattern, the time field and the window")
	}
	if e.rep.Extra.Total > 0 {
		e.rep.Notes = append(e.rep.Notes, fmt.Sprintf("%d ids are in the target but not in the source", e.rep.Extra.Total))
	}
	if e.o.Scope.IDField == "" && e.rep.LeavesDivergent > 0 {
		e.rep.Notes = append(e.rep.Notes, "no id field: differences are per bucket; a bucket with equal counts but a different checksum holds a loss offset by a duplicate")
	}
	if e.o.NoChecksum && e.rep.Method == "descent" {
		e.rep.Notes = append(e.rep.Notes, "checksums off: a loss offset by a duplicate or an extra document in the same bucket is not seen")
	}
	return e.rep
}

func (e *engine) progress(stage, level string, divergent int64) {
	if e.o.Progress == nil {
		return
	}
	e.o.Progress(Progress{Stage: stage, Level: level, BucketsChecked: e.rep.BucketsChecked, DocsCompared: e.rep.DocsCompared,
		Divergent: divergent, Missing: e.acc.missing.seen, Requests: e.requests().Total()})
}

// node is one bucket compared on both sides. Its signature is the number of documents and the
// sum of their timestamps, less the surplus copies of duplicated ids when those are known.
type node struct {
	key int64
	n   [2]int64   // documents
	sum [2]float64 // sum of their timestamps (0 without checksums)
	x   [2]int64   // surplus copies of duplicated ids known in the bucket
	xs  [2]int64   // the surplus copies' timestamps, summed
	// okSum: the sum is exact (below 2^53) and comparable; okDup: the duplicates are fully known,
	// or were not asked for.
	okSum, okDup [2]bool
}

// exactSum is the largest sum a float64 holds exactly: clusters add timestamps in float64.
const exactSum = 1 << 53

func (n *node) distinct(s int) int64 { return n.n[s] - n.x[s] }
func (n *node) checksum(s int) int64 { return int64(n.sum[s]) - n.xs[s] }
func (n *node) resolved() bool {
	return n.okSum[0] && n.okSum[1] && n.okDup[0] && n.okDup[1]
}
func (n *node) divergent() bool {
	return n.distinct(0) != n.distinct(1) || n.checksum(0) != n.checksum(1)
}
func (n *node) active() bool { return !n.resolved() || n.divergent() }

// descend counts buckets from the coarsest useful level down, refining only buckets whose
// signatures differ (or cannot be trusted), until the cost model says streaming ids is cheaper or
// the finest level is reached. It returns the buckets left to merge by id.
func (e *engine) descend(ctx context.Context) ([]Leaf, error) {
	lvl := e.firstLevel()
	iv := e.o.Levels[lvl]
	hasID := e.o.Scope.IDField != ""
	var res [2]Counts
	var indices [2][]IndexCount
	err := both(func(s int) error {
		// The index counts and the first histograms are independent: ask for both at once.
		var idxErr error
		idxDone := make(chan struct{})
		go func() {
			defer close(idxDone)
			indices[s], idxErr = e.sides[s].IndexCounts(ctx, e.o.Scope, e.window)
		}()
		for _, r := range e.windowChunks(iv) {
			q := CountQuery{Scope: e.o.Scope, Window: e.window, Ranges: []Range{r}, Interval: iv, Sum: !e.o.NoChecksum}
			if e.o.DupLists {
				q.Dups = e.o.DupsPerBucket
			}
			c, err := e.counts(ctx, s, q)
			if err != nil {
				<-idxDone
				return err
			}
			res[s].Buckets = append(res[s].Buckets, c.Buckets...)
			for k, d := range c.Dups {
				if res[s].Dups == nil {
					res[s].Dups = map[int64]BucketDups{}
				}
				res[s].Dups[k] = d
			}
		}
		<-idxDone
		return idxErr
	})
	if err != nil {
		return nil, err
	}
	e.indexRows(indices)
	nodes := e.nodesFrom(res, nil, iv, 0)
	for s := range 2 {
		for _, b := range res[s].Buckets {
			if s == 0 {
				e.rep.SourceDocs += b.Count
			} else {
				e.rep.TargetDocs += b.Count
			}
		}
	}
	first := true
	for {
		active := e.levelStats(nodes, iv)
		if first {
			e.rep.Buckets, e.rep.BucketsDivergent = e.table(active, iv), int64(len(active))
			first = false
		}
		e.progress("count", intervalString(iv), int64(len(active)))
		if len(active) == 0 {
			return nil, nil
		}
		next := e.plan(lvl, active)
		if next < 0 {
			e.rep.Leaves, e.rep.LeavesDivergent = e.table(active, iv), int64(len(active))
			if !hasID {
				for _, n := range active {
					e.rep.MissingEstimate += max(0, n.n[0]-n.n[1])
				}
				return nil, nil
			}
			leaves := make([]Leaf, len(active))
			for i, n := range active {
				leaves[i] = Leaf{Range: e.clip(n.key, iv), CountDups: [2]bool{!e.o.DupLists || !n.okDup[0], !e.o.DupLists || !n.okDup[1]}}
			}
			return leaves, nil
		}
		if err := e.locate(ctx, active, iv); err != nil {
			return nil, err
		}
		nodes, err = e.refine(ctx, active, iv, e.o.Levels[next])
		if err != nil {
			return nil, err
		}
		lvl, iv = next, e.o.Levels[next]
	}
}

// firstLevels is how many requests the first level may take. The first level covers the whole
// window whatever its interval, so a finer one costs only its extra requests and proves more:
// for a day, one-second buckets take two requests where minute buckets take one, but minute sums
// of a busy day exceed 2^53 and must be refined to seconds anyway.
const firstLevels = 2

// firstLevel is the finest level whose buckets over the whole window fit firstLevels requests.
func (e *engine) firstLevel() int {
	width := e.window.To - e.window.From
	best := 0
	for i, l := range e.o.Levels {
		if e.o.Scope.IDField == "" && l < e.o.LeafInterval {
			break
		}
		if (width+l.Milliseconds()-1)/l.Milliseconds() <= int64(firstLevels*e.o.MaxBuckets) {
			best = i
		}
	}
	return best
}

// windowChunks splits the window into ranges of at most MaxBuckets buckets of iv, cut on bucket
// boundaries so no bucket is split between two requests.
func (e *engine) windowChunks(iv time.Duration) []Range {
	step := int64(e.o.MaxBuckets) * iv.Milliseconds()
	var out []Range
	for from := e.window.From; from < e.window.To; {
		to := min(floorTo(from, iv)+step, e.window.To)
		out = append(out, Range{From: from, To: to})
		from = to
	}
	return out
}

func (e *engine) indexRows(indices [2][]IndexCount) {
	rows := map[string]*IndexRow{}
	for s := range 2 {
		for _, ic := range indices[s] {
			r := rows[ic.Index]
			if r == nil {
				r = &IndexRow{Index: ic.Index}
				rows[ic.Index] = r
			}
			if s == 0 {
				r.Source += ic.Count
			} else {
				r.Target += ic.Count
			}
		}
	}
	for _, r := range rows {
		r.Diff = r.Target - r.Source
		e.rep.Indices = append(e.rep.Indices, *r)
	}
	slices.SortFunc(e.rep.Indices, func(a, b IndexRow) int { return cmp.Compare(a.Index, b.Index) })
}

// nodesFrom joins both sides' buckets (each sorted by key) into nodes. parents, when refining,
// are the active buckets of the coarser level, sorted by key. A bucket whose parent had its
// duplicates located takes its surplus copies from them; any other bucket takes them from its
// own duplicate list.
func (e *engine) nodesFrom(res [2]Counts, parents []*node, iv time.Duration, parentIv time.Duration) []*node {
	var surplus [2]map[int64][2]int64
	if parents != nil && e.o.DupLists {
		surplus = [2]map[int64][2]int64{e.surplus(0, iv), e.surplus(1, iv)}
	}
	a, b := res[0].Buckets, res[1].Buckets
	for _, bs := range [][]Bucket{a, b} {
		if !slices.IsSortedFunc(bs, func(x, y Bucket) int { return cmp.Compare(x.Key, y.Key) }) {
			slices.SortFunc(bs, func(x, y Bucket) int { return cmp.Compare(x.Key, y.Key) })
		}
	}
	// One backing array instead of a node per allocation: a level can hold 60,000 buckets.
	size := unionSize(a, b)
	backing := make([]node, 0, size)
	nodes := make([]*node, 0, size)
	pi := 0
	var i, j int
	for i < len(a) || j < len(b) {
		var key int64
		switch {
		case j == len(b) || i < len(a) && a[i].Key < b[j].Key:
			key = a[i].Key
		default:
			key = b[j].Key
		}
		var p *node
		if parents != nil {
			pk := floorTo(key, parentIv)
			for pi < len(parents) && parents[pi].key < pk {
				pi++
			}
			if pi == len(parents) || parents[pi].key != pk {
				// Outside the buckets being refined (a coalesced gap): skip it.
				if i < len(a) && a[i].Key == key {
					i++
				}
				if j < len(b) && b[j].Key == key {
					j++
				}
				continue
			}
			p = parents[pi]
		}
		backing = append(backing, node{key: key, okSum: [2]bool{true, true}, okDup: [2]bool{true, true}})
		n := &backing[len(backing)-1]
		for s, bs, k := 0, a, &i; s < 2; s, bs, k = s+1, b, &j {
			if *k < len(bs) && bs[*k].Key == key {
				e.fillSide(n, s, &bs[*k], res[s].Dups, p, surplus[s])
				*k++
			}
		}
		nodes = append(nodes, n)
	}
	e.rep.BucketsChecked += int64(len(nodes))
	return nodes
}

// unionSize is the number of distinct keys in two sorted bucket lists.
func unionSize(a, b []Bucket) int {
	n, i, j := 0, 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Key < b[j].Key:
			i++
		case i == len(a) || b[j].Key < a[i].Key:
			j++
		default:
			i, j = i+1, j+1
		}
		n++
	}
	return n
}

// fillSide sets one side's signature of n from its bucket.
func (e *engine) fillSide(n *node, s int, b *Bucket, dups map[int64]BucketDups, p *node, surplus map[int64][2]int64) {
	n.n[s], n.sum[s] = b.Count, b.Sum
	n.okSum[s] = math.Abs(b.Sum) < exactSum
	switch {
	case !e.o.DupLists:
	case p != nil && p.okDup[s]:
		x := surplus[b.Key]
		n.x[s], n.xs[s] = x[0], x[1]
	default:
		bd, listed := dups[b.Key]
		n.okDup[s] = !listed || bd.Exact
		if n.okDup[s] {
			for _, d := range bd.IDs {
				n.x[s] += d.Count - 1
				e.acc.dup(s, d.ID, d.Count)
			}
			if len(bd.IDs) > 0 {
				// The copies' timestamps are not known until located, so the checksum cannot be
				// corrected yet: the bucket is refined or streamed.
				if e.listed[s] == nil {
					e.listed[s] = map[int64][]IDCount{}
				}
				e.listed[s][n.key], n.okSum[s] = bd.IDs, false
			}
		}
	}
}

// levelStats records a level, credits its matching buckets as compared, and returns the buckets
// that still need work.
func (e *engine) levelStats(nodes []*node, iv time.Duration) []*node {
	st := LevelStat{Interval: intervalString(iv), Buckets: int64(len(nodes))}
	var active []*node
	for _, n := range nodes {
		if !n.resolved() {
			st.Unresolved++
		}
		if n.active() {
			active = append(active, n)
			if n.resolved() {
				st.Divergent++
			}
			continue
		}
		e.rep.DocsCompared += n.n[0]
	}
	e.rep.Levels = append(e.rep.Levels, st)
	return active
}

// table lists the largest differences among nodes, in time order.
func (e *engine) table(nodes []*node, iv time.Duration) []BucketRow {
	rows := make([]BucketRow, 0, len(nodes))
	for _, n := range nodes {
		rows = append(rows, BucketRow{Start: msTime(n.key), Interval: intervalString(iv), Source: n.n[0], Target: n.n[1],
			Diff: n.distinct(1) - n.distinct(0), ChecksumDiffers: n.resolved() && n.checksum(0) != n.checksum(1),
			Unresolved: !n.resolved()})
	}
	if len(rows) > e.o.TableSize {
		slices.SortStableFunc(rows, func(a, b BucketRow) int { return cmp.Compare(abs(b.Diff), abs(a.Diff)) })
		rows = rows[:e.o.TableSize]
	}
	slices.SortFunc(rows, func(a, b BucketRow) int { return a.Start.Compare(b.Start) })
	return rows
}

// plan picks the next level to refine the active buckets to, or -1 to stop refining: merge ids
// (with an id field) or report the buckets (without one).
//
// With an id field it minimises the estimated requests per side. Streaming costs a page per
// PageSize documents; refining costs the histogram requests plus the cost of finishing from the
// finer level, where the divergent buckets are estimated as at most one per differing document.
func (e *engine) plan(lvl int, active []*node) int {
	if e.o.Scope.IDField == "" {
		if lvl+1 < len(e.o.Levels) && e.o.Levels[lvl+1] >= e.o.LeafInterval {
			return lvl + 1
		}
		return -1
	}
	var docs, diff float64
	for _, n := range active {
		docs += float64(max(n.n[0], n.n[1]))
		if d := abs(n.distinct(1) - n.distinct(0)); n.resolved() && d > 0 {
			diff += float64(d)
		} else {
			diff++ // a checksum difference, or an unknown one: at least one document differs
		}
	}
	n := float64(len(active))
	best, choice := e.streamCost(n, docs), -1
	for m := lvl + 1; m < len(e.o.Levels); m++ {
		c := e.refineCost(lvl, m, n, docs, diff)
		if c < best {
			best, choice = c, m
		}
	}
	return choice
}

func (e *engine) streamCost(n, docs float64) float64 {
	pages := math.Max(math.Ceil(docs/float64(e.o.PageSize)), math.Ceil(n/float64(e.o.MaxRanges)))
	if docs > 2*float64(e.o.PageSize) {
		pages += 2 // opening and closing the point in time of a long stream
	}
	return math.Max(pages, 1)
}

func (e *engine) refineCost(lvl, m int, n, docs, diff float64) float64 {
	fan := float64(e.o.Levels[lvl] / e.o.Levels[m])
	children := math.Max(math.Min(n*fan, docs), 1)
	hist := math.Max(math.Ceil(children/float64(e.o.MaxBuckets)), math.Ceil(n/float64(e.o.MaxRanges)))
	nextN := math.Min(children, math.Max(diff, 1))
	nextDocs := docs * nextN / children
	best := e.streamCost(nextN, nextDocs)
	for k := m + 1; k < len(e.o.Levels); k++ {
		best = math.Min(best, e.refineCost(m, k, nextN, nextDocs, diff))
	}
	return hist + best
}

// clip is a bucket's range inside the window.
func (e *engine) clip(key int64, iv time.Duration) Range {
	return Range{From: max(key, e.window.From), To: min(key+iv.Milliseconds(), e.window.To)}
}

// chunks groups the buckets to refine (sorted) into requests that respect MaxRanges and
// MaxBuckets. Adjacent buckets become one range. When there are more ranges than the fewest
// requests could carry, the smallest gaps between them are bridged instead of adding a request;
// the children of a bridged gap are simply ignored.
func (e *engine) chunks(nodes []*node, iv, child time.Duration) [][]Range {
	fan := iv.Milliseconds() / child.Milliseconds()
	type span struct {
		r       Range
		buckets int64 // upper bound on the children the range returns
	}
	var spans []span
	var total int64
	for _, n := range nodes {
		r := e.clip(n.key, iv)
		b := min(fan, max(n.n[0], n.n[1], 1))
		total += b
		if k := len(spans); k > 0 && spans[k-1].r.To == r.From {
			spans[k-1].r.To, spans[k-1].buckets = r.To, spans[k-1].buckets+b
			continue
		}
		spans = append(spans, span{r, b})
	}
	maxB, maxR := int64(e.o.MaxBuckets), e.o.MaxRanges
	// Find the fewest requests k for which bridging the smallest gaps brings the ranges down to
	// k*MaxRanges while the buckets still fit k*MaxBuckets, then bridge exactly those gaps.
	cost := func(i int) int64 { return (spans[i+1].r.From - spans[i].r.To) / child.Milliseconds() }
	gaps := make([]int, max(len(spans)-1, 0)) // gaps[i] lies between spans i and i+1
	for i := range gaps {
		gaps[i] = i
	}
	slices.SortStableFunc(gaps, func(x, y int) int { return cmp.Compare(cost(x), cost(y)) })
	bridges := 0
	for k := max((total+maxB-1)/maxB, 1); ; k++ {
		need := max(len(spans)-int(k)*maxR, 0)
		var extra int64
		for _, g := range gaps[:need] {
			extra += cost(g)
		}
		if total+extra <= k*maxB {
			bridges = need
			break
		}
	}
	if bridges > 0 {
		bridge := make([]bool, len(spans)-1)
		for _, g := range gaps[:bridges] {
			bridge[g] = true
		}
		merged := spans[:1]
		for i := 1; i < len(spans); i++ {
			if bridge[i-1] {
				last := &merged[len(merged)-1]
				last.buckets += cost(i-1) + spans[i].buckets
				last.r.To = spans[i].r.To
				continue
			}
			merged = append(merged, spans[i])
		}
		spans = merged
	}
	var out [][]Range
	var cur []Range
	var buckets int64
	for _, sp := range spans {
		for sp.buckets > maxB { // a single span too large for one request: cut it
			// Cut on a child boundary, so no child bucket is split between two requests.
			cut := floorTo(sp.r.From+maxB*child.Milliseconds(), child)
			if len(cur) > 0 {
				out, cur, buckets = append(out, cur), nil, 0
			}
			out = append(out, []Range{{From: sp.r.From, To: cut}})
			sp.r.From, sp.buckets = cut, sp.buckets-maxB
		}
		if len(cur) > 0 && (buckets+sp.buckets > maxB || len(cur) >= maxR) {
			out, cur, buckets = append(out, cur), nil, 0
		}
		cur = append(cur, sp.r)
		buckets += sp.buckets
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// refine counts the children of the active buckets at the finer interval.
func (e *engine) refine(ctx context.Context, active []*node, iv, child time.Duration) ([]*node, error) {
	chunks := e.chunks(active, iv, child)
	var res [2]Counts
	err := both(func(s int) error {
		for _, ranges := range chunks {
			q := CountQuery{Scope: e.o.Scope, Window: e.window, Ranges: ranges, Interval: child, Sum: !e.o.NoChecksum}
			if e.o.DupLists && e.needsDups(s, ranges, active, iv) {
				q.Dups = e.o.DupsPerBucket
			}
			c, err := e.counts(ctx, s, q)
			if err != nil {
				return err
			}
			if res[s].Buckets == nil {
				res[s] = c // the common case, one chunk: no copy
				continue
			}
			res[s].Buckets = append(res[s].Buckets, c.Buckets...)
			for k, d := range c.Dups {
				if res[s].Dups == nil {
					res[s].Dups = map[int64]BucketDups{}
				}
				res[s].Dups[k] = d
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nodes := e.nodesFrom(res, active, child, iv)
	e.prune(nodes, child)
	return nodes, nil
}

// needsDups reports whether any parent bucket (sorted) inside ranges has unknown duplicates on
// side s.
func (e *engine) needsDups(s int, ranges []Range, parents []*node, iv time.Duration) bool {
	for _, r := range ranges {
		i, _ := slices.BinarySearchFunc(parents, floorTo(r.From, iv), func(n *node, k int64) int { return cmp.Compare(n.key, k) })
		for ; i < len(parents) && parents[i].key < r.To; i++ {
			if !parents[i].okDup[s] {
				return true
			}
		}
	}
	return false
}

// locate fetches the timestamps of every copy of the duplicated ids listed by active buckets, so
// their surplus copies can be subtracted at finer levels.
func (e *engine) locate(ctx context.Context, active []*node, iv time.Duration) error {
	return both(func(s int) error {
		var ids []string
		var ranges []Range
		seen := map[string]bool{}
		for _, n := range active {
			dups := e.listed[s][n.key]
			if len(dups) == 0 {
				continue
			}
			ranges = appendRange(ranges, e.clip(n.key, iv))
			for _, d := range dups {
				if !seen[d.ID] {
					seen[d.ID] = true
					ids = append(ids, d.ID)
				}
			}
			delete(e.listed[s], n.key)
		}
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(ids)
		for rs := range slices.Chunk(ranges, e.o.MaxRanges) {
			for chunk := range slices.Chunk(ids, 10000) {
				st, err := e.sides[s].IDs(ctx, IDQuery{Scope: e.o.Scope, Ranges: rs, IDs: chunk, PageSize: e.o.PageSize})
				if err != nil {
					return err
				}
				err = drain(ctx, st, func(d Doc) { e.located[s] = append(e.located[s], d) })
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// surplus counts, per bucket at interval iv, the copies beyond the first of each located id, and
// sums their timestamps.
func (e *engine) surplus(s int, iv time.Duration) map[int64][2]int64 {
	type key struct {
		bucket int64
		id     string
	}
	seen := map[key]bool{}
	out := map[int64][2]int64{}
	for _, d := range e.located[s] {
		k := key{floorTo(d.TS, iv), d.ID}
		if seen[k] {
			x := out[k.bucket]
			out[k.bucket] = [2]int64{x[0] + 1, x[1] + d.TS}
		}
		seen[k] = true
	}
	return out
}

// prune drops located copies outside the buckets still active, keeping memory to what matters.
func (e *engine) prune(nodes []*node, iv time.Duration) {
	keep := map[int64]bool{}
	for _, n := range nodes {
		if n.active() {
			keep[n.key] = true
		}
	}
	for s := range 2 {
		e.located[s] = slices.DeleteFunc(e.located[s], func(d Doc) bool { return !keep[floorTo(d.TS, iv)] })
	}
}

// counts asks side s, splitting the request when the cluster refuses it as too large.
func (e *engine) counts(ctx context.Context, s int, q CountQuery) (Counts, error) {
	c, err := e.sides[s].Counts(ctx, q)
	if err == nil || !errors.Is(err, ErrTooLarge) {
		return c, err
	}
	ranges := q.Ranges
	if ranges == nil {
		ranges = []Range{e.window}
	}
	var halves [2][]Range
	switch {
	case len(ranges) > 1:
		halves = [2][]Range{ranges[:len(ranges)/2], ranges[len(ranges)/2:]}
	default:
		r := ranges[0]
		mid := floorTo(r.From+(r.To-r.From)/2, q.Interval)
		if mid <= r.From {
			return c, err // cannot split further
		}
		halves = [2][]Range{{{From: r.From, To: mid}}, {{From: mid, To: r.To}}}
	}
	e.o.Logger.Debug("splitting a count request the cluster refused as too large", "side", e.sides[s].Name(), "ranges", len(ranges))
	var out Counts
	for _, h := range halves {
		hq := q
		hq.Ranges = h
		hc, err := e.counts(ctx, s, hq)
		if err != nil {
			return out, err
		}
		out.Buckets = append(out.Buckets, hc.Buckets...)
		for k, d := range hc.Dups {
			if out.Dups == nil {
				out.Dups = map[int64]BucketDups{}
			}
			out.Dups[k] = d
		}
	}
	return out, nil
}

// merge streams the ids of the leaves on both sides, group by group, and compares them.
func (e *engine) merge(ctx context.Context, leaves []Leaf, startGroup int, after *Doc) error {
	groups := leafGroups(leaves, e.o.MaxRanges)
	for g := startGroup; g < len(groups); g++ {
		if err := e.mergeGroup(ctx, leaves, groups, g, after); err != nil {
			return err
		}
		after = nil
		e.checkpoint(leaves, g+1, nil)
	}
	return nil
}

// leafGroups splits leaves (sorted by time) into groups of at most maxRanges coalesced ranges,
// returning each group's leaf index bounds.
func leafGroups(leaves []Leaf, maxRanges int) [][2]int {
	var groups [][2]int
	start, ranges := 0, 0
	for i, l := range leaves {
		if i > start && leaves[i-1].To != l.From {
			ranges++
		}
		if i == start {
			ranges = 1
		}
		if ranges > maxRanges {
			groups = append(groups, [2]int{start, i})
			start, ranges = i, 1
		}
	}
	if len(leaves) > start {
		groups = append(groups, [2]int{start, len(leaves)})
	}
	return groups
}

func (e *engine) checkpoint(leaves []Leaf, group int, after *Doc) {
	if e.o.Checkpoint == nil {
		return
	}
	r := *e.rep
	e.acc.fill(&r)
	r.Requests = e.requests()
	e.o.Checkpoint(Checkpoint{Leaves: leaves, Group: group, After: after, Report: r})
}

func (e *engine) mergeGroup(ctx context.Context, all []Leaf, groups [][2]int, g int, after *Doc) error {
	leaves := all[groups[g][0]:groups[g][1]]
	var ranges []Range
	for _, l := range leaves {
		ranges = appendRange(ranges, l.Range)
	}
	var readers [2]*reader
	for s := range 2 {
		st, err := e.sides[s].IDs(ctx, IDQuery{Scope: e.o.Scope, Ranges: ranges, After: after, PageSize: e.o.PageSize})
		if err != nil {
			closeAll(ctx, readers)
			return err
		}
		readers[s] = &reader{st: st}
	}
	defer closeAll(ctx, readers)
	// consume keeps both readers filled, so after the first fill the loop only looks ahead.
	if err := both(func(s int) error { return readers[s].fill(ctx) }); err != nil {
		return err
	}
	var sinceCkpt int64
	for {
		a, b := readers[0], readers[1]
		var key Doc
		switch {
		case !a.has && !b.has:
			e.progress("merge", "", e.rep.LeavesDivergent)
			return nil
		case !a.has:
			key = b.cur
		case !b.has || compareDocs(a.cur, b.cur) <= 0:
			key = a.cur
		default:
			key = b.cur
		}
		li := leafIndex(leaves, key.TS)
		var copies [2]int64
		for s := range 2 {
			n, err := readers[s].consume(ctx, key)
			if err != nil {
				return err
			}
			copies[s] = n
			// Duplicates inside resolved leaves were already counted from the bucket lists.
			if n > 1 && li >= 0 && leaves[li].CountDups[s] {
				e.acc.dup(s, key.ID, n)
			}
		}
		switch {
		case copies[0] > 0 && copies[1] == 0:
			e.acc.missing.add(IDSample{ID: key.ID, Timestamp: msTime(key.TS)})
		case copies[0] == 0 && copies[1] > 0:
			e.acc.extra.add(IDSample{ID: key.ID, Timestamp: msTime(key.TS)})
		}
		e.rep.DocsCompared += copies[0]
		e.streamed[0] += copies[0]
		e.streamed[1] += copies[1]
		sinceCkpt += max(copies[0], copies[1])
		if sinceCkpt >= int64(e.o.PageSize) {
			sinceCkpt = 0
			k := key
			e.checkpoint(all, g, &k)
			e.progress("merge", "", e.rep.LeavesDivergent)
		}
	}
}

// reader gives a stream one document of look-ahead: cur is valid when has is true.
type reader struct {
	st   DocStream
	cur  Doc
	has  bool
	done bool
}

// consume reads every copy of key and returns how many there were.
func (r *reader) consume(ctx context.Context, key Doc) (int64, error) {
	var n int64
	for r.has && r.cur == key {
		n++
		r.has = false
		if err := r.fill(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (r *reader) fill(ctx context.Context) error {
	if r.has || r.done {
		return nil
	}
	d, ok, err := r.st.Next(ctx)
	if err != nil {
		return err
	}
	r.cur, r.has, r.done = d, ok, !ok
	return nil
}

func closeAll(ctx context.Context, rs [2]*reader) {
	// Closing must work after cancellation: it frees the point in time on the cluster.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, r := range rs {
		if r != nil {
			_ = r.st.Close(cctx)
		}
	}
}

func drain(ctx context.Context, st DocStream, f func(Doc)) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = st.Close(cctx)
	}()
	for {
		d, ok, err := st.Next(ctx)
		if err != nil || !ok {
			return err
		}
		f(d)
	}
}

func leafIndex(leaves []Leaf, ts int64) int {
	i := sort.Search(len(leaves), func(i int) bool { return leaves[i].To > ts })
	if i < len(leaves) && leaves[i].Contains(ts) {
		return i
	}
	return -1
}

// appendRange adds r to sorted ranges, merging it with the last one when they touch.
func appendRange(rs []Range, r Range) []Range {
	if n := len(rs); n > 0 && rs[n-1].To >= r.From {
		rs[n-1].To = max(rs[n-1].To, r.To)
		return rs
	}
	return append(rs, r)
}

func floorTo(ms int64, iv time.Duration) int64 {
	w := iv.Milliseconds()
	q := ms / w
	if ms < 0 && ms%w != 0 {
		q--
	}
	return q * w
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// both runs f for the source (0) and the target (1) concurrently: the two Regions are
// independent clusters, so a pass takes the time of the slower one, not the sum.
func both(f func(side int) error) error {
	var wg sync.WaitGroup
	var errs [2]error
	for s := range 2 {
		wg.Go(func() { errs[s] = f(s) })
	}
	wg.Wait()
	return errors.Join(errs[0], errs[1])
}
