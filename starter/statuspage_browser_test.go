package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/statuspage"
	"github.com/switchyard-dr/switchyard/workflows"
)

// TestBrowserStatusPageShowsTheLab opens the status page on the package's lab in Debian's
// Chromium, with JavaScript off, after a drill, a readiness evaluation and with a failover
// waiting for its approval (the DR lock held), and checks what a person reads there against
// what the lab and the Temporal API say: DNS sends every answer to us-east-1, both replicators'
// lag is charted, the pipelines and collections are ACTIVE, each readiness check is listed, the
// lock names the failover and its approve step with a link to the run's Temporal UI page, and
// the last drill shows its outcome, RTO and RPO with a report that opens. The screenshots are
// kept (status.png, report.png; the path is logged).
func TestBrowserStatusPageShowsTheLab(t *testing.T) {
	node := browserTestPrerequisites(t)
	resetLab(t)
	t.Cleanup(func() { resetLab(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	res, err := runToEnd(t, "drill", "target="+west, "auto_approve=true", "pause=1s", "soak=1s", "lookback=1h", "settle=2s", "verify_window=30s")
	require.NoError(t, err, "%+v", res.Error)
	rd, err := evaluateReadiness(ctx, shared.client, "lab", 3*time.Minute)
	require.NoError(t, err)
	require.NotEmpty(t, rd.Checks)
	// The lock: a failover waiting for a person's approval.
	lockID := startRunbook(t, "failover", "target="+west, "verify_window=30s")
	waitLong(t, "the failover's approval", func() bool {
		return stepOf(progressOf(t, lockID), "approve").Status == workflows.StatusWaiting
	})

	const uiURL = "http://127.0.0.1:8233"
	addr, err := startStatusPage(ctx, statusPageOptions{addr: "127.0.0.1:0", runbooks: sharedRunbooks, namespace: "default", uiURL: uiURL},
		shared.client, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	// Visibility lists a closed run a moment after it closed: wait until the page's own reads see
	// the drill and the readiness result, so the browser reads a settled page.
	store := runbook.NewStore(sharedRunbooks)
	col := &statuspage.Collector{Cloud: activities.NewCloud(activities.CloudOptions{RunbookDir: sharedRunbooks, Store: store, Logger: slog.New(slog.DiscardHandler)}),
		Temporal: shared.client, Store: store, Namespace: "default", UIURL: uiURL}
	waitLong(t, "the page to see the drill and the readiness result", func() bool {
		e := col.Collect(ctx, "lab")
		return e.LastDrill != nil && e.LastDrill.Outcome != "" && e.Readiness != nil && e.Readiness.State != ""
	})

	out := t.ArtifactDir()
	cmd := exec.CommandContext(ctx, node, "status-page.mjs", "--url", fmt.Sprintf("http://%s/", addr), "--env", "lab", "--out", out,
		"--chromium", browserChromium, "--timeout-ms", "90000")
	cmd.Dir = browserTestDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	keepBrowserArtifacts(t, out)
	kept := filepath.Join(browserTestDir, "artifacts", t.Name())
	if runErr != nil {
		t.Fatalf("browser script: %v\nstderr:\n%s\nstdout:\n%s\nscreenshots: %s", runErr, stderr.String(), stdout.String(), kept)
	}
	t.Logf("status page screenshots: %s (status.png, report.png)", kept)
	var seen struct {
		Status          int
		Refresh, Title  string
		Traffic         string
		Shares          []struct{ Region, Text string }
		Lag             string
		LagPolylines    int
		Resources       string
		Readiness       string
		ReadinessChecks int
		Lock, LockLink  string
		Drill           string
		ReportTitle     string
	}
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &seen), "browser script output %q", stdout.String())
	require.Equal(t, 200, seen.Status)
	require.Equal(t, "15", seen.Refresh, "it refreshes itself")

	// Traffic, as DNS answers it: the drill ended with every write in us-east-1.
	require.Equal(t, map[string]int64{east: 100, west: 0}, labShares(t))
	shares := map[string]string{}
	for _, s := range seen.Shares {
		shares[s.Region] = s.Text
	}
	require.Contains(t, shares[east], "100 %", seen.Traffic)
	require.Contains(t, shares[west], "0 %", seen.Traffic)
	require.Contains(t, seen.Traffic, "arc_routing_control", "the lab's lever")

	// Lag both ways, charted from CloudWatch.
	require.Equal(t, 2, seen.LagPolylines, seen.Lag)
	require.Contains(t, seen.Lag, "into us-east-1 lab-secondary-to-primary")
	require.Contains(t, seen.Lag, "into us-west-2 lab-primary-to-secondary")

	for _, name := range []string{sharedLab.Pipeline(east).Name(), sharedLab.Pipeline(west).Name(), "lab-opensearch-primary", "lab-opensearch-secondary"} {
		require.Contains(t, seen.Resources, name)
	}
	require.Equal(t, 4, strings.Count(seen.Resources, "ACTIVE"), seen.Resources)

	// Each readiness check of the latest evaluation.
	require.Equal(t, len(rd.Checks), seen.ReadinessChecks, seen.Readiness)
	require.Contains(t, seen.Readiness, rd.State)

	// The lock holder and its step, linked to its Temporal UI page.
	desc, err := shared.client.DescribeWorkflowExecution(ctx, lockID, "")
	require.NoError(t, err)
	require.Contains(t, seen.Lock, "failover running since")
	require.Contains(t, seen.Lock, "approve")
	require.Equal(t, fmt.Sprintf("%s/namespaces/default/workflows/switchyard%%2Flab/%s/history", uiURL, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()), seen.LockLink)

	// The last drill: its outcome, RTO and RPO, and its report.
	require.Contains(t, seen.Drill, res.Outcome)
	require.Contains(t, seen.Drill, fmt.Sprintf("%.1f s", *res.Measures.RTOSeconds))
	require.Contains(t, seen.Drill, fmt.Sprintf("%d missing, %d duplicate documents", *res.Measures.MissingDocs, *res.Measures.DuplicateDocs))
	require.Equal(t, "drill on lab: "+res.Outcome, seen.ReportTitle)

	for _, png := range []string{"status.png", "report.png"} {
		st, err := os.Stat(filepath.Join(kept, png))
		require.NoError(t, err, "screenshot %s", png)
		require.NotZero(t, st.Size())
	}
}
