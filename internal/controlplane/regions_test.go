package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestRegionsConnectAndFailover starts two Temporal clusters named for the lab's Regions, each on
// its own database, connects them, registers the global namespace in us-east-1, sees it (and the
// search attributes) replicated to us-west-2, and fails it over to us-west-2 through us-west-2's
// frontend; a namespace that is not global and a cluster that is not the namespace's are refused
// with errors naming both.
func TestRegionsConnectAndFailover(t *testing.T) {
	pg := Postgres{}
	RequirePostgres(t, pg, postgresRequired())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := ModuleRoot(".")
	require.NoError(t, err)
	bins, err := Build(ctx, root, t.TempDir(), "")
	require.NoError(t, err)
	LockPostgres(t)
	var opts []Options
	for i, region := range []string{"us-east-1", "us-west-2"} {
		db := fmt.Sprintf("sy_%s_%d", map[string]string{"us-east-1": "east", "us-west-2": "west"}[region], os.Getpid())
		t.Cleanup(func() {
			_ = pg.DropDatabase(context.Background(), db)
			_ = pg.DropDatabase(context.Background(), db+"_visibility")
		})
		opts = append(opts, Options{Dir: t.TempDir(), Binaries: bins, Database: db, VisibilityDatabase: db + "_visibility",
			FreePorts: true, Workers: -1, Cluster: ClusterOptions{Name: region, InitialFailoverVersion: i + 1}})
	}
	began := time.Now()
	r, err := StartRegions(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Stop() })
	t.Logf("FIGURES regions: start=%s", time.Since(began).Round(time.Millisecond))
	east, west := r.Region("us-east-1"), r.Region("us-west-2")

	d, err := west.Client().WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	require.True(t, d.GetIsGlobalNamespace())
	require.Equal(t, "us-east-1", d.GetReplicationConfig().GetActiveClusterName())

	// Bad input: a local namespace, a cluster that is not the namespace's.
	_, err = east.Client().WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "local-only",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour), IsGlobalNamespace: false})
	require.NoError(t, err)
	require.NoError(t, retry(ctx, "local-only visible", func(ctx context.Context) error {
		_, err := east.Client().WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "local-only"})
		return err
	}))
	_, err = Failover(ctx, east.Client().WorkflowService(), east.Client().OperatorService(), "local-only", "us-west-2")
	require.ErrorContains(t, err, "namespace local-only is not a global namespace")
	// A Region's worker pointed at the local namespace refuses to start, naming it.
	cmd := exec.CommandContext(ctx, bins.Worker, "--runbooks", filepath.Join(root, "runbooks"))
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+east.FrontendAddress(), "TEMPORAL_NAMESPACE=local-only",
		"SWITCHYARD_REQUIRE_GLOBAL_NAMESPACE=true")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the worker exits non-zero")
	require.Contains(t, string(out), "namespace local-only (cluster us-east-1 at "+east.FrontendAddress()+") is not a global namespace")
	// The same worker on the global namespace starts (and is stopped once it polls).
	cmd = exec.CommandContext(ctx, bins.Worker, "--runbooks", filepath.Join(root, "runbooks"))
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+east.FrontendAddress(), "TEMPORAL_NAMESPACE="+DefaultNamespace,
		"SWITCHYARD_REQUIRE_GLOBAL_NAMESPACE=true")
	require.NoError(t, cmd.Start())
	require.NoError(t, retry(ctx, "the worker on the global namespace polls", func(ctx context.Context) error {
		resp, err := east.Client().DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return err
		}
		if len(resp.GetPollers()) == 0 {
			return errors.New("no poller yet")
		}
		return nil
	}))
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	_, err = Failover(ctx, west.Client().WorkflowService(), west.Client().OperatorService(), DefaultNamespace, "eu-west-1")
	require.ErrorContains(t, err, "cluster eu-west-1 is not a cluster of namespace default")

	// us-east-1 is gone; the operator fails over through us-west-2.
	require.NoError(t, east.Kill())
	from, err := Failover(ctx, west.Client().WorkflowService(), west.Client().OperatorService(), DefaultNamespace, "us-west-2")
	require.NoError(t, err)
	require.Equal(t, "us-east-1", from)
	d, err = west.Client().WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	require.Equal(t, "us-west-2", d.GetReplicationConfig().GetActiveClusterName())
	// Again: nothing to do.
	from, err = Failover(ctx, west.Client().WorkflowService(), west.Client().OperatorService(), DefaultNamespace, "us-west-2")
	require.NoError(t, err)
	require.Equal(t, "us-west-2", from)
}
