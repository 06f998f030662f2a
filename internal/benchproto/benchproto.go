// Package benchproto is the protocol between `starter bench backfill` and the engine process it
// runs (starter/benchengine): one JSON Request on the engine's stdin, one JSON Answer on its
// stdout. One definition, so the two programs cannot drift apart.
package benchproto

import (
	"time"

	"github.com/switchyard-dr/switchyard/internal/backfill"
)

// Request is what the benchmark asks for: a method over two endpoints.
type Request struct {
	// Method is "engine" (backfill.Compare) or "baseline" (backfill.Baseline, the full id scan).
	Method     string         `json:"method"`
	Source     string         `json:"source"`
	Target     string         `json:"target"`
	Scope      backfill.Scope `json:"scope"`
	From       time.Time      `json:"from"`
	To         time.Time      `json:"to"`
	PageSize   int            `json:"page_size"`
	SampleSize int            `json:"sample_size"`
	DupLists   bool           `json:"dup_lists"`
}

// Answer is the pass's report and what it cost: its time, and the process's resident memory
// before the pass (after a GC) and at its peak (VmHWM), the whole process's.
type Answer struct {
	Report       *backfill.Report `json:"report"`
	Seconds      float64          `json:"seconds"`
	IdleRSSBytes int64            `json:"idle_rss_bytes"`
	PeakRSSBytes int64            `json:"peak_rss_bytes"`
}
