package backfill

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Report is the outcome of one reconciliation pass. Lists are small by construction (samples
// and capped tables with exact totals), so a report fits a workflow history event.
type Report struct {
	Method string    `json:"method"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Scope  Scope     `json:"scope"`
	// SourceDocs and TargetDocs count the window's documents on each side.
	SourceDocs int64      `json:"source_docs"`
	TargetDocs int64      `json:"target_docs"`
	Indices    []IndexRow `json:"indices,omitempty"`
	// Levels summarises each bucket level the pass looked at.
	Levels []LevelStat `json:"levels,omitempty"`
	// Buckets are divergent buckets of the first (coarsest) level; Leaves are the divergent
	// buckets the pass ended on. Both are capped; the totals are exact.
	Buckets          []BucketRow `json:"buckets,omitempty"`
	BucketsDivergent int64       `json:"buckets_divergent"`
	Leaves           []BucketRow `json:"leaves,omitempty"`
	LeavesDivergent  int64       `json:"leaves_divergent"`
	// Missing ids are in the source, not in the target; Extra the reverse.
	Missing IDList `json:"missing"`
	Extra   IDList `json:"extra"`
	// Duplicates per side: ids with more than one document in a bucket.
	SourceDuplicates DupList `json:"source_duplicates"`
	TargetDuplicates DupList `json:"target_duplicates"`
	// MissingEstimate, for count-only comparisons, is the sum of (source - target) over the
	// divergent leaf buckets where the source has more: a lower bound on lost documents.
	MissingEstimate int64    `json:"missing_estimate,omitempty"`
	BucketsChecked  int64    `json:"buckets_checked"`
	DocsCompared    int64    `json:"docs_compared"`
	Requests        Requests `json:"requests"`
	Elapsed         string   `json:"elapsed,omitempty"`
	Notes           []string `json:"notes,omitempty"`
}

// MissingDocs is the number of documents the target lacks: exact with an id field, the count
// estimate without one.
func (r *Report) MissingDocs() int64 {
	if r.Scope.IDField != "" {
		return r.Missing.Total
	}
	return r.MissingEstimate
}

// Converged reports whether no more than tolerance documents are missing. Duplicates and extra
// documents never block: at-least-once delivery makes duplicates expected, and extras are not
// loss.
func (r *Report) Converged(tolerance int64) bool { return r.MissingDocs() <= tolerance }

// IndexRow is one index's document counts in the window.
type IndexRow struct {
	Index  string `json:"index"`
	Source int64  `json:"source"`
	Target int64  `json:"target"`
	// Diff is Target - Source: negative means documents are missing from the target.
	Diff int64 `json:"diff"`
}

// LevelStat summarises one bucket level of a pass.
type LevelStat struct {
	Interval  string `json:"interval"`
	Buckets   int64  `json:"buckets"`
	Divergent int64  `json:"divergent"`
	// Unresolved buckets had a signature that proved nothing (an inexact sum, or an incomplete
	// duplicate list), so they were refined regardless.
	Unresolved int64 `json:"unresolved,omitempty"`
}

// BucketRow is one bucket in a report table.
type BucketRow struct {
	Start    time.Time `json:"start"`
	Interval string    `json:"interval"`
	Source   int64     `json:"source"`
	Target   int64     `json:"target"`
	// Diff is the difference of distinct documents, Target - Source: negative means missing
	// from the target. Duplicates are subtracted when they are known.
	Diff int64 `json:"diff"`
	// ChecksumDiffers is true when the sums of timestamps differ: with equal counts, a document
	// was swapped for another (a loss offset by a duplicate or an extra document).
	ChecksumDiffers bool `json:"checksum_differs,omitempty"`
	// Unresolved is true when the bucket's signature could not be trusted (an inexact sum, or
	// duplicates not fully known), so it was refined or merged regardless.
	Unresolved bool `json:"unresolved,omitempty"`
}

// IDList is a uniform sample of ids with the exact total.
type IDList struct {
	Total  int64      `json:"total"`
	Sample []IDSample `json:"sample,omitempty"`
}

// IDSample is one reported id with its document's timestamp.
type IDSample struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
}

// DupList reports duplicated ids of one side: how many ids, how many surplus copies, a sample.
type DupList struct {
	IDs         int64     `json:"ids"`
	ExtraCopies int64     `json:"extra_copies"`
	Sample      []IDCount `json:"sample,omitempty"`
}

// Requests counts the HTTP requests a pass made per side.
type Requests struct {
	Source int64 `json:"source"`
	Target int64 `json:"target"`
}

// Total is the requests of both sides.
func (r Requests) Total() int64 { return r.Source + r.Target }

// sampler keeps a uniform sample of at most size items (reservoir sampling) and the exact number
// of items seen, so memory stays bounded however many ids differ.
type sampler[T any] struct {
	size  int
	seen  int64
	items []T
	rng   *rand.Rand
}

func newSampler[T any](size int, seed uint64) *sampler[T] {
	return &sampler[T]{size: size, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

func (s *sampler[T]) add(v T) {
	s.seen++
	if len(s.items) < s.size {
		s.items = append(s.items, v)
		return
	}
	if j := s.rng.Int64N(s.seen); j < int64(s.size) {
		s.items[j] = v
	}
}

// accumulator collects what a pass finds: the id lists with their samples.
type accumulator struct {
	missing, extra *sampler[IDSample]
	dups           [2]*sampler[IDCount]
	dupCopies      [2]int64
}

func newAccumulator(size int) *accumulator {
	return &accumulator{
		missing: newSampler[IDSample](size, 1),
		extra:   newSampler[IDSample](size, 2),
		dups:    [2]*sampler[IDCount]{newSampler[IDCount](size, 3), newSampler[IDCount](size, 4)},
	}
}

// restore continues from a checkpointed report, so a resumed pass keeps exact totals.
func (a *accumulator) restore(r *Report) {
	a.missing.seen, a.missing.items = r.Missing.Total, slices.Clone(r.Missing.Sample)
	a.extra.seen, a.extra.items = r.Extra.Total, slices.Clone(r.Extra.Sample)
	for i, d := range []DupList{r.SourceDuplicates, r.TargetDuplicates} {
		a.dups[i].seen, a.dups[i].items, a.dupCopies[i] = d.IDs, slices.Clone(d.Sample), d.ExtraCopies
	}
}

func (a *accumulator) dup(side int, id string, copies int64) {
	a.dups[side].add(IDCount{ID: id, Count: copies})
	a.dupCopies[side] += copies - 1
}

func (a *accumulator) fill(r *Report) {
	r.Missing = idList(a.missing)
	r.Extra = idList(a.extra)
	r.SourceDuplicates = dupList(a.dups[0], a.dupCopies[0])
	r.TargetDuplicates = dupList(a.dups[1], a.dupCopies[1])
}

func idList(s *sampler[IDSample]) IDList {
	out := IDList{Total: s.seen, Sample: slices.Clone(s.items)}
	slices.SortFunc(out.Sample, func(a, b IDSample) int {
		return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func dupList(s *sampler[IDCount], copies int64) DupList {
	out := DupList{IDs: s.seen, ExtraCopies: copies, Sample: slices.Clone(s.items)}
	slices.SortFunc(out.Sample, func(a, b IDCount) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// intervalString formats an interval as OpenSearch's fixed_interval does ("1h", "1m", "100ms").
func intervalString(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return itoa(int64(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return itoa(int64(d/time.Minute)) + "m"
	case d%time.Second == 0:
		return itoa(int64(d/time.Second)) + "s"
	}
	return itoa(d.Milliseconds()) + "ms"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
