package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/switchyard-dr/switchyard/workflows"
)

// The browser test needs Debian's Chromium and the playwright-core of internal/browsertest's
// package-lock.json; `bash .ci/run` installs both and sets browserTestModeEnv=require, so CI fails
// rather than skips when they are missing.
const (
	browserTestModeEnv = "SWITCHYARD_BROWSER_TEST"
	browserTestDir     = "../internal/browsertest"
	browserChromium    = "/usr/bin/chromium"
)

// TestBrowserStartsReadmeRunbookFromUIForm does what the README's "From the Temporal UI" section
// tells a person to do, in a real browser: with `starter dev` running, open the UI, choose Start
// Workflow, type the README's workflow id, task queue, workflow type and input, submit, and watch
// the run's page until it reads COMPLETED. The values come from README.md itself, so the test also
// keeps that section honest. The browser's word is not trusted: the run is then checked through
// the Temporal API (it did not exist before the browser ran, it closed as completed, the form's
// JSON reached the workflow unchanged, and the demo runbook succeeded with the Region the input
// asked for). The screenshots land in t.ArtifactDir() and in internal/browsertest/artifacts/.
func TestBrowserStartsReadmeRunbookFromUIForm(t *testing.T) {
	node := browserTestPrerequisites(t)
	form := readmeUIForm(t)
	// The README's values must be the ones the worker actually serves, or a reader's run would hang.
	require.Equal(t, workflows.TaskQueue, form.taskQueue, "README task queue")
	require.Equal(t, workflows.RunbookWorkflowType, form.workflowType, "README workflow type")

	ui, c, devErr := startBrowserDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := c.DescribeWorkflowExecution(ctx, form.workflowID, "")
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "workflow %s must not exist before the browser starts it, got %v", form.workflowID, err)

	out := t.ArtifactDir()
	cmd := exec.CommandContext(ctx, node, "start-from-ui.mjs", "--ui", ui, "--out", out,
		"--workflow-id", form.workflowID, "--task-queue", form.taskQueue,
		"--workflow-type", form.workflowType, "--input", form.input,
		"--chromium", browserChromium, "--timeout-ms", "45000")
	cmd.Dir = browserTestDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	keepBrowserArtifacts(t, out)
	if runErr != nil {
		t.Fatalf("browser script: %v\nstderr:\n%s\nstdout:\n%s\nstarter dev stderr (tail):\n%s\nscreenshots: %s",
			runErr, stderr.String(), stdout.String(), devErr.tail(4000), out)
	}
	var seen struct{ Status, URL string }
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &seen), "browser script output %q", stdout.String())
	require.Equal(t, "COMPLETED", strings.ToUpper(seen.Status), "status the UI showed")
	for _, png := range []string{"started.png", "completed.png"} {
		st, err := os.Stat(filepath.Join(out, png))
		require.NoError(t, err, "screenshot %s", png)
		require.NotZero(t, st.Size(), "screenshot %s", png)
	}
	t.Logf("UI showed %s at %s; screenshots in %s and %s", seen.Status, seen.URL, out, filepath.Join(browserTestDir, "artifacts"))

	// Now the server's word.
	desc, err := c.DescribeWorkflowExecution(ctx, form.workflowID, "")
	require.NoError(t, err)
	info := desc.GetWorkflowExecutionInfo()
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, info.GetStatus())
	require.Equal(t, form.workflowType, info.GetType().GetName())
	require.Equal(t, form.taskQueue, info.GetTaskQueue())

	hist := c.GetWorkflowHistory(ctx, form.workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, hist.HasNext())
	first, err := hist.Next()
	require.NoError(t, err)
	started := first.GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, started, "first event is %s", first.GetEventType())
	var gotInput, wantInput map[string]any
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &gotInput))
	require.NoError(t, json.Unmarshal([]byte(form.input), &wantInput))
	require.Equal(t, wantInput, gotInput, "the input the UI sent")

	var res workflows.Result
	require.NoError(t, c.GetWorkflow(ctx, form.workflowID, "").Get(ctx, &res))
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome, "run error: %s", res.Error)
	require.Equal(t, wantInput["runbook"], res.Runbook)
	require.Equal(t, wantInput["environment"], res.Environment)
	require.Equal(t, wantInput["requested_by"], res.RequestedBy)
	require.Equal(t, "ui", res.Trigger.Kind, "a run started from the UI defaults to the ui trigger")
	params, _ := wantInput["params"].(map[string]any)
	target := params["target"]
	require.NotEmpty(t, target, "README input names a target Region")
	plan := stepAt(&res.Progress, "plan")
	require.Equal(t, workflows.StatusSucceeded, plan.Status)
	values, _ := plan.Result["values"].(map[string]any)
	require.Equal(t, target, values["to"], "the Region the plan step moves to, from the input")
	require.Equal(t, workflows.StatusSucceeded, stepAt(&res.Progress, "done").Status)
}

