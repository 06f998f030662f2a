package controlplane

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
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
