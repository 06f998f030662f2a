package main

import (
	"context"
	"fmt"
	"io"

	"go.temporal.io/sdk/client"
)

// statusBackfill is `starter status` of a BackfillVerificationWorkflow: the child a failback's
// backfill step names, or a `starter verify` run. Its progress query has its own shape, so it is
// shown as `starter verify --follow` shows it: the phase, the passes and, while they are closed,
// why the pipeline gates are (the replicator's lag, the consumer group's, dead letters). An
// ended verification prints its report; status itself succeeds either way.
func statusBackfill(ctx context.Context, c client.Client, id string, running, asJSON bool, w io.Writer) error {
	if running {
		p, err := queryBackfill(ctx, c, id)
		if err != nil {
			return fmt.Errorf("query progress of %s (is a worker running?): %w", id, err)
		}
		if asJSON {
			return writeJSON(w, p)
		}
		fmt.Fprintf(w, "%s: backfill verification on %s, %s -> %s, until %s\n  %s\n", id, p.Environment, p.Source, p.Target,
			p.Deadline.Format("15:04:05"), progressLine(p))
		return nil
	}
	res, err := backfillResult(ctx, c, id)
	if res == nil {
		return fmt.Errorf("backfill verification %s: %w", id, err)
	}
	if asJSON {
		return writeJSON(w, res)
	}
	printBackfill(w, res)
	return nil
}
