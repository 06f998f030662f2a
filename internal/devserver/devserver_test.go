package devserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/devserver"
)

// quietLogger keeps server and SDK noise out of test output unless something goes wrong.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := devserver.FreePort()
	require.NoError(t, err)
	return p
}

// start starts a server and stops it when the test ends; it fills in free ports for the fields
// left at zero so parallel test binaries never collide on 7233/8233.
func start(t testing.TB, opts devserver.Options) *devserver.Server {
	t.Helper()
	if opts.Port == 0 {
		opts.Port = freePort(t)
	}
	if opts.UIPort == 0 {
		opts.UIPort = -1
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	srv, err := devserver.Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("Start took %v (database %q, UI %q)", time.Since(began).Round(time.Millisecond), opts.DatabaseFile, srv.UIURL())
	t.Cleanup(func() { require.NoError(t, srv.Stop()) })
	return srv
}

func dial(t testing.TB, srv *devserver.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort: srv.FrontendHostPort(),
		Logger:   sdklog.NewStructuredLogger(quietLogger()),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

var (
	runbookKey     = temporal.NewSearchAttributeKeyKeyword("Runbook")
	environmentKey = temporal.NewSearchAttributeKeyKeyword("Environment")
)

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var shouted string
	if err := workflow.ExecuteActivity(ctx, shout, name).Get(ctx, &shouted); err != nil {
		return "", err
	}
	return "hello, " + shouted, nil
}

func shout(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }

// runGreeting runs greetWorkflow on a fresh worker and returns its run and result: the proof
// that frontend, history, matching and the SDK all work together.
func runGreeting(t *testing.T, c client.Client, id string, sa temporal.SearchAttributes) (client.WorkflowRun, string) {
	t.Helper()
	taskQueue := "devserver-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(shout)
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue, TypedSearchAttributes: sa,
	}, greetWorkflow, "runbook")
	require.NoError(t, err)
	var result string
	require.NoError(t, run.Get(ctx, &result))
	return run, result
}

func TestStartRunsWorkflowAndRegistersSearchAttributes(t *testing.T) {
	srv := start(t, devserver.Options{
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"Runbook":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"Environment": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	require.Empty(t, srv.UIURL(), "UIPort -1 must run without the UI")
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: devserver.DefaultNamespace})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sas.GetCustomAttributes()["Runbook"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sas.GetCustomAttributes()["Environment"])

	run, result := runGreeting(t, c, "greet-1",
		temporal.NewSearchAttributes(runbookKey.ValueSet("failover"), environmentKey.ValueSet("lab")))
	require.Equal(t, "hello, RUNBOOK", result)

	// The attributes are not just registered but queryable: visibility is written
	// asynchronously, so poll until the run shows up or the deadline passes.
	query := `Runbook = "failover" AND Environment = "lab"`
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.GetExecutions()) == 1 &&
			resp.GetExecutions()[0].GetExecution().GetRunId() == run.GetRunID()
	}, 30*time.Second, 50*time.Millisecond, "run not found by %s", query)

	if rss, ok := rssKiB(); ok {
		t.Logf("process RSS with the server running (after one workflow): %d MiB", rss/1024)
	}
}

// rssKiB reads the resident set size of this process; Linux only.
func rssKiB() (int, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n, err == nil
		}
	}
	return 0, false
}

// outsideOrigin matches absolute and protocol-relative URLs in HTML.
var outsideOrigin = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.\-\[\]:]+`)

func TestUIServesEmbeddedAssetsWithoutOutsideOrigins(t *testing.T) {
	srv := start(t, devserver.Options{UIPort: freePort(t)})
	require.NotEmpty(t, srv.UIURL())

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(srv.UIURL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	page := string(body)
	require.Contains(t, strings.ToLower(page), "<html")

	var outside []string
	for _, m := range outsideOrigin.FindAllString(page, -1) {
		u, err := url.Parse(m)
		if err != nil || u.Hostname() == "" {
			continue
		}
		if h := u.Hostname(); h != "localhost" && !net.ParseIP(h).IsLoopback() {
			outside = append(outside, m)
		}
	}
	t.Logf("outside origins referenced by index.html: %v", outside)
	require.Empty(t, outside, "index.html must load nothing from outside hosts")

	// Every script the page preloads is served by us, from the embedded assets.
	assets := regexp.MustCompile(`(?:href|src)="(/[^"]+\.js)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, assets, "index.html references no scripts; the asset scan proves nothing")
	for _, a := range assets {
		resp, _ := get(a[1])
		require.Equal(t, http.StatusOK, resp.StatusCode, a[1])
	}
	t.Logf("%d scripts referenced by index.html, all served locally", len(assets))

	// The browser fetches Temporal's news feed unless the server says not to.
	resp, body = get("/api/v1/settings")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var settings struct{ DisableNewsFetch bool }
	require.NoError(t, json.Unmarshal(body, &settings))
	require.True(t, settings.DisableNewsFetch)
}

