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
