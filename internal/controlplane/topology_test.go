package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestTopologyOnPostgres starts the whole topology natively: Temporal's four services as four
// processes on PostgreSQL (schema applied by temporal-sql-tool), the namespace with Switchyard's
// search attributes, two worker processes and the intake; then stops it and drops its databases.
func TestTopologyOnPostgres(t *testing.T) {
	pg := Postgres{}
	RequirePostgres(t, pg, postgresRequired())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := ModuleRoot(".")
	require.NoError(t, err)
	began := time.Now()
	bins, err := Build(ctx, root, t.TempDir(), "")
	require.NoError(t, err)
	built := time.Since(began)
	LockPostgres(t)

	db := fmt.Sprintf("sy_test_%d", os.Getpid())
	t.Cleanup(func() {
		_ = pg.DropDatabase(context.Background(), db)
		_ = pg.DropDatabase(context.Background(), db+"_visibility")
	})
	dir := t.TempDir()
	topo, err := Start(ctx, Options{Dir: dir, Binaries: bins, Database: db, VisibilityDatabase: db + "_visibility",
		FreePorts: true, UI: true, Intake: true, Runbooks: filepath.Join(root, "runbooks")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = topo.Stop() })
	t.Logf("FIGURES topology: build=%s start=%+v", built.Round(time.Second), topo.Timings)

	// Four server processes, one per service, and the Switchyard processes.
	var names []string
	pids := map[int]bool{}
	for _, p := range topo.Processes() {
		require.True(t, p.Running(), "%s runs", p.Name)
		names = append(names, p.Name)
		pids[p.Pid()] = true
	}
	require.Equal(t, []string{"history", "matching", "frontend", "worker", "switchyard-worker-1", "switchyard-worker-2", "intake"}, names)
	require.Len(t, pids, len(names), "each runs in a process of its own")

	// The state is in PostgreSQL: the schema tool's tables, and the namespace row.
	out, err := pg.superuserSQL(ctx, fmt.Sprintf("SELECT datname FROM pg_database WHERE datname IN ('%s', '%s_visibility') ORDER BY 1", db, db))
	require.NoError(t, err)
	require.Equal(t, []string{db, db + "_visibility"}, strings.Fields(out))
	c := topo.Client()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	require.Equal(t, 720*time.Hour, ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: DefaultNamespace})
	require.NoError(t, err)
	for _, name := range workflows.SearchAttributeNames() {
		require.Contains(t, sa.GetCustomAttributes(), name)
	}
	require.NoError(t, httpOK(ctx, topo.UIURL()+"/healthz"))

	// state.json names every process for `starter prod status|down`.
	st, err := ReadState(dir)
	require.NoError(t, err)
	require.Equal(t, topo.FrontendAddress(), st.Frontend)
	var stNames []string
	for _, p := range st.Processes {
		stNames = append(stNames, p.Name)
		require.NotZero(t, p.Pid, p.Name)
	}
	require.Equal(t, names, stNames)

	require.NoError(t, topo.Stop())
	for _, p := range topo.Processes() {
		require.False(t, p.Running(), "%s stopped", p.Name)
	}
	_, err = ReadState(dir)
	require.Error(t, err, "state.json is gone after Stop")
}

// postgresTestEnv=require (CI sets it) fails the PostgreSQL tests instead of skipping them.
const postgresTestEnv = "SWITCHYARD_POSTGRES_TEST"

func postgresRequired() bool { return os.Getenv(postgresTestEnv) == "require" }
