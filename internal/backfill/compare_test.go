package backfill

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// scenario is a source and a target built from the same events with injected differences.
type scenario struct {
	src, dst   []MemDoc
	missing    map[string]bool // ids removed from the target
	dupIDs     map[string]int64
	from, to   time.Time
	idField    string
	sampleSize int
}

// newScenario spreads n events evenly over span, removes `missing` random events from the target
// and indexes `dups` random surviving events twice there.
func newScenario(n int, span time.Duration, missing, dups int, seed uint64) *scenario {
	rng := rand.New(rand.NewPCG(seed, 7))
	sc := &scenario{missing: map[string]bool{}, dupIDs: map[string]int64{}, from: t0, to: t0.Add(span), idField: "event_id"}
	step := span.Milliseconds() * 1000 / int64(n) // microseconds per event, so ms buckets hold several
	removed := map[int]bool{}
	for len(removed) < missing {
		removed[rng.IntN(n)] = true
	}
	for i := range n {
		d := MemDoc{Index: "application-logs-" + msTime(t0.UnixMilli()+int64(i)*step/1000).Format("2006.01.02"),
			ID: fmt.Sprintf("ev-%09d", i), TS: t0.UnixMilli() + int64(i)*step/1000}
		sc.src = append(sc.src, d)
		if removed[i] {
			sc.missing[d.ID] = true
			continue
		}
		sc.dst = append(sc.dst, d)
	}
	for len(sc.dupIDs) < dups {
		d := sc.dst[rng.IntN(len(sc.dst))]
		if sc.dupIDs[d.ID] > 0 {
			continue
		}
		sc.dupIDs[d.ID] = 2
		sc.dst = append(sc.dst, d)
	}
	return sc
}

func (sc *scenario) sides() (*MemSide, *MemSide) {
	return NewMemSide("source", sc.src), NewMemSide("target", sc.dst)
}

func (sc *scenario) opts() Options {
	return Options{Scope: Scope{Pattern: "application-logs-*", TimeField: "timestamp", IDField: sc.idField},
		From: sc.from, To: sc.to, SampleSize: max(sc.sampleSize, 100)}
}

func sampleIDs(l IDList) []string {
	var ids []string
	for _, s := range l.Sample {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// modes runs a test with checksums (the default) and with duplicate lists.
func modes(t *testing.T, f func(t *testing.T, dupLists bool)) {
	for _, dl := range []bool{false, true} {
		t.Run(map[bool]string{false: "checksums", true: "duplicate-lists"}[dl], func(t *testing.T) { f(t, dl) })
	}
}

func TestCompareFindsEveryMissingAndDuplicateID(t *testing.T) {
	modes(t, testFindsEveryMissingAndDuplicateID)
}

func testFindsEveryMissingAndDuplicateID(t *testing.T, dupLists bool) {
	sc := newScenario(300_000, 6*time.Hour, 400, 200, 1)
	sc.sampleSize = 1000
	src, dst := sc.sides()
	opts := sc.opts()
	opts.DupLists = dupLists
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)

	require.Equal(t, int64(400), rep.Missing.Total)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing), "every missing id is named")
	require.Zero(t, rep.Extra.Total)
	require.Equal(t, int64(200), rep.TargetDuplicates.IDs)
	require.Equal(t, int64(200), rep.TargetDuplicates.ExtraCopies)
	require.Zero(t, rep.SourceDuplicates.IDs)
	require.Equal(t, int64(300_000), rep.SourceDocs)
	require.Equal(t, int64(300_000-400+200), rep.TargetDocs)
	require.Equal(t, int64(300_000), rep.DocsCompared, "every source document is accounted for")
	require.False(t, rep.Converged(399))
	require.True(t, rep.Converged(400))

	base, err := Baseline(context.Background(), NewMemSide("s", sc.src), NewMemSide("t", sc.dst), sc.opts())
	require.NoError(t, err)
	require.Equal(t, rep.Missing.Total, base.Missing.Total)
	require.Equal(t, sampleIDs(rep.Missing), sampleIDs(base.Missing))
	require.Equal(t, rep.TargetDuplicates.IDs, base.TargetDuplicates.IDs)
	require.Less(t, rep.Requests.Total()*10, base.Requests.Total(), "descent costs a fraction of the full scan: %d vs %d", rep.Requests.Total(), base.Requests.Total())
	t.Logf("requests: descent %d, full scan %d; levels %+v", rep.Requests.Total(), base.Requests.Total(), rep.Levels)
}

