package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"
)

// Metric names of the runbook store (runbook.Store), which the worker's engine, its catalog
// entries and the alarm intake read the runbooks folder through. A reload is a rebuild after a
// file was added, removed or changed: one per edit is expected; a reload rate without edits
// means the folder is being rewritten underneath the worker (a sync tool touching every file).
const (
	// MetricRunbookStoreReloads counts the times the store rebuilt the folder's runbooks,
	// environments and trigger rules because a file changed (the first load included).
	MetricRunbookStoreReloads = "switchyard_runbook_store_reloads_total"
	// MetricRunbookStoreParses counts the files the store parsed (a file whose sha256 was new).
	MetricRunbookStoreParses = "switchyard_runbook_store_file_parses_total"
)

// StoreCounts are a runbook store's counters (runbook.StoreStats, without importing the runbook
// package here).
type StoreCounts struct {
	Reloads, Parses int64
}

// ObserveRunbookStore exports a runbook store's counters, read from counts at each scrape, so
// /metrics and the store can never disagree.
func (t *Telemetry) ObserveRunbookStore(counts func() StoreCounts) error {
	meter := t.meters.Meter("switchyard-runbooks")
	reloads, err := meter.Int64ObservableCounter(MetricRunbookStoreReloads, metric.WithDescription("Rebuilds of the runbooks folder after a file was added, removed or changed."))
	if err != nil {
		return fmt.Errorf("telemetry: %s: %w", MetricRunbookStoreReloads, err)
	}
	parses, err := meter.Int64ObservableCounter(MetricRunbookStoreParses, metric.WithDescription("Runbook, environment and trigger rules files parsed because their text was new."))
	if err != nil {
		return fmt.Errorf("telemetry: %s: %w", MetricRunbookStoreParses, err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c := counts()
		o.ObserveInt64(reloads, c.Reloads)
		o.ObserveInt64(parses, c.Parses)
		return nil
	}, reloads, parses)
	if err != nil {
		return fmt.Errorf("telemetry: observe runbook store counters: %w", err)
	}
	return nil
}
