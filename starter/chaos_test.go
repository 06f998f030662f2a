package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/slackapp/slackfake"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Reliability suites (docs/reliability.md). TestChaosWorkerKilledDuringDrill SIGKILLs the worker
// process at random points of a drill; TestChaosAimedAtRiskyWindows (aimed_test.go) SIGKILLs it
// inside the moments a lost result could repeat a side effect; TestServerCrashDuringDrill
// (restart_test.go) SIGKILLs the Temporal server's process under one. All are CI-sized by
// default; -chaos.long runs the long versions:
//
//	go test -count=1 -timeout 20m -run 'TestChaos|TestServerCrash' -v ./starter
//	go test -count=1 -timeout 90m -run 'TestChaos|TestServerCrash' -v ./starter -args -chaos.long
//
// -chaos.seed replays a run's random kill and restart points (each test logs its seed).
var (
	chaosLong = flag.Bool("chaos.long", false, "run the long reliability suites: 50 random worker kills, 20 per aimed window, 10 server crashes")
	chaosSeed = flag.Uint64("chaos.seed", 0, "seed of the reliability suites' random kill and restart points (0: from the clock)")
)

// chaosRand returns the suite's random source and logs its seed, so a failure can be replayed.
func chaosRand(t *testing.T) *mrand.Rand {
	t.Helper()
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("random seed %d (replay with -args -chaos.seed=%d)", seed, seed)
	return mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// between returns a random duration in [lo, hi).
func between(r *mrand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// chaosLabOptions are the starter tests' short lab delays (TestMain), so a drill takes seconds.
func chaosLabOptions(testID string) lab.Options {
	return lab.Options{ProducerRate: 20, WithEventIDs: true, TestID: testID,
		PipelineStartDelay: 500 * time.Millisecond, PipelineStopDelay: 300 * time.Millisecond,
		Route53ChangeDelay: 200 * time.Millisecond, ReplicatorFailAfter: 3 * time.Second,
		MetricsInterval: 250 * time.Millisecond, AlarmWindow: 2 * time.Second}
}

// drillInput is the drill both suites run: fail over to the secondary and back, with short
// holds and soaks.
func drillInput(autoApprove bool, by string) workflows.RunInput {
	return workflows.RunInput{Runbook: "drill", Environment: "lab", RequestedBy: by, Mode: workflows.ModeExecute,
		Params: map[string]any{"target": west, "auto_approve": autoApprove, "pause": "1s", "soak": "1s",
			"lookback": "1h", "settle": "2s", "verify_window": "30s"},
		Trigger: workflows.Trigger{Kind: "manual"}}
}

// buildWorker builds the worker command, so the suites run the real binary in a process of its own.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "./worker")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./worker:\n%s", out)
	return bin
}

// workerProcess runs the worker binary, restarts it, and kills it with SIGKILL: no deferred
// call, no graceful shutdown, no chance to report an activity's result.
type workerProcess struct {
	t       *testing.T
	bin     string
	env     []string
	logPath string

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	log   *os.File
	pids  []int
	kills int
}

func newWorkerProcess(t *testing.T, bin string, env map[string]string) *workerProcess {
	t.Helper()
	home := t.TempDir() // no temporal.toml of whoever runs the tests
	w := &workerProcess{t: t, bin: bin, logPath: filepath.Join(t.TempDir(), "worker.log"),
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + os.TempDir(), "SWITCHYARD_LOG_LEVEL=info"}}
	for k, v := range env {
		w.env = append(w.env, k+"="+v)
	}
	f, err := os.Create(w.logPath)
	require.NoError(t, err)
	w.log = f
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.cmd != nil {
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		_ = w.log.Close()
		if t.Failed() {
			t.Logf("worker log (last 4 KiB of %s):\n%s", w.logPath, tail(w.logPath, 4096))
		}
	})
	return w
}