func TestTakenPortFailsClearly(t *testing.T) {
	for _, tc := range []struct {
		what string
		opts func(taken int) devserver.Options
		hint string
	}{
		{"frontend", func(taken int) devserver.Options { return devserver.Options{Port: taken, UIPort: -1} }, "--port"},
		{"frontend HTTP", func(taken int) devserver.Options { return devserver.Options{HTTPPort: taken, UIPort: -1} }, "HTTP port"},
		// ui-server would call Logger.Fatal (os.Exit) on this one; the test running on is the proof
		// that it does not.
		{"UI", func(taken int) devserver.Options { return devserver.Options{UIPort: taken} }, "--ui-port"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer l.Close()
			taken := l.Addr().(*net.TCPAddr).Port

			opts := tc.opts(taken)
			if opts.Port == 0 {
				opts.Port = freePort(t)
			}
			opts.Logger = quietLogger()
			srv, err := devserver.Start(context.Background(), opts)
			if srv != nil {
				_ = srv.Stop()
			}
			var inUse *devserver.PortInUseError
			require.True(t, errors.As(err, &inUse), "want PortInUseError, got %v", err)
			require.Equal(t, tc.what, inUse.What)
			require.Equal(t, taken, inUse.Port)
			require.Contains(t, err.Error(),
				tc.what+" port "+strconv.Itoa(taken)+" on 127.0.0.1 is already in use")
			require.Contains(t, err.Error(), tc.hint)

			// Nothing was started: the frontend port, when it was not the taken one, is free.
			if opts.Port != taken {
				fl, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)))
				require.NoError(t, err, "frontend port left bound after a failed Start")
				require.NoError(t, fl.Close())
			}
		})
	}
}

func TestInvalidOptionsAreRejectedTogether(t *testing.T) {
	_, err := devserver.Start(context.Background(), devserver.Options{
		IP:               "localhost",
		Port:             70000,
		Namespaces:       []string{"a", "a"},
		SearchAttributes: map[string]enumspb.IndexedValueType{"X": enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED},
	})
	require.Error(t, err)
	for _, want := range []string{`IP "localhost"`, "Port 70000", `namespace "a" is listed twice`, `search attribute "X"`} {
		require.Contains(t, err.Error(), want)
	}
}

func TestDatabaseFileSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "switchyard-dev.db")
	port := freePort(t)

	first := start(t, devserver.Options{
		Port: port, DatabaseFile: db,
		SearchAttributes: map[string]enumspb.IndexedValueType{"Runbook": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	})
	run, result := runGreeting(t, dial(t, first), "greet-persist", temporal.SearchAttributes{})
	require.Equal(t, "hello, RUNBOOK", result)
	require.NoError(t, first.Stop())
	info, err := os.Stat(db)
	require.NoError(t, err)
	require.Positive(t, info.Size())

	// Same file, same port; a search attribute added since the first run is added on start.
	second := start(t, devserver.Options{
		Port: port, DatabaseFile: db,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"Runbook":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"Environment": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	c := dial(t, second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, "greet-persist", run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: devserver.DefaultNamespace})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sas.GetCustomAttributes()["Environment"])
	require.NoError(t, second.Stop())

	// Within one process the SQLite plugin keeps its connection pooled across Stop, so the
	// restart above might be served from that connection. A fresh process reads only the file.
	cmd := exec.Command(os.Args[0], "-test.run=^TestDatabaseFileChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "DEVSERVER_CHILD_DB="+db, "DEVSERVER_CHILD_RUN="+run.GetRunID())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child process failed:\n%s", out)
	require.Contains(t, string(out), "--- PASS: TestDatabaseFileChildProcess")
}

// TestDatabaseFileChildProcess is run by TestDatabaseFileSurvivesRestart in a separate process.
func TestDatabaseFileChildProcess(t *testing.T) {
	db, runID := os.Getenv("DEVSERVER_CHILD_DB"), os.Getenv("DEVSERVER_CHILD_RUN")
	if db == "" {
		t.Skip("only run as a child of TestDatabaseFileSurvivesRestart")
	}
	c := dial(t, start(t, devserver.Options{DatabaseFile: db}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, "greet-persist", runID)
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
}

// BenchmarkStart measures Start to ready (and Stop) with an in-memory database and the UI.
// Run with -benchtime=3x: each iteration leaves an in-memory database behind, because the SQLite
// plugin never closes pooled connections.
// Start and Stop are reported separately as start-ms/op and stop-ms/op.
func BenchmarkStart(b *testing.B) {
	var startTotal, stopTotal time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		began := time.Now()
		srv, err := devserver.Start(ctx, devserver.Options{Port: freePort(b), UIPort: freePort(b), Logger: quietLogger()})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		started := time.Now()
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
		startTotal += started.Sub(began)
		stopTotal += time.Since(started)
	}
	b.ReportMetric(float64(startTotal.Milliseconds())/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(stopTotal.Milliseconds())/float64(b.N), "stop-ms/op")
}