// A lost document and a duplicate in the same bucket leave the counts equal; the checksum (or
// the duplicate lists) must still expose the loss.
func TestCompareSeesLossHiddenByDuplicateInSameBucket(t *testing.T) {
	var src []MemDoc
	for i := range 5000 {
		src = append(src, MemDoc{Index: "i", ID: fmt.Sprintf("e%05d", i), TS: t0.UnixMilli() + int64(i/3)})
	}
	for _, tc := range []struct {
		name     string
		dupOf    string // the event duplicated in place of the lost e01000
		dupLists bool
	}{
		{"checksum sees a duplicate at another millisecond", "e01007", false},
		{"duplicate lists see one in the same millisecond", "e01001", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := slices.DeleteFunc(slices.Clone(src), func(d MemDoc) bool { return d.ID == "e01000" })
			dup := src[slices.IndexFunc(src, func(d MemDoc) bool { return d.ID == tc.dupOf })]
			dst = append(dst, dup)
			opts := Options{Scope: Scope{Pattern: "i", TimeField: "ts", IDField: "id"}, From: t0, To: t0.Add(time.Hour), DupLists: tc.dupLists}
			rep, err := Compare(context.Background(), NewMemSide("s", src), NewMemSide("t", dst), opts)
			require.NoError(t, err)
			require.Equal(t, rep.SourceDocs, rep.TargetDocs, "raw counts are equal")
			require.Equal(t, []string{"e01000"}, sampleIDs(rep.Missing))
			require.Equal(t, []IDCount{{ID: dup.ID, Count: 2}}, rep.TargetDuplicates.Sample)
		})
	}
}

// Without ids, a swapped document still shows as a bucket whose checksum differs.
func TestCompareCountOnlySeesSwappedDocument(t *testing.T) {
	var src []MemDoc
	for i := range 3000 {
		src = append(src, MemDoc{Index: "i", ID: fmt.Sprintf("e%05d", i), TS: t0.UnixMilli() + int64(i)*7})
	}
	dst := slices.Clone(src)
	dst[100] = dst[101] // lost one, duplicated its neighbour
	opts := Options{Scope: Scope{Pattern: "i", TimeField: "ts"}, From: t0, To: t0.Add(time.Hour)}
	rep, err := Compare(context.Background(), NewMemSide("s", src), NewMemSide("t", dst), opts)
	require.NoError(t, err)
	require.Len(t, rep.Leaves, 1)
	require.Zero(t, rep.Leaves[0].Diff)
	require.True(t, rep.Leaves[0].ChecksumDiffers)
	require.Equal(t, msTime(src[100].TS).Truncate(time.Second), rep.Leaves[0].Start)
}

func TestCompareConvergedWindow(t *testing.T) {
	sc := newScenario(50_000, time.Hour, 0, 0, 2)
	src, dst := sc.sides()
	rep, err := Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.True(t, rep.Converged(0))
	require.Zero(t, rep.BucketsDivergent)
	require.Equal(t, int64(4), rep.Requests.Total(), "index counts and one histogram per side prove equality")
	require.Len(t, rep.Indices, 1)
	require.Equal(t, IndexRow{Index: "application-logs-2026.11.20", Source: 50_000, Target: 50_000}, rep.Indices[0])
}

func TestCompareEmptyWindow(t *testing.T) {
	opts := Options{Scope: Scope{Pattern: "x-*", TimeField: "ts", IDField: "id"}, From: t0, To: t0.Add(time.Hour)}
	rep, err := Compare(context.Background(), NewMemSide("s", nil), NewMemSide("t", nil), opts)
	require.NoError(t, err)
	require.True(t, rep.Converged(0))
	require.Zero(t, rep.SourceDocs)
	require.NotEmpty(t, rep.Notes, "an empty window is called out")
}

