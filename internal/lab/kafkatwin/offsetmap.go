package kafkatwin

import "sort"

// maxOffsetRuns bounds one partition's translation history. A run covers consecutive source
// offsets copied to consecutive target offsets, so a quiet one-way stream costs one run; in
// active-active traffic, where the target's own producers interleave, runs are shorter. Groups
// that committed before the oldest kept run are left alone rather than guessed at.
const maxOffsetRuns = 100_000

type topicPartition struct {
	topic     string
	partition int32
}

// offsetRun maps source offsets [src, src+n) to target offsets [tgt, tgt+n).
type offsetRun struct {
	src, tgt, n int64
}

// offsetMap is one source partition's translation map, built as the replicator's produce
// acknowledgements arrive (in offset order, since a partition is produced in order).
type offsetMap struct {
	targetPartition int32
	runs            []offsetRun
}

func (m *offsetMap) add(src, tgt int64) {
	if k := len(m.runs); k > 0 {
		last := &m.runs[k-1]
		if src <= last.src+last.n-1 {
			// A replay after a restart re-copies records already mapped; the first copy is
			// the one consumers are positioned against, so keep it.
			return
		}
		if last.src+last.n == src && last.tgt+last.n == tgt {
			last.n++
			return
		}
	}
	m.runs = append(m.runs, offsetRun{src: src, tgt: tgt, n: 1})
	if len(m.runs) > maxOffsetRuns {
		m.runs = append(m.runs[:0:0], m.runs[len(m.runs)/2:]...)
	}
}

// translate returns the target position equivalent to committed, a source position ("the next
// record to read is committed"). If that next record has been copied, the answer is its copy's
// offset. Otherwise it is just past the copy of the last copied record before it: a consumer
// moved there may re-read a few records once the replicator catches up (duplicates), but never
// skips one that was copied. This is the same conservative rule MirrorMaker 2 uses.
func (m *offsetMap) translate(committed int64) (int64, bool) {
	// First run starting after committed; the candidate is the run before it.
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].src > committed })
	if i == 0 {
		return 0, false
	}
	run := m.runs[i-1]
	if committed < run.src+run.n {
		return run.tgt + (committed - run.src), true
	}
	return run.tgt + run.n, true
}

// runAtSource returns the run holding source offset x.
func (m *offsetMap) runAtSource(x int64) (offsetRun, bool) {
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].src+m.runs[i].n > x })
	if i < len(m.runs) && m.runs[i].src <= x {
		return m.runs[i], true
	}
	return offsetRun{}, false
}

// runAtTarget returns the run holding target offset x. Runs are in target order too: a
// partition's copies are produced, and acknowledged, in order.
func (m *offsetMap) runAtTarget(x int64) (offsetRun, bool) {
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].tgt+m.runs[i].n > x })
	if i < len(m.runs) && m.runs[i].tgt <= x {
		return m.runs[i], true
	}
	return offsetRun{}, false
}

// translateEnhanced is ENHANCED offset sync's translation: fwd maps this replicator's source
// partition onto the target's, rev is the reverse replicator's map of that target partition back
// onto the source (nil when there is none). In two-way replication with identical names a
// target partition interleaves two kinds of records: copies of source records (fwd knows
// them) and records produced on the target that the reverse replicator copied to the source
// (rev knows them). A group that committed committed on the source has consumed a target record
// when the record's source-side counterpart lies before committed, whichever way it was copied;
// the answer is the first target record not known to be consumed. LEGACY (offsetMap.translate)
// only has fwd, so a position among records that came from the target has no translation.
// Records before the first one either map knows predate replication and count as consumed, as
// translate assumes too.
func translateEnhanced(fwd, rev *offsetMap, committed int64) (int64, bool) {
	if rev == nil || len(rev.runs) == 0 {
		if fwd == nil {
			return 0, false
		}
		return fwd.translate(committed)
	}
	x := rev.runs[0].src
	if fwd != nil && len(fwd.runs) > 0 {
		x = min(x, fwd.runs[0].tgt)
	}
	// A walk that ends on a known record not consumed yet has its answer; one that ends past
	// everything known has one only if it crossed something consumed (as translate has none for
	// a position before every copy).
	moved := false
	for {
		if fwd != nil {
			if run, ok := fwd.runAtTarget(x); ok {
				if run.src+(x-run.tgt) >= committed {
					return x, true
				}
				x, moved = run.tgt+min(run.n, committed-run.src), true
				continue
			}
		}
		if run, ok := rev.runAtSource(x); ok {
			if run.tgt+(x-run.src) >= committed {
				return x, true
			}
			x, moved = run.src+min(run.n, committed-run.tgt), true
			continue
		}
		return x, moved
	}
}
