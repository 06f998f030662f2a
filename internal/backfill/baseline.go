package backfill

import (
	"context"
	"errors"
)

// Baseline is the naive comparison the engine is measured against: it streams every id of both
// sides over the whole window (point in time + search_after) and merges them. It finds the same
// missing, extra and duplicated ids as Compare, at the cost of reading every document twice.
func Baseline(ctx context.Context, src, dst Side, opts Options) (*Report, error) {
	if opts.Scope.IDField == "" {
		return nil, errors.New("backfill baseline: a full id scan needs an id field")
	}
	opts.Resume = nil
	e, err := newEngine(src, dst, opts, "full-scan")
	if err != nil {
		return nil, err
	}
	leaves := []Leaf{{Range: e.window, CountDups: [2]bool{true, true}}}
	if err := e.merge(ctx, leaves, 0, nil); err != nil {
		return nil, err
	}
	e.rep.SourceDocs, e.rep.TargetDocs = e.streamed[0], e.streamed[1]
	return e.finish(), nil
}