func TestCompareCountOnlyReportsSignedDifferences(t *testing.T) {
	sc := newScenario(100_000, 2*time.Hour, 30, 0, 3)
	sc.idField = ""
	src, dst := sc.sides()
	rep, err := Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.Equal(t, int64(30), rep.MissingEstimate)
	require.Equal(t, int64(30), rep.MissingDocs())
	require.Zero(t, rep.Missing.Total, "no id field, no ids")
	require.NotEmpty(t, rep.Leaves)
	var sum int64
	for _, l := range rep.Leaves {
		require.Equal(t, "1s", l.Interval)
		require.Negative(t, l.Diff, "target - source is negative where documents are missing")
		sum += l.Diff
	}
	require.LessOrEqual(t, int64(len(rep.Leaves)), rep.LeavesDivergent)
	require.Equal(t, int64(-30), sum)
}

func TestCompareExtraDocuments(t *testing.T) {
	sc := newScenario(20_000, time.Hour, 0, 0, 4)
	sc.dst = append(sc.dst, MemDoc{Index: "i", ID: "zz-only-in-target", TS: t0.UnixMilli() + 1234})
	src, dst := sc.sides()
	rep, err := Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.Equal(t, []string{"zz-only-in-target"}, sampleIDs(rep.Extra))
	require.True(t, rep.Converged(0), "extras are not loss")
	require.NotEmpty(t, rep.Notes)
}

// On a multi-shard cluster a bucket's duplicate list may be incomplete; such buckets must never
// be trusted by count, so the loss and the duplicates are still found.
func TestCompareUnresolvedDuplicateLists(t *testing.T) {
	sc := newScenario(100_000, time.Hour, 50, 80, 5)
	sc.sampleSize = 1000
	src, dst := sc.sides()
	dst.DupShardLimit, src.DupShardLimit = 2, 2
	opts := sc.opts()
	opts.DupLists = true
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
	require.Equal(t, int64(80), rep.TargetDuplicates.IDs)
	require.Equal(t, int64(80), rep.TargetDuplicates.ExtraCopies)
	var unresolved int64
	for _, l := range rep.Levels {
		unresolved += l.Unresolved
	}
	require.Positive(t, unresolved)
}

func TestCompareSplitsRequestsTheClusterRefuses(t *testing.T) {
	modes(t, func(t *testing.T, dupLists bool) {
		testSplitsRequests(t, dupLists)
	})
}

func testSplitsRequests(t *testing.T, dupLists bool) {
	sc := newScenario(60_000, time.Hour, 25, 10, 6)
	sc.sampleSize = 1000
	src, dst := sc.sides()
	src.MaxBuckets, dst.MaxBuckets = 700, 700
	opts := sc.opts()
	opts.DupLists = dupLists
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
	require.Equal(t, int64(10), rep.TargetDuplicates.IDs)
}

func TestCompareManyDuplicatesPerBucket(t *testing.T) {
	modes(t, testManyDuplicatesPerBucket)
}

func testManyDuplicatesPerBucket(t *testing.T, dupLists bool) {
	// A replayed hour: far more duplicates per bucket than a list holds.
	sc := newScenario(40_000, time.Hour, 20, 3000, 7)
	sc.sampleSize = 1000
	src, dst := sc.sides()
	opts := sc.opts()
	opts.DupsPerBucket = 5
	opts.DupLists = dupLists
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
	require.Equal(t, int64(3000), rep.TargetDuplicates.IDs)
	require.Equal(t, int64(3000), rep.TargetDuplicates.ExtraCopies)
}

func TestCompareSamplesLargeListsWithExactTotals(t *testing.T) {
	sc := newScenario(30_000, time.Hour, 2500, 0, 8)
	src, dst := sc.sides()
	opts := sc.opts()
	opts.SampleSize = 10
	rep, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Equal(t, int64(2500), rep.Missing.Total)
	require.Len(t, rep.Missing.Sample, 10)
	for _, id := range sampleIDs(rep.Missing) {
		require.True(t, sc.missing[id], "%s was not removed", id)
	}
}

