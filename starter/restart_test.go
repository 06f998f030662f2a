package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The starter test binary doubles as a Temporal server process: with serverProcessDB set,
// TestMain runs the embedded server (SQLite in that file, as `starter dev --db-file`) on
// serverProcessPort and nothing else, until it is killed.
const (
	serverProcessDB   = "SWITCHYARD_TEST_SERVER_DB"
	serverProcessPort = "SWITCHYARD_TEST_SERVER_PORT"
)

// runServerProcess is the server process's main.
func runServerProcess() int {
	port, err := strconv.Atoi(os.Getenv(serverProcessPort))
	if err != nil {
		fmt.Fprintln(os.Stderr, serverProcessPort+":", err)
		return 2
	}
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := devserver.Start(context.Background(), devserver.Options{IP: "127.0.0.1", Port: port, UIPort: -1,
		DatabaseFile: os.Getenv(serverProcessDB), Namespaces: []string{"default"}, SearchAttributes: sa, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the server:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "server ready on", srv.FrontendHostPort())
	select {} // until SIGKILL
}

// waitServing waits until the server at c answers for the default namespace.
func waitServing(ctx context.Context, c client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the server did not come up: %w (last error %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestServerCrashDuringDrill kills the Temporal server — the embedded server on a SQLite file,
// in a process of its own — with SIGKILL at random points of a drill, and starts a new server
// process on the same file and port after a random pause; drills repeat until the server has
// crashed 3 times (10 with -chaos.long, see chaos_test.go). Nothing is flushed or closed: what
// the server had not committed to the file is lost. The worker is the real binary in a process
// of its own that stays up throughout: it must reconnect on its own, and every run must resume
// from the file and succeed, each traffic change made exactly once (the lab's change logs).
func TestServerCrashDuringDrill(t *testing.T) {
	// Parallel with the other drill suites, after the package's sequential tests: each has its
	// own lab on random ports, server and worker processes, and mostly waits out timeouts (a
	// kill costs an activity's 30 s), so together they take about as long as the longest.
	t.Parallel()
	target := 3
	if *chaosLong {
		target = 10
	}
	rng := chaosRand(t)
	bin := buildWorker(t)
	self, err := os.Executable()
	require.NoError(t, err)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, port, err := startLabFolder(ctx, chaosLabOptions("crash"), "../runbooks", quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	db := filepath.Join(t.TempDir(), "switchyard-dev.db")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	server := newWorkerProcess(t, self, map[string]string{serverProcessDB: db, serverProcessPort: strconv.Itoa(port)})
	require.NoError(t, server.start())
	// Lazy: the server process may still be starting.
	c, err := client.NewLazyClient(client.Options{HostPort: addr, Namespace: "default", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	require.NoError(t, waitServing(ctx, c))
	worker := newWorkerProcess(t, bin, map[string]string{"TEMPORAL_ADDRESS": addr, "SWITCHYARD_RUNBOOKS": p.dir})
	require.NoError(t, worker.start())

	var all []drillFigures
	var downs []time.Duration
	for drill := 1; server.kills < target; drill++ {
		before := server.kills
		// Crash the server at random points until the drill ends or the suite has its crashes;
		// stopping the loop always leaves a server process up and serving.
		d := disruptedDrill(t, ctx, c, p, drill, true, func(rctx context.Context) error {
			for server.kills < target {
				select {
				case <-rctx.Done():
					return nil
				case <-time.After(between(rng, 500*time.Millisecond, 4*time.Second)):
				}
				if err := server.kill(); err != nil {
					return err
				}
				killed := time.Now()
				time.Sleep(between(rng, 200*time.Millisecond, 2*time.Second))
				if err := server.start(); err != nil {
					return err
				}
				if err := waitServing(ctx, c); err != nil {
					return err
				}
				downs = append(downs, time.Since(killed))
			}
			return nil
		})
		require.True(t, worker.running(), "the worker rode out the crashes")
		t.Logf("drill %d: succeeded in %s across %d server crashes; traffic changes %q", drill, d.wall.Round(time.Second), server.kills-before, d.changes)
		f := drillFigures{wall: d.wall, restarts: server.kills - before}
		f.route53, f.arc = byLever(d.changes)
		f.interrupted, err = interruptionsOf(ctx, c, d.id, d.runID)
		require.NoError(t, err)
		all = append(all, f)
	}
	info, err := os.Stat(db)
	require.NoError(t, err)
	require.Positive(t, info.Size())
	require.Len(t, worker.pids, 1, "one worker process throughout")
	require.Len(t, server.pids, server.kills+1, "a new server process after each crash")
	requireCleanLab(t, p, c)
	var down []string
	for _, d := range downs {
		down = append(down, d.Round(100*time.Millisecond).String())
	}
	t.Logf("FIGURES crash: drills=%d server_sigkills=%d server_processes=%d down=%v %s", len(all), server.kills, len(server.pids), down, summarize(all))
}
