//go:build !nodev

package main

import (
	"context"

	// The SQLite driver is pinned by a blank import, as the Temporal CLI does, so the embedded
	// server always links the version it was tested with.
	_ "modernc.org/sqlite"
)

// devCommands are the commands that embed the Temporal server (internal/devserver) or the lab
// (internal/lab). A build with -tags=nodev replaces them with stubs (nodev.go), so a production
// image's starter, which runs the intake, links neither.
func devCommands() map[string]command {
	return map[string]command{
		"dev":   {"run the embedded Temporal server with its UI, a worker and the lab", runDev},
		"bench": {"measure on the lab: bench backfill|failover|alarms|intake|rto [flags] --json", runBench},
		"demo":  {"a scripted DR drill on a private lab: impair, fail over, heal, fail back; then the report: demo [--json]", runDemo},
		"lab":   {"run the lab twin alone, or drive it: lab [--json] | lab fault KIND ... | lab heal [ID] | lab faults", func(ctx context.Context, a []string, c cmdIO) error { return runLab(ctx, a, c.stdout, c.stderr) }},
	}
}
