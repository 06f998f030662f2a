package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/controlplane"
	"github.com/switchyard-dr/switchyard/workflows"
)

// postgresTestEnv=require (CI sets it) fails the PostgreSQL topology tests instead of skipping
// them when PostgreSQL cannot be used.
const postgresTestEnv = "SWITCHYARD_POSTGRES_TEST"

// TestProdTopologyDrillSurvives runs the lab drill (fail over to the secondary and back) on the
// production topology — the real Temporal server's four services as processes on PostgreSQL, two
// worker processes and the intake — three times: once while the history service's process is
// killed with SIGKILL after the failover moved traffic (and started again), once while
// PostgreSQL is restarted at the same point, and once while every PostgreSQL process is killed
// with SIGKILL there (a crash: the restart recovers from the WAL). Each drill must succeed with
// each traffic change made exactly once (disruptedDrill: routing-control updates and one Route 53
// batch per weight step), and the lab must end clean. The figures (time from the disruption to
// the run's progress moving again, activity re-executions) go to docs/reliability.md.
func TestProdTopologyDrillSurvives(t *testing.T) {
	pg := controlplane.Postgres{}
	controlplane.RequirePostgres(t, pg, os.Getenv(postgresTestEnv) == "require")
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, _, err := startLabFolder(ctx, chaosLabOptions("prod"), "../runbooks", quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)

	began := time.Now()
	bins, err := controlplane.Build(ctx, "..", t.TempDir(), "")
	require.NoError(t, err)
	built := time.Since(began)
	controlplane.LockPostgres(t)
	db := fmt.Sprintf("sy_drill_%d", os.Getpid())
	t.Cleanup(func() {
		_ = pg.DropDatabase(context.Background(), db)
		_ = pg.DropDatabase(context.Background(), db+"_visibility")
	})
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	topo, err := controlplane.Start(sctx, controlplane.Options{Dir: t.TempDir(), Binaries: bins, Postgres: pg,
		Database: db, VisibilityDatabase: db + "_visibility", FreePorts: true, Intake: true, Runbooks: p.dir})
	cancel()
	require.NoError(t, err)
	t.Cleanup(func() { _ = topo.Stop() })
	c := topo.Client()
	t.Logf("FIGURES prod topology: build=%s start=%s (postgres=%s schema=%s services=%s namespace=%s switchyard=%s)",
		built.Round(time.Second), topo.Timings.Total.Round(time.Millisecond), topo.Timings.Postgres.Round(time.Millisecond),
		topo.Timings.Schema.Round(time.Millisecond), topo.Timings.Services.Round(time.Millisecond),
		topo.Timings.Namespace.Round(time.Millisecond), topo.Timings.Switchyard.Round(time.Millisecond))

	disruptions := []struct {
		name    string
		disrupt func(ctx context.Context) error
		check   func(t *testing.T)
	}{{
		name: "history SIGKILL",
		disrupt: func(ctx context.Context) error {
			h := topo.Process("history")
			if err := h.Kill(); err != nil {
				return err
			}
			if h.Running() {
				return errors.New("the history process survived SIGKILL")
			}
			return topo.RestartService(ctx, "history")
		},
		check: func(t *testing.T) {
			require.Equal(t, 2, topo.Process("history").Starts(), "the history service ran in a second process")
		},
	}, {
		name:    "PostgreSQL restart",
		disrupt: func(ctx context.Context) error { return pg.Restart(ctx) },
	}, {
		// A crash, not a shutdown: SIGKILL to the postmaster and all its processes, then a start
		// that recovers from the WAL.
		name: "PostgreSQL SIGKILL",
		disrupt: func(ctx context.Context) error {
			n, err := pg.Crash(ctx)
			if err == nil && n < 2 {
				err = fmt.Errorf("only %d PostgreSQL process killed", n)
			}
			return err
		},
	}}
	for i, dis := range disruptions {
		t.Run(dis.name, func(t *testing.T) {
			mark := markTraffic(p.lab)
			var resumed time.Duration
			d := disruptedDrill(t, ctx, c, p, i+1, true, func(dctx context.Context) error {
				// Mid-run: the failover has moved the writes, the failback is still to come.
				if err := awaitCtx(dctx, func() bool { return len(trafficChanges(p.lab, mark)) >= 1 }); err != nil {
					return fmt.Errorf("the failover never moved traffic: %w", err)
				}
				id := workflows.OperationID("lab")
				before, err := progressSignature(dctx, c, id)
				if err != nil {
					return err
				}
				if desc, err := c.DescribeWorkflowExecution(dctx, id, ""); err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
					return fmt.Errorf("the drill was not running when %s was due (%v)", dis.name, err)
				}
				at := time.Now()
				if err := dis.disrupt(dctx); err != nil {
					return fmt.Errorf("%s: %w", dis.name, err)
				}
				// Resumed: the run's progress (its steps' states) moved on from where the
				// disruption found it, or the run closed.
				// A query answers in milliseconds once history serves again; a short timeout
				// keeps the measure fine-grained while it does not.
				err = awaitCtx(dctx, func() bool {
					qctx, cancel := context.WithTimeout(dctx, time.Second)
					defer cancel()
					if desc, err := c.DescribeWorkflowExecution(qctx, id, ""); err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
						return true
					}
					now, err := progressSignature(qctx, c, id)
					return err == nil && now != before
				})
				resumed = time.Since(at)
				if errors.Is(err, context.Canceled) {
					// The drill closed between two polls (disruptedDrill ends dctx then); it
					// checks that the run succeeded.
					return nil
				}
				return err
			})
			if dis.check != nil {
				dis.check(t)
			}
			in, err := interruptionsOf(ctx, c, d.id, d.runID)
			require.NoError(t, err)
			t.Logf("FIGURES prod %s: drill=%s resumed_after=%s activity_reruns=%d workflow_task_timeouts=%d workflow_task_failures=%d route53=%q",
				dis.name, d.wall.Round(time.Second), resumed.Round(10*time.Millisecond), in.activityReruns, in.workflowTaskTimeouts, in.workflowTaskFailures, d.changes)
		})
	}
	for _, name := range []string{"switchyard-worker-1", "switchyard-worker-2", "intake"} {
		require.True(t, topo.Process(name).Running(), "%s rode out the disruptions", name)
	}
	requireCleanLab(t, p, c)
}

// progressSignature is the run's steps and their states, to tell when the run moves on.
func progressSignature(ctx context.Context, c client.Client, id string) (string, error) {
	pr, err := queryProgress(ctx, c, id, "")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range pr.Steps {
		fmt.Fprintf(&b, "%s=%s;", s.Path, s.Status)
	}
	return b.String(), nil
}

// awaitCtx polls cond until it holds or ctx ends.
func awaitCtx(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