func TestCompareLateArrivalsConvergeOnTheNextPass(t *testing.T) {
	sc := newScenario(20_000, time.Hour, 0, 0, 9)
	late := sc.dst[len(sc.dst)-40:]
	sc.dst = sc.dst[:len(sc.dst)-40]
	src, dst := sc.sides()
	rep, err := Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.Equal(t, int64(40), rep.Missing.Total)
	dst.Add(late...)
	rep, err = Compare(context.Background(), src, dst, sc.opts())
	require.NoError(t, err)
	require.True(t, rep.Converged(0))
}

func TestCompareUnreachableSide(t *testing.T) {
	sc := newScenario(1000, time.Hour, 0, 0, 10)
	src, dst := sc.sides()
	dst.Fail = &Error{Side: "us-east-1", Op: "search", Reason: "connection refused", Transient: true, Unreachable: true}
	_, err := Compare(context.Background(), src, dst, sc.opts())
	require.Error(t, err)
	require.ErrorContains(t, err, "us-east-1")
	require.ErrorContains(t, err, "unreachable")
	require.True(t, IsTransient(err))
}

func TestCompareResumesFromCheckpoint(t *testing.T) { modes(t, testResumesFromCheckpoint) }

func testResumesFromCheckpoint(t *testing.T, dupLists bool) {
	sc := newScenario(200_000, 2*time.Hour, 3000, 40, 11)
	sc.sampleSize = 5000
	opts := sc.opts()
	opts.DupLists = dupLists
	opts.PageSize = 500
	opts.MaxRanges = 50
	var cks []Checkpoint
	opts.Checkpoint = func(c Checkpoint) { cks = append(cks, c) }
	src, dst := sc.sides()
	full, err := Compare(context.Background(), src, dst, opts)
	require.NoError(t, err)
	require.Greater(t, len(cks), 4)
	require.Equal(t, keys(sc.missing), sampleIDs(full.Missing))

	for _, ck := range []Checkpoint{cks[1], cks[len(cks)/2], cks[len(cks)-2]} {
		o := sc.opts()
		o.PageSize, o.MaxRanges, o.Resume, o.DupLists = 500, 50, &ck, dupLists
		src, dst := sc.sides()
		rep, err := Compare(context.Background(), src, dst, o)
		require.NoError(t, err)
		require.Equal(t, full.Missing.Total, rep.Missing.Total, "resumed at group %d after %q", ck.Group, ck.After)
		require.Equal(t, keys(sc.missing), sampleIDs(rep.Missing))
		require.Equal(t, full.TargetDuplicates, rep.TargetDuplicates)
		require.Equal(t, full.DocsCompared, rep.DocsCompared)
		require.Less(t, rep.Requests.Total()-ck.Report.Requests.Total(), full.Requests.Total(), "a resumed pass does not start over")
	}
}

func TestOptionsValidation(t *testing.T) {
	_, err := Compare(context.Background(), NewMemSide("s", nil), NewMemSide("t", nil), Options{Scope: Scope{Pattern: "p", TimeField: "ts"}, From: t0, To: t0})
	require.ErrorContains(t, err, "empty window")
	_, err = Compare(context.Background(), NewMemSide("s", nil), NewMemSide("t", nil), Options{Scope: Scope{Pattern: "p", TimeField: "ts"}, From: t0, To: t0.Add(time.Hour),
		Levels: []time.Duration{time.Hour, 7 * time.Minute}})
	require.ErrorContains(t, err, "nest")
	_, err = Baseline(context.Background(), NewMemSide("s", nil), NewMemSide("t", nil), Options{Scope: Scope{Pattern: "p", TimeField: "ts"}, From: t0, To: t0.Add(time.Hour)})
	require.Error(t, err)
	require.False(t, IsTransient(context.Canceled))
	require.False(t, IsTransient(&Error{Transient: false}))
	require.True(t, IsTransient(errors.New("eof")))
}