func (w *workerProcess) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd != nil {
		return errors.New("the worker is already running")
	}
	fmt.Fprintf(w.log, "---- worker start %d at %s ----\n", len(w.pids)+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(w.bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = w.env, w.log, w.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the worker: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	w.cmd, w.done = cmd, done
	w.pids = append(w.pids, cmd.Process.Pid)
	return nil
}

// kill sends SIGKILL and reaps the process. A worker that had already exited on its own is a
// crash, and fails the test.
func (w *workerProcess) kill() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		return errors.New("no worker running")
	}
	select {
	case <-w.done:
		return fmt.Errorf("worker pid %d exited by itself (%s) before it was killed", w.cmd.Process.Pid, w.cmd.ProcessState)
	default:
	}
	if err := w.cmd.Process.Kill(); err != nil { // SIGKILL on Linux
		return err
	}
	<-w.done
	ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("worker pid %d ended with %s, not by SIGKILL", w.cmd.Process.Pid, w.cmd.ProcessState)
	}
	fmt.Fprintf(w.log, "---- worker pid %d SIGKILLed at %s ----\n", w.cmd.Process.Pid, time.Now().Format(time.RFC3339Nano))
	w.cmd = nil
	w.kills++
	return nil
}

// running reports whether the worker process is alive.
func (w *workerProcess) running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		return false
	}
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// fakeSlack is a Slack Web API the worker's real notifier posts to. The notifier has no API URL
// setting, so the worker is pointed at it the way any Go program can be: HTTPS_PROXY names a
// CONNECT proxy that tunnels slack.com:443 to a local TLS listener, whose self-signed slack.com
// certificate the worker trusts through SSL_CERT_FILE. The notifier, its HTTP client and TLS
// run unchanged; every message is recorded in arrival order. Messages are read back as Slack
// serves a non-Marketplace app: conversations.history and conversations.replies at Tier 1 (one
// call a minute, 15 messages a page, metadata only when asked for; slackfake), on the wall clock,
// since the worker retries on Temporal's.
type fakeSlack struct {
	certFile string
	proxyURL string
	ws       *slackfake.Workspace
	// clock is the workspace's clock: the wall clock unless a suite advances it.
	clock *slackfake.Clock

	mu      sync.Mutex
	calls   []slackCall
	refused []string
	// onPost, when set, runs after a chat.postMessage is stored and before Slack's answer is
	// written: the aimed suite kills the worker there. True drops the answer.
	onPost func(slackCall) bool
}

// slackCall is one Web API call.
type slackCall struct {
	Method, Text, ThreadTS, TS, Metadata string
}

func startFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{certFile: filepath.Join(t.TempDir(), "slack-ca.pem"), clock: &slackfake.Clock{}}
	f.ws = slackfake.New(slackfake.Options{Now: f.clock.Now, Channels: map[string]string{"#switchyard-lab": "C0LAB"}})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slack.com"}, DNSNames: []string{"slack.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(f.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))

	api := httptest.NewUnstartedServer(http.HandlerFunc(f.serveAPI))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	api.StartTLS()
	t.Cleanup(api.Close)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != "slack.com:443" {
			f.mu.Lock()
			f.refused = append(f.refused, r.Method+" "+r.Host)
			f.mu.Unlock()
			http.Error(w, "this proxy only tunnels to slack.com:443", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", api.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go pipe(up, buf.Reader, conn)
		pipe(conn, up, up)
	}))
	t.Cleanup(proxy.Close)
	f.proxyURL = proxy.URL
	return f
}

// pipe copies src to dst, then closes both ends of the tunnel.
func pipe(dst io.Writer, src io.Reader, closer io.Closer) {
	_, _ = io.Copy(dst, src)
	_ = closer.Close()
	if c, ok := dst.(io.Closer); ok {
		_ = c.Close()
	}
}

func (f *fakeSlack) env() map[string]string {
	return map[string]string{"SLACK_BOT_TOKEN": "xoxb-chaos-test", "HTTPS_PROXY": f.proxyURL, "NO_PROXY": "127.0.0.1,localhost",
		"SSL_CERT_FILE": f.certFile}
}