// TestBrowserSendsControlSignalFromUI does what the README's "From the Temporal UI" section tells a
// person to do with a run paused on a failed step: on the run's page, More Actions, Send a Signal,
// signal name `control` and the README's JSON, submitted in a real browser. The demo runbook is
// started with fail_check, so its verify step fails and pauses; the README's control retries it
// with `that` set to true. The run must then go on and succeed, and the Temporal API must show the
// control applied (who, why, from the signal) and nothing ignored.
func TestBrowserSendsControlSignalFromUI(t *testing.T) {
	node := browserTestPrerequisites(t)
	control := readmeControlSignal(t)
	ui, c, devErr := startBrowserDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	id := "demo-paused-from-ui"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.RunbookWorkflowType,
		workflows.RunInput{Runbook: "demo", Environment: "lab", Params: map[string]any{"fail_check": true}, RequestedBy: "browser-test"})
	require.NoError(t, err)
	var p workflows.Progress
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(ctx, id, run.GetRunID(), workflows.ProgressQuery)
		if err != nil || v.Get(&p) != nil {
			return false
		}
		return stepAt(&p, "verify").Status == workflows.StatusPaused
	}, time.Minute, 100*time.Millisecond, "the demo's verify step never paused")

	out := t.ArtifactDir()
	cmd := exec.CommandContext(ctx, node, "signal-from-ui.mjs", "--ui", ui, "--out", out, "--workflow-id", id,
		"--signal", workflows.ControlSignal, "--input", control, "--chromium", browserChromium, "--timeout-ms", "45000")
	cmd.Dir = browserTestDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	keepBrowserArtifacts(t, out)
	if runErr != nil {
		t.Fatalf("browser script: %v\nstderr:\n%s\nstdout:\n%s\nstarter dev stderr (tail):\n%s\nscreenshots: %s",
			runErr, stderr.String(), stdout.String(), devErr.tail(4000), out)
	}
	var seen struct{ Status, URL string }
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &seen), "browser script output %q", stdout.String())
	require.Equal(t, "COMPLETED", strings.ToUpper(seen.Status), "status the UI showed")

	// The server's word: the signal reached the run, the control applied, the run went on.
	var res workflows.Result
	require.NoError(t, c.GetWorkflow(ctx, id, run.GetRunID()).Get(ctx, &res))
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome, "run error: %s", res.Error)
	require.Equal(t, workflows.StatusSucceeded, stepAt(&res.Progress, "verify").Status)
	require.Equal(t, workflows.StatusSucceeded, stepAt(&res.Progress, "done").Status)
	require.Empty(t, res.Ignored, "the run refused the README's control")
	var want workflows.Control
	require.NoError(t, json.Unmarshal([]byte(control), &want))
	require.Len(t, res.Controls, 1)
	got := res.Controls[0]
	require.Equal(t, want.Action, got.Action)
	require.Equal(t, want.Step, got.Step)
	require.Equal(t, want.By, got.By)
	require.Equal(t, want.Comment, got.Comment)
}

// readmeControlSignal reads the control JSON of README.md's "From the Temporal UI" section: the
// ```json control block.
func readmeControlSignal(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(raw)
	start := strings.Index(text, "### From the Temporal UI")
	require.NotEqual(t, -1, start, "README.md has no \"### From the Temporal UI\" section")
	section := text[start+3:]
	if end := strings.Index(section, "\n##"); end >= 0 {
		section = section[:end]
	}
	require.Contains(t, section, "signal name `control`", "README's UI section does not name the control signal")
	require.Contains(t, section, `"fail_check": true`, "README's UI section does not say how to make the demo pause")
	m := regexp.MustCompile("(?s)```json control\\n(.*?)\\n```").FindStringSubmatch(section)
	require.NotNil(t, m, "README's UI section has no ```json control block")
	input := strings.TrimSpace(m[1])
	require.True(t, json.Valid([]byte(input)), "README's control is not JSON: %s", input)
	return input
}

