package workflows

import (
	"testing"
	"time"
)

func TestMeasure(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	alarm := t0.Add(-30 * time.Second)
	tests := []struct {
		name                 string
		p                    Progress
		wantRTO              float64 // -1: none
		wantFrom             string
		wantMissing, wantDup int64 // -1: none
	}{
		{name: "RTO from run start without a trigger time", wantRTO: 42, wantFrom: "run_start", wantMissing: -1,
			p: Progress{StartedAt: t0, Steps: []StepState{
				{Path: "shift", Status: StatusSucceeded, EndedAt: at(20), Milestone: "traffic_shifted"},
				{Path: "verify", Status: StatusSucceeded, EndedAt: at(42), Milestone: "traffic_verified"}}}},
		{name: "RTO from the alarm", wantRTO: 72, wantFrom: "trigger", wantMissing: -1,
			p: Progress{StartedAt: t0, Trigger: Trigger{Kind: "alarm", At: &alarm}, Steps: []StepState{
				{Path: "verify", Status: StatusSucceeded, EndedAt: at(42), Milestone: "traffic_verified"}}}},
		{name: "a failed verification gives no RTO", wantRTO: -1, wantMissing: -1,
			p: Progress{StartedAt: t0, Steps: []StepState{
				{Path: "verify", Status: StatusFailed, EndedAt: at(42), Milestone: "traffic_verified"}}}},
		{name: "backfill figures at the top level", wantRTO: -1, wantMissing: 3, wantDup: 7,
			p: Progress{StartedAt: t0, Steps: []StepState{
				{Path: "backfill", Status: StatusSucceeded, EndedAt: at(5), Milestone: "backfill_verified",
					Result: map[string]any{"ok": true, "missing": float64(3), "duplicates": float64(7)}}}}},
		{name: "backfill figures of a nested runbook", wantRTO: -1, wantMissing: 0, wantDup: 12,
			p: Progress{StartedAt: t0, Steps: []StepState{
				{Path: "backfill", Status: StatusSucceeded, EndedAt: at(5), Milestone: "backfill_verified",
					Result: map[string]any{"gates": map[string]any{"ok": true}, "converge": map[string]any{"missing": 0, "duplicates": 12}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Measure(&tt.p)
			switch {
			case tt.wantRTO < 0 && m.RTOSeconds != nil:
				t.Errorf("RTO = %v, want none", *m.RTOSeconds)
			case tt.wantRTO >= 0 && (m.RTOSeconds == nil || *m.RTOSeconds != tt.wantRTO || m.RTOFrom != tt.wantFrom):
				t.Errorf("RTO = %v from %q, want %v from %q", m.RTOSeconds, m.RTOFrom, tt.wantRTO, tt.wantFrom)
			}
			switch {
			case tt.wantMissing < 0 && m.MissingDocs != nil:
				t.Errorf("missing = %d, want none", *m.MissingDocs)
			case tt.wantMissing >= 0 && (m.MissingDocs == nil || *m.MissingDocs != tt.wantMissing || *m.DuplicateDocs != tt.wantDup):
				t.Errorf("missing/dup = %v/%v, want %d/%d", m.MissingDocs, m.DuplicateDocs, tt.wantMissing, tt.wantDup)
			}
		})
	}
}
