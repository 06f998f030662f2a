package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-dr/switchyard/internal/controlplane"
	"github.com/switchyard-dr/switchyard/workflows"
)

// TestRegionsDrillSurvivesControlPlaneLoss is issue 15's cross-Region proof: two Temporal
// clusters named for the lab's Regions, each on its own PostgreSQL database, connected with
// multi-cluster replication; a worker and an intake in each Region. The drill starts on the
// us-east-1 cluster; once its failover has changed Route 53, the whole us-east-1 control plane
// (its four Temporal services, its worker and its intake) is killed with SIGKILL; the operator
// fails the namespace over to us-west-2 with `starter prod failover`; the run must complete there,
// each Route 53 change applied exactly once. The figures: replication lag before the kill, time
// from the kill to the run moving again in us-west-2, activity re-executions.
func TestRegionsDrillSurvivesControlPlaneLoss(t *testing.T) {
	pg := controlplane.Postgres{}
	controlplane.RequirePostgres(t, pg, os.Getenv(postgresTestEnv) == "require")
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, _, err := startLabFolder(ctx, chaosLabOptions("regions"), "../runbooks", quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	bins, err := controlplane.Build(ctx, "..", t.TempDir(), "")
	require.NoError(t, err)
	controlplane.LockPostgres(t)

	var opts []controlplane.Options
	for i, region := range []string{east, west} {
		db := fmt.Sprintf("sy_r%d_%d", i+1, os.Getpid())
		t.Cleanup(func() {
			_ = pg.DropDatabase(context.Background(), db)
			_ = pg.DropDatabase(context.Background(), db+"_visibility")
		})
		opts = append(opts, controlplane.Options{Dir: t.TempDir(), Binaries: bins, Postgres: pg, Database: db,
			VisibilityDatabase: db + "_visibility", FreePorts: true, Workers: 1, Intake: true, Runbooks: p.dir,
			Cluster: controlplane.ClusterOptions{Name: region, InitialFailoverVersion: i + 1}})
	}
	began := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	r, err := controlplane.StartRegions(sctx, opts)
	cancel()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Stop() })
	started := time.Since(began)
	eastCP, westCP := r.Region(east), r.Region(west)
	ce, cw := eastCP.Client(), westCP.Client()

	mark := markTraffic(p.lab)
	in := drillInput(true, "tester")
	id := workflows.OperationID("lab")
	wr, err := ce.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	require.NoError(t, err)
	waitLong(t, "the failover's traffic change", func() bool { return len(trafficChanges(p.lab, mark)) >= 1 })

	// Replication lag: how long us-west-2 takes to hold the history us-east-1 has now.
	lagFrom := time.Now()
	desc, err := ce.DescribeWorkflowExecution(ctx, id, wr.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus(), "the drill is mid-run")
	eastLen := desc.GetWorkflowExecutionInfo().GetHistoryLength()
	waitLong(t, "us-west-2 to hold us-east-1's history", func() bool {
		d, err := cw.DescribeWorkflowExecution(ctx, id, wr.GetRunID())
		return err == nil && d.GetWorkflowExecutionInfo().GetHistoryLength() >= eastLen
	})
	lag := time.Since(lagFrom)

	// us-east-1's control plane is gone.
	before, _ := progressSignature(ctx, cw, id)
	killedAt := time.Now()
	require.NoError(t, eastCP.Kill())
	for _, proc := range eastCP.Processes() {
		require.False(t, proc.Running(), "%s of us-east-1 is dead", proc.Name)
	}

	// Bad input first: a cluster that is not the namespace's changes nothing.
	var out, errOut bytes.Buffer
	env := map[string]string{"TEMPORAL_NAMESPACE": "default"}
	getenv := func(k string) string { return env[k] }
	err = run(ctx, []string{"prod", "failover", "--to", "eu-west-1", "--address", westCP.FrontendAddress()}, getenv, &out, &errOut)
	require.ErrorContains(t, err, "cluster eu-west-1 is not a cluster of namespace default")
	// What the operator types.
	out.Reset()
	require.NoError(t, run(ctx, []string{"prod", "failover", "--to", west, "--address", westCP.FrontendAddress()}, getenv, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "namespace default: active cluster us-east-1 -> us-west-2")
	failedOverAt := time.Now()

	var resumed time.Duration
	waitLong(t, "the run to move on in us-west-2", func() bool {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if d, err := cw.DescribeWorkflowExecution(qctx, id, wr.GetRunID()); err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return true
		}
		now, err := progressSignature(qctx, cw, id)
		return err == nil && now != before
	})
	resumed = time.Since(killedAt)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	res, err := waitResult(wctx, cw, id, wr.GetRunID())
	cancel()
	require.NoError(t, err)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome, res.Error)
	changes := trafficChanges(p.lab, mark)
	require.Equal(t, wantDrillChanges, changes, "each Route 53 change applied exactly once across the Regions")
	in2, err := interruptionsOf(ctx, cw, id, wr.GetRunID())
	require.NoError(t, err)
	requireCleanLab(t, p, cw)
	t.Logf("FIGURES regions: start=%s replication_lag=%s kill_to_failover=%s kill_to_resumed=%s activity_reruns=%d workflow_task_timeouts=%d workflow_task_failures=%d route53=%q",
		started.Round(time.Second), lag.Round(10*time.Millisecond), failedOverAt.Sub(killedAt).Round(10*time.Millisecond),
		resumed.Round(10*time.Millisecond), in2.activityReruns, in2.workflowTaskTimeouts, in2.workflowTaskFailures, changes)
}