// startBrowserDev starts a dev environment of the test's own, on free ports and without the lab
// (the demo runbook touches no system, and the lab's fixed ports belong to whoever else runs
// one), and returns its UI's address, a client, and its log.
func startBrowserDev(t *testing.T) (string, client.Client, *browserLog) {
	t.Helper()
	port, uiPort := browserFreePort(t), browserFreePort(t)
	for uiPort == port {
		uiPort = browserFreePort(t)
	}
	devCtx, stopDev := context.WithCancel(context.Background())
	devOut, devErr := &browserLog{}, &browserLog{}
	devDone := make(chan error, 1)
	go func() {
		devDone <- run(devCtx, []string{"dev", "--lab=false", "--ip", "127.0.0.1",
			"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort),
			"--runbooks", "../runbooks", "--log-level", "warn"},
			func(string) string { return "" }, devOut, devErr)
	}()
	t.Cleanup(func() {
		stopDev()
		select {
		case err := <-devDone:
			if err != nil {
				t.Errorf("starter dev: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("starter dev did not stop within 30s of cancellation")
		}
	})
	ui := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	waitForUI(t, ui, devDone, devErr)
	c, err := client.Dial(client.Options{HostPort: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Namespace: "default", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return ui, c, devErr
}

// browserTestPrerequisites returns the node binary, or skips (fails under
// SWITCHYARD_BROWSER_TEST=require) when the browser or playwright-core is missing.
func browserTestPrerequisites(t *testing.T) string {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(browserChromium); err != nil {
		missing = append(missing, browserChromium+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(browserTestDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (npm ci --prefix internal/browsertest)")
	}
	if len(missing) == 0 {
		return node
	}
	msg := fmt.Sprintf("browser test needs %s; `bash .ci/run` installs them", strings.Join(missing, ", "))
	if os.Getenv(browserTestModeEnv) == "require" {
		t.Fatalf("%s (%s=require)", msg, browserTestModeEnv)
	}
	t.Skipf("%s (set %s=require to fail instead of skipping)", msg, browserTestModeEnv)
	return ""
}

// uiForm is what the README tells a person to type into Start Workflow.
type uiForm struct {
	workflowID, taskQueue, workflowType, input string
}

// readmeUIForm reads the form's values from README.md's "From the Temporal UI" section: the
// first backticked value of each table row, and the JSON block below the table.
func readmeUIForm(t *testing.T) uiForm {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(raw)
	start := strings.Index(text, "### From the Temporal UI")
	require.NotEqual(t, -1, start, "README.md has no \"### From the Temporal UI\" section")
	section := text[start+3:]
	if end := strings.Index(section, "\n##"); end >= 0 {
		section = section[:end]
	}
	row := func(label string) string {
		m := regexp.MustCompile(`(?m)^\|\s*` + regexp.QuoteMeta(label) + "\\s*\\|\\s*`([^`]+)`").FindStringSubmatch(section)
		require.NotNil(t, m, "README's UI form table has no %q row with a `value`", label)
		return m[1]
	}
	f := uiForm{workflowID: row("Workflow ID"), taskQueue: row("Task Queue"), workflowType: row("Workflow Type")}
	m := regexp.MustCompile("(?s)```json\\n(.*?)\\n```").FindStringSubmatch(section)
	require.NotNil(t, m, "README's UI section has no ```json input block")
	f.input = strings.TrimSpace(m[1])
	require.True(t, json.Valid([]byte(f.input)), "README's UI input is not JSON: %s", f.input)
	return f
}

func browserFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitForUI polls the UI until it answers, and fails early with dev's log if dev exits instead.
func waitForUI(t *testing.T, ui string, devDone <-chan error, devErr *browserLog) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := hc.Get(ui + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case derr := <-devDone:
			t.Fatalf("starter dev exited before its UI answered: %v\n%s", derr, devErr.tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the UI at %s did not answer: %v\n%s", ui, err, devErr.tail(4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// keepBrowserArtifacts copies the screenshots to internal/browsertest/artifacts/<test>/
// (git-ignored), because t.ArtifactDir() is a temporary directory unless `go test -artifacts` is
// given.
func keepBrowserArtifacts(t *testing.T, from string) {
	t.Helper()
	to := filepath.Join(browserTestDir, "artifacts", t.Name())
	if err := os.RemoveAll(to); err != nil {
		t.Logf("clear %s: %v", to, err)
		return
	}
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Logf("keep screenshots in %s: %v", to, err)
	}
}

// browserLog is a bytes.Buffer safe for the many goroutines of an in-process dev environment.
type browserLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *browserLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *browserLog) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