func (f *fakeSlack) serveAPI(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	c := slackCall{Method: method, Text: r.Form.Get("text"), ThreadTS: r.Form.Get("thread_ts"), TS: r.Form.Get("ts"), Metadata: r.Form.Get("metadata")}
	channel := f.ws.ChannelID(r.Form.Get("channel"))
	if method == "chat.postMessage" {
		m := f.ws.Post(r.Form.Get("channel"), c.ThreadTS, c.Text, c.Metadata, r.Form.Get("reply_broadcast") == "true")
		c.TS, channel = m.TS, m.Channel
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	onPost := f.onPost
	f.mu.Unlock()
	if method == "chat.postMessage" && onPost != nil && onPost(c) {
		panic(http.ErrAbortHandler) // the message is stored; its poster never hears of it
	}
	switch method {
	case "conversations.replies", "conversations.history":
		// A retried post looks for its earlier attempt's message, within Slack's limits.
		f.ws.ServeRead(w, r, method)
	case "chat.postMessage", "chat.update":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": channel, "ts": c.TS})
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true})
	}
}

func (f *fakeSlack) snapshot() (calls []slackCall, refused []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackCall(nil), f.calls...), append([]string(nil), f.refused...)
}

var approvalText = regexp.MustCompile(`^Approval (?:needed: step (\S+) of (\S+) on|of step (\S+) of (\S+) on)`)

// approvalMessages counts the approval messages posted and edited, by "runbook/step". A request
// reads "Approval needed: ..." unless the decision came in while the approval was still reading
// its plan: then the request, posted after, already shows the decision ("Approval of step ...").
// Either way a step must have one message, later edited.
func approvalMessages(calls []slackCall) (posted, edited map[string]int) {
	posted, edited = map[string]int{}, map[string]int{}
	for _, c := range calls {
		m := approvalText.FindStringSubmatch(c.Text)
		if m == nil {
			continue
		}
		step := m[2] + "/" + m[1]
		if m[1] == "" {
			step = m[4] + "/" + m[3]
		}
		switch c.Method {
		case "chat.postMessage":
			posted[step]++
		case "chat.update":
			edited[step]++
		}
	}
	return posted, edited
}

