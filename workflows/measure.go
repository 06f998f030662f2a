package workflows

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Measures are the figures a DR run is judged by. They are computed from the steps' recorded
// times and results only, so replaying a history always yields the same figures.
type Measures struct {
	// RTOSeconds runs from the trigger (the alarm's state change, else the run's start) to the end
	// of the step marked traffic_verified; nil when no such step succeeded.
	RTOSeconds *float64 `json:"rto_seconds,omitempty"`
	// RTOFrom says where RTO starts: "trigger" or "run_start".
	RTOFrom string `json:"rto_from,omitempty"`
	// MissingDocs and DuplicateDocs are the RPO evidence of the step marked backfill_verified:
	// documents the recovered Region lacks, and extra copies (MSK Replicator delivers at least
	// once). nil when the run verified no backfill.
	MissingDocs   *int64 `json:"missing_docs,omitempty"`
	DuplicateDocs *int64 `json:"duplicate_docs,omitempty"`
}

// Measure computes a run's measures from its progress.
func Measure(p *Progress) Measures {
	var m Measures
	for i := range p.Steps {
		st := &p.Steps[i]
		if st.Status != StatusSucceeded || st.EndedAt == nil {
			continue
		}
		switch st.Milestone {
		case "traffic_verified":
			from, kind := p.StartedAt, "run_start"
			if p.Trigger.At != nil && !p.Trigger.At.IsZero() && p.Trigger.At.Before(*st.EndedAt) {
				from, kind = *p.Trigger.At, "trigger"
			}
			rto := st.EndedAt.Sub(from).Seconds()
			m.RTOSeconds, m.RTOFrom = &rto, kind
		case "backfill_verified":
			if missing, dup, ok := backfillFigures(st.Result); ok {
				m.MissingDocs, m.DuplicateDocs = &missing, &dup
			}
		}
	}
	return m
}

// backfillFigures reads missing and duplicate counts from a step result (see FindBackfillFigures).
func backfillFigures(res map[string]any) (missing, dup int64, ok bool) {
	found, ok := FindBackfillFigures(res)
	if !ok {
		return 0, 0, false
	}
	missing, _ = AsInt64(found["missing"])
	dup, _ = AsInt64(found["duplicates"])
	return missing, dup, true
}

// FindBackfillFigures finds backfill verification figures in a step result: at its top level (a
// backfill.verify check) or further down (a nested runbook's step results, keyed by step id,
// searched in key order). Measures and reports read the same place.
func FindBackfillFigures(res map[string]any) (map[string]any, bool) {
	if res == nil {
		return nil, false
	}
	if _, ok := AsInt64(res["missing"]); ok {
		return res, true
	}
	for _, k := range sortedKeys(res) {
		if sub, isMap := res[k].(map[string]any); isMap {
			if found, ok := FindBackfillFigures(sub); ok {
				return found, true
			}
		}
	}
	return nil, false
}

// AsInt64 reads a count whether it came from Go (int, int64) or from a decoded JSON payload
// (float64, json.Number), since results reach workflows and reports both ways.
func AsInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case float32:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// String renders the measures for a summary line.
func (m Measures) String() string {
	s := ""
	if m.RTOSeconds != nil {
		s += fmt.Sprintf("RTO %s (from %s)", (time.Duration(*m.RTOSeconds * float64(time.Second))).Round(time.Second), m.RTOFrom)
	}
	if m.MissingDocs != nil {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("RPO evidence: %d missing, %d duplicate documents", *m.MissingDocs, *m.DuplicateDocs)
	}
	return s
}

// sortedKeys returns m's keys in order: ranging a map directly would make the result depend on
// Go's randomised iteration order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
