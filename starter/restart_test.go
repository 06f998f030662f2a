package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// TestServerRestartDuringDrill stops the embedded Temporal server (SQLite in a file, as
// `starter dev --db-file`) at random points of a drill and starts it again on the same file and
// port after a random pause; drills repeat until the server has been restarted 3 times (10 with
// -chaos.long, see chaos_test.go). Within one process the SQLite driver may keep a pooled
// connection across Stop (internal/devserver's TestDatabaseFileSurvivesRestart proves a fresh
// process reads the file); what this suite proves is that runs resume across the restart. The worker is the real binary in a process of its own that
// stays up throughout: it must reconnect on its own, and every run must resume from the file
// and succeed, changing Route 53 exactly once per weight step.
func TestServerRestartDuringDrill(t *testing.T) {
	target := 3
	if *chaosLong {
		target = 10
	}
	rng := chaosRand(t)
	bin := buildWorker(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := filepath.Join(t.TempDir(), "switchyard-dev.db")
	p, err := startPrivateLabServer(ctx, chaosLabOptions("restart"), "../runbooks", db, quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	addr := p.dev.server.FrontendHostPort()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	worker := newWorkerProcess(t, bin, map[string]string{"TEMPORAL_ADDRESS": addr, "SWITCHYARD_RUNBOOKS": p.dir})
	require.NoError(t, worker.start())

	restarts := 0
	var all []drillFigures
	for drill := 1; restarts < target; drill++ {
		before := restarts
		// Restart the server at random points until the drill ends or the suite has its
		// restarts; stopping the loop always leaves the server up.
		d := disruptedDrill(t, ctx, c, p, drill, true, func(rctx context.Context) error {
			for restarts < target {
				select {
				case <-rctx.Done():
					return nil
				case <-time.After(between(rng, 500*time.Millisecond, 4*time.Second)):
				}
				if err := p.stopServer(); err != nil {
					return err
				}
				time.Sleep(between(rng, 200*time.Millisecond, 2*time.Second))
				sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				err := p.startServer(sctx)
				cancel()
				if err != nil {
					return err
				}
				restarts++
			}
			return nil
		})
		wall, changes := d.wall, d.changes
		require.True(t, worker.running(), "the worker rode out the restarts")
		t.Logf("drill %d: succeeded in %s across %d server restarts; traffic changes %q", drill, wall.Round(time.Second), restarts-before, changes)
		f := drillFigures{wall: wall, restarts: restarts - before}
		f.route53, f.arc = byLever(changes)
		f.interrupted, err = interruptionsOf(ctx, c, d.id, d.runID)
		require.NoError(t, err)
		all = append(all, f)
	}
	info, err := os.Stat(db)
	require.NoError(t, err)
	require.Positive(t, info.Size())
	require.Len(t, worker.pids, 1, "one worker process throughout")
	requireCleanLab(t, p, c)
	t.Logf("FIGURES restart: drills=%d restarts=%d %s", len(all), restarts, summarize(all))
}