// approver approves each waiting "approve" step of the drill's nested runbooks, once per run of
// each, as a person with the CLI would; it keeps trying while the worker is down.
func approver(ctx context.Context, c client.Client, by string) (approved func() int) {
	var mu sync.Mutex
	done := map[string]bool{}
	op := workflows.OperationID("lab")
	go func() {
		for ctx.Err() == nil {
			for _, child := range []string{workflows.ChildID(op, "failover"), workflows.ChildID(op, "failback")} {
				desc, err := c.DescribeWorkflowExecution(ctx, child, "")
				if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
					continue
				}
				runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
				mu.Lock()
				seen := done[runID]
				mu.Unlock()
				if seen {
					continue
				}
				p, err := queryProgress(ctx, c, child, runID)
				if err != nil || stepAt(p, "approve").Status != workflows.StatusWaiting {
					continue
				}
				uctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				h, err := c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{WorkflowID: child, RunID: runID,
					UpdateID: "chaos-approve/" + runID, UpdateName: workflows.ApproveUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
					Args: []any{workflows.Decision{Step: "approve", Approve: true, By: by, Comment: "chaos suite", Source: "cli"}}})
				if err == nil {
					var st workflows.ApprovalState
					err = h.Get(uctx, &st)
				}
				cancel()
				if err == nil {
					mu.Lock()
					done[runID] = true
					mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	return func() int { mu.Lock(); defer mu.Unlock(); return len(done) }
}

// waitResult waits for a run to close, riding out a server that is down for a while, and
// returns its report.
func waitResult(ctx context.Context, c client.Client, id, runID string) (*workflows.Result, error) {
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return result(ctx, c, id, runID)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w (last error %v)", id, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// trafficMark is where the lab's traffic logs stood: Route 53's change batches and ARC's
// routing-control updates.
type trafficMark struct{ route53, arc int }

// markTraffic marks the lab's traffic logs now, for trafficChanges.
func markTraffic(l *lab.Lab) trafficMark {
	return trafficMark{route53: len(l.Twin().Route53ChangeLog(lab.HostedZoneID)), arc: len(l.ARC().Updates())}
}

// trafficChanges are the changes of the lab's traffic since m, oldest first, one line each:
// a Route 53 change batch as its comment's kind and the weights it set, a routing-control update
// as the states it set.
func trafficChanges(l *lab.Lab, m trafficMark) []string {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for _, c := range l.Twin().Route53ChangeLog(lab.HostedZoneID)[m.route53:] {
		w := c.Weights()
		kind := c.Comment
		if f := strings.Fields(c.Comment); len(f) > 1 {
			kind = f[1] // "switchyard failover to ..." or "switchyard failback 10% ..."
		}
		lines = append(lines, line{c.SubmittedAt, fmt.Sprintf("%s: %s=%d %s=%d", kind, east, w[east], west, w[west])})
	}
	region := map[string]string{}
	for r, arn := range l.RoutingControls() {
		region[arn] = r
	}
	for _, u := range l.ARC().Updates()[m.arc:] {
		var states []string
		for arn, state := range u.Entries {
			states = append(states, region[arn]+"="+state)
		}
		slices.Sort(states)
		lines = append(lines, line{u.At, "routing controls: " + strings.Join(states, " ")})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	out := make([]string, len(lines))
	for i, ln := range lines {
		out[i] = ln.text
	}
	return out
}

// wantDrillChanges is what one drill must change in the lab's traffic, each exactly once. The
// lab's lever is ARC: the failover turns the primary's routing control Off (a data-plane call;
// no Route 53 change); the failback first sets the weights that keep writes where they are
// (hold), lets the primary back in with its routing control, and returns the writes 10 -> 50 ->
// 100 % with Route 53 weights.
var wantDrillChanges = []string{
	"routing controls: us-east-1=Off",
	"failback: us-east-1=0 us-west-2=100",
	"routing controls: us-east-1=On",
	"failback: us-east-1=10 us-west-2=90",
	"failback: us-east-1=50 us-west-2=50",
	"failback: us-east-1=100 us-west-2=0",
}

// route53Batches counts the Route 53 change batches among changes.
func route53Batches(changes []string) int {
	n := 0
	for _, c := range changes {
		if !strings.HasPrefix(c, "routing controls:") {
			n++
		}
	}
	return n
}

// requireCleanLab asserts what a suite must leave behind: no fault, writes to the primary, both
// pipelines ACTIVE, and no workflow running on the server.
func requireCleanLab(t *testing.T, p *privateLab, c client.Client) {
	t.Helper()
	require.Empty(t, p.lab.Faults())
	w, err := p.lab.Router().Weights(context.Background())
	require.NoError(t, err)
	require.Equal(t, map[string]int64{east: 100, west: 0}, w)
	waitLong(t, "both pipelines ACTIVE", func() bool {
		return p.lab.Pipeline(east).Status() == "ACTIVE" && p.lab.Pipeline(west).Status() == "ACTIVE"
	})
	var running []string
	waitLong(t, "no running workflow", func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: "ExecutionStatus = 'Running'"})
		if err != nil {
			return false
		}
		running = running[:0]
		for _, e := range resp.GetExecutions() {
			running = append(running, e.GetExecution().GetWorkflowId())
		}
		return len(running) == 0
	})
}

// drillFigures are one drill's measurements for docs/reliability.md.
type drillFigures struct {
	wall            time.Duration
	kills, restarts int
	route53, arc    int
	approvalsPosted map[string]int
	approvalsEdited map[string]int
	interrupted     interruptions
}

// interruptions is what the histories of a run and its nested runs say was cut off: activities
// that ran again (attempt > 1: a kill while one was in flight, or an ordinary retry) and
// workflow tasks that timed out or failed (a kill while the worker held one).
type interruptions struct {
	activityReruns, workflowTaskTimeouts, workflowTaskFailures int
}

func (a interruptions) add(b interruptions) interruptions {
	return interruptions{a.activityReruns + b.activityReruns, a.workflowTaskTimeouts + b.workflowTaskTimeouts,
		a.workflowTaskFailures + b.workflowTaskFailures}
}

// interruptionsOf reads the history of a run and of every run nested in it.
func interruptionsOf(ctx context.Context, c client.Client, id, runID string) (interruptions, error) {
	var out interruptions
	iter := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return out, fmt.Errorf("history of %s: %w", id, err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if e.GetActivityTaskStartedEventAttributes().GetAttempt() > 1 {
				out.activityReruns++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			out.workflowTaskTimeouts++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			out.workflowTaskFailures++
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
			we := e.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution()
			child, err := interruptionsOf(ctx, c, we.GetWorkflowId(), we.GetRunId())
			if err != nil {
				return out, err
			}
			out = out.add(child)
		}
	}
	return out, nil
}

// TestChaosWorkerKilledDuringDrill runs the drill runbook (fail over to the secondary and back,
// each direction approved by a person) while the worker process is killed with SIGKILL at random
// points and restarted after a random pause, until the drill ends or the suite has its kills;
// drills repeat until the suite has killed the worker 10 times (50 with -chaos.long). Every drill
// must succeed, each traffic change must have been made exactly once — the routing-control
// updates and one Route 53 batch per weight step (a re-executed setter reads the state first and
// submits nothing) — each approval must have been requested in Slack exactly once, and
// the lab must end healed with writes to the primary and nothing left running.
func TestChaosWorkerKilledDuringDrill(t *testing.T) {
	// Parallel with the other drill suites, after the package's sequential tests: each has its
	// own lab on random ports, server and worker processes, and mostly waits out timeouts (a
	// kill costs an activity's 30 s), so together they take about as long as the longest.
	t.Parallel()
	target := 10
	if *chaosLong {
		target = 50
	}
	rng := chaosRand(t)
	bin := buildWorker(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := startPrivateLabServer(ctx, chaosLabOptions("chaos"), "../runbooks", "", quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	addr := p.dev.server.FrontendHostPort()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)

	slack := startFakeSlack(t)
	env := slack.env()
	env["TEMPORAL_ADDRESS"], env["SWITCHYARD_RUNBOOKS"] = addr, p.dir
	worker := newWorkerProcess(t, bin, env)
	require.NoError(t, worker.start())
	actx, stopApprover := context.WithCancel(ctx)
	defer stopApprover()
	approved := approver(actx, c, "bob")

	var all []drillFigures
	for drill := 1; worker.kills < target; drill++ {
		callsBefore, _ := slack.snapshot()
		killsBefore, approvedBefore := worker.kills, approved()
		// Kill at random points until the drill ends or the suite has its kills; the rest of
		// the drill then runs undisturbed, which keeps the suite's length predictable.
		d := disruptedDrill(t, ctx, c, p, drill, false, func(ctx context.Context) error {
			for worker.kills < target {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(between(rng, 300*time.Millisecond, 5*time.Second)):
				}
				if err := worker.kill(); err != nil {
					return err
				}
				time.Sleep(between(rng, 0, time.Second))
				if err := worker.start(); err != nil {
					return err
				}
			}
			return nil
		})
		require.True(t, worker.running())
		wall, changes := d.wall, d.changes
		require.Equal(t, 2, approved()-approvedBefore, "drill %d: both directions were approved by a person", drill)
		callsAfter, _ := slack.snapshot()
		posted, edited := approvalMessages(callsAfter[len(callsBefore):])
		require.Equal(t, map[string]int{"failover/approve": 1, "failback/approve": 1}, posted, "drill %d: approval requests posted", drill)
		for step := range posted {
			require.GreaterOrEqual(t, edited[step], 1, "drill %d: the approval message of %s was closed", drill, step)
		}
		f := drillFigures{wall: wall, kills: worker.kills - killsBefore, approvalsPosted: posted, approvalsEdited: edited}
		f.route53, f.arc = byLever(changes)
		var err error
		f.interrupted, err = interruptionsOf(ctx, c, d.id, d.runID)
		require.NoError(t, err)
		t.Logf("drill %d: succeeded in %s with %d worker kills (%+v); traffic changes %q; approval requests %v, edits %v",
			drill, wall.Round(time.Second), f.kills, f.interrupted, changes, posted, edited)
		all = append(all, f)
	}
	stopApprover()

	calls, refused := slack.snapshot()
	require.Empty(t, refused, "the worker sent nothing but Slack calls through the proxy")
	require.NotEmpty(t, calls)
	requireCleanLab(t, p, c)
	repliesRead, repliesLimited := slack.ws.Reads("conversations.replies")
	historyRead, historyLimited := slack.ws.Reads("conversations.history")
	t.Logf("FIGURES chaos: drills=%d kills=%d worker_processes=%d %s slack_lookups=replies:%d(+%d rate-limited) history:%d(+%d rate-limited)",
		len(all), worker.kills, len(worker.pids), summarize(all), repliesRead, repliesLimited, historyRead, historyLimited)
}

// drillRun is one drill of a reliability suite.
type drillRun struct {
	id, runID string
	changes   []string // the traffic changes it made (trafficChanges)
	wall      time.Duration
}

// disruptedDrill runs the drill while disrupt breaks and repairs what a suite tests, with a
// context that ends with the drill, and asserts what every suite does: the drill succeeded and
// Route 53 changed once per weight step.
func disruptedDrill(t *testing.T, ctx context.Context, c client.Client, p *privateLab, drill int, autoApprove bool,
	disrupt func(context.Context) error) drillRun {
	t.Helper()
	mark := markTraffic(p.lab)
	began := time.Now()
	in := drillInput(autoApprove, "tester")
	id := workflows.OperationID("lab")
	run, err := c.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	require.NoError(t, err)
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- disrupt(dctx) }()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	res, runErr := waitResult(wctx, c, id, run.GetRunID())
	cancel()
	stop()
	require.NoError(t, <-done)
	d := drillRun{id: id, runID: run.GetRunID(), wall: time.Since(began)}
	require.NoError(t, runErr, "drill %d", drill)
	require.Equal(t, workflows.OutcomeSucceeded, res.Outcome, "drill %d: %s", drill, res.Error)
	d.changes = trafficChanges(p.lab, mark)
	require.Equal(t, wantDrillChanges, d.changes, "drill %d: traffic changes (Route 53 batches, routing-control updates)", drill)
	return d
}

// byLever counts trafficChanges lines by lever: Route 53 change batches and routing-control
// updates.
func byLever(changes []string) (route53, arc int) {
	route53 = route53Batches(changes)
	return route53, len(changes) - route53
}

// summarize prints drill figures as docs/reliability.md tabulates them.
func summarize(all []drillFigures) string {
	var walls []string
	var r53, arc int
	posted, edited := map[string]int{}, map[string]int{}
	for _, f := range all {
		walls = append(walls, f.wall.Round(time.Second).String())
		r53 += f.route53
		arc += f.arc
		for k, v := range f.approvalsPosted {
			posted[k] += v
		}
		for k, v := range f.approvalsEdited {
			edited[k] += v
		}
	}
	var in interruptions
	for _, f := range all {
		in = in.add(f.interrupted)
	}
	return fmt.Sprintf("walls=[%s] route53_batches=%d arc_updates=%d approval_posts=%v approval_edits=%v activity_reruns=%d workflow_task_timeouts=%d workflow_task_failures=%d",
		strings.Join(walls, " "), r53, arc, posted, edited, in.activityReruns, in.workflowTaskTimeouts, in.workflowTaskFailures)
}

// nopLogger keeps the test client's reconnect warnings out of the test output.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
