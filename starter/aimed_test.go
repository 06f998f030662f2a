package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dr/switchyard/internal/slackapp/slackfake"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Aimed chaos (docs/reliability.md): instead of killing the worker at random, the suite kills it
// inside the three moments where a lost result could make a DR run repeat a side effect:
//
//   - windowTraffic: the lab has accepted a traffic change (a Route 53 change batch or an ARC
//     routing-control update) and holds its HTTP answer; the activity that asked has not
//     completed and never hears the answer.
//   - windowSlack: Slack has stored a message and holds chat.postMessage's answer; the outbox's
//     notify activity has not recorded it (no heartbeat, no result).
//   - windowApproval: the worker has accepted the approve update (its validator and handler ran)
//     and is sending the workflow task that records it; the server has not applied it.
//
// Each window's source holds its answer while it calls aimer.at, which kills the worker with
// SIGKILL there and then, so a kill counted in a window landed in it by construction.
const (
	windowTraffic  = "traffic"
	windowSlack    = "slack"
	windowApproval = "approval"
)

var aimedWindows = []string{windowTraffic, windowSlack, windowApproval}

// aimer decides, at each window a source reports, whether to kill the worker there, and does.
type aimer struct {
	worker *workerProcess
	rng    *mrand.Rand

	mu sync.Mutex
	// budget is how many kills the current drill still gets per window.
	budget map[string]int
	// seen counts the kills of each occurrence of a window in the drill; an occurrence opened
	// again by a retry (a redelivered update) gets at most perKey kills in all.
	seen   map[string]int
	perKey map[string]int
	// spare is the one traffic change per drill the suite lets through, so that over several
	// drills every one of the drill's traffic changes has its answer lost.
	spare int
	// opened and killed count windows per kind, in the current drill.
	opened, killed map[string]int
	// slackOdds is the chance that a Slack post is killed, so the kills spread over the drill's
	// messages instead of always the first ones.
	slackOdds float64
	// onKill runs after each kill, with the window (the Slack suite moves its clock on).
	onKill func(window string)
	began  time.Time
	kills  []string
	err    error
}

func newAimer(w *workerProcess, rng *mrand.Rand) *aimer {
	return &aimer{worker: w, rng: rng, seen: map[string]int{}, perKey: map[string]int{windowApproval: 3}}
}

// arm starts a drill with these kills per window.
func (a *aimer) arm(budget map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.budget, a.opened, a.killed = maps.Clone(budget), map[string]int{}, map[string]int{}
	// Per drill: the next drill sends the same ARC and failback Route 53 bodies again.
	a.seen = map[string]int{}
	a.began, a.kills = time.Now(), nil
	a.spare = a.rng.IntN(len(wantDrillChanges))
}

// disarm ends the drill's kills and returns what happened in it.
func (a *aimer) disarm() (opened, killed map[string]int, log []string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	opened, killed, log, err = a.opened, a.killed, a.kills, a.err
	a.budget, a.opened, a.killed, a.err = nil, map[string]int{}, map[string]int{}, nil
	return opened, killed, log, err
}

// at is called by a window's source while it holds the answer that would close the window. It
// kills the worker (and starts a new one) if the drill's budget for the window allows, and
// reports whether it did: the source then drops the answer, which nobody is left to read.
func (a *aimer) at(window, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.budget == nil {
		return false
	}
	a.opened[window]++
	if a.budget[window] == 0 || a.seen[key] >= max(a.perKey[window], 1) || a.err != nil {
		return false
	}
	if window == windowSlack && a.rng.Float64() >= a.slackOdds {
		return false
	}
	if window == windowTraffic && a.opened[window]-1 == a.spare && a.budget[window] < len(wantDrillChanges)-a.spare {
		return false // spared, when the changes after it still cover the budget
	}
	if !a.worker.running() {
		return false // a window of a worker already gone (its answer is lost anyway)
	}
	if err := a.worker.kill(); err != nil {
		a.err = fmt.Errorf("kill in the %s window (%s): %w", window, key, err)
		return false
	}
	a.seen[key]++
	a.budget[window]--
	a.killed[window]++
	a.kills = append(a.kills, fmt.Sprintf("+%s %s", time.Since(a.began).Round(100*time.Millisecond), window))
	if a.onKill != nil {
		a.onKill(window)
	}
	if err := a.worker.start(); err != nil {
		a.err = fmt.Errorf("start the worker after a kill in the %s window: %w", window, err)
	}
	return true
}

// trafficChangeRequest tells whether an HTTP request to the lab changes traffic: Route 53's
// ChangeResourceRecordSets (POST /2013-04-01/hostedzone/{Id}/rrset/,
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html) or
// ARC's UpdateRoutingControlState(s) (JSON 1.0, X-Amz-Target ToggleCustomerAPI.*,
// https://docs.aws.amazon.com/routing-control/latest/APIReference/API_UpdateRoutingControlState.html).
var route53ChangePath = regexp.MustCompile(`^/2013-04-01/hostedzone/[^/]+/rrset/?$`)

func trafficChangeRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	return route53ChangePath.MatchString(r.URL.Path) || strings.Contains(r.Header.Get("X-Amz-Target"), ".UpdateRoutingControlState")
}

// labWindows puts a proxy in front of each HTTP endpoint of the lab environment the worker
// reads (environments/lab.yaml in dir): requests pass through unchanged, Host header and
// signature included; when the lab accepts a traffic change (2xx), the proxy holds the answer
// and reports the window.
func labWindows(t *testing.T, dir string, a *aimer) {
	t.Helper()
	path := filepath.Join(dir, "environments", "lab.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	proxies := map[string]string{}
	var perr error
	out := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).ReplaceAllStringFunc(string(b), func(target string) string {
		if p, ok := proxies[target]; ok {
			return p
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			perr = err
			return target
		}
		srv := &http.Server{Handler: windowProxy(target, a), ErrorLog: nil}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		proxies[target] = "http://" + l.Addr().String()
		return proxies[target]
	})
	require.NoError(t, perr)
	require.NotEmpty(t, proxies, "the lab environment names no HTTP endpoint")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
}

// windowProxy forwards to target and reports accepted traffic changes to a.
func windowProxy(target string, a *aimer) http.Handler {
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		out.Host = r.Host // SigV4 signed the Host the client dialled
		resp, err := transport.RoundTrip(out)
		if err != nil {
			panic(http.ErrAbortHandler) // as the client would see the lab's own dropped connection
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if resp.StatusCode/100 == 2 && trafficChangeRequest(r) && a.at(windowTraffic, r.URL.Path+"\n"+string(body)) {
			panic(http.ErrAbortHandler) // the change is made; the worker that asked is dead
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	})
}

// rawCodec passes gRPC messages through as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

const respondWorkflowTaskCompleted = "/temporal.api.workflowservice.v1.WorkflowService/RespondWorkflowTaskCompleted"

// approvalWindows is a gRPC proxy between the worker and the Temporal server. It forwards every
// call unchanged, and reports a window when the worker completes a workflow task that accepts
// an approve update: the decision is made in the worker, not yet recorded by the server.
func approvalWindows(t *testing.T, server string, a *aimer) string {
	t.Helper()
	conn, err := grpc.NewClient(server, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.MaxRecvMsgSize(128<<20), grpc.MaxSendMsgSize(128<<20),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			var req []byte
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			if method == respondWorkflowTaskCompleted {
				if key, ok := acceptsApproval(req); ok && a.at(windowApproval, key) {
					return status.Error(codes.Unavailable, "the worker was killed with this workflow task")
				}
			}
			md, _ := metadata.FromIncomingContext(stream.Context())
			out := metadata.MD{}
			for k, v := range md {
				if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" || k == "user-agent" || k == "te" {
					continue
				}
				out[k] = v
			}
			var resp []byte
			var header, trailer metadata.MD
			err := conn.Invoke(metadata.NewOutgoingContext(stream.Context(), out), method, &req, &resp,
				grpc.ForceCodec(rawCodec{}), grpc.Header(&header), grpc.Trailer(&trailer))
			_ = stream.SetHeader(header)
			stream.SetTrailer(trailer)
			if err != nil {
				return err
			}
			return stream.SendMsg(&resp)
		}))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// acceptsApproval reads a RespondWorkflowTaskCompleted request and returns the update id of the
// approve update it accepts, if any.
func acceptsApproval(req []byte) (string, bool) {
	var r workflowservice.RespondWorkflowTaskCompletedRequest
	if proto.Unmarshal(req, &r) != nil {
		return "", false
	}
	for _, m := range r.GetMessages() {
		var acc updatepb.Acceptance
		if !m.GetBody().MessageIs(&acc) || m.GetBody().UnmarshalTo(&acc) != nil {
			continue
		}
		if in := acc.GetAcceptedRequest().GetInput(); in.GetName() == workflows.ApproveUpdate {
			return acc.GetAcceptedRequest().GetMeta().GetUpdateId(), true
		}
	}
	return "", false
}

// slackDeliveries counts the messages stored in Slack per delivery (the metadata each post
// carries names its run and activity): a delivery stored twice is a duplicate post.
func slackDeliveries(calls []slackCall) (duplicates []string, posts int) {
	n := map[string]int{}
	for _, c := range calls {
		if c.Method != "chat.postMessage" {
			continue
		}
		posts++
		key := c.Metadata
		if key == "" {
			key = c.ThreadTS + "\n" + c.Text
		} else {
			var md struct {
				Payload map[string]any `json:"event_payload"`
			}
			if json.Unmarshal([]byte(c.Metadata), &md) == nil && md.Payload["key"] != nil {
				key = fmt.Sprint(md.Payload["key"])
			}
		}
		n[key]++
		if n[key] == 2 {
			duplicates = append(duplicates, fmt.Sprintf("%q (%s)", c.Text, key))
		}
	}
	return duplicates, posts
}

// TestChaosAimedAtRiskyWindows kills the worker inside the moments where a lost result could
// repeat a side effect — a traffic change the lab accepted, a Slack message stored, an approval
// accepted — up to five of each per drill, until each window has had 5 kills (one drill; 20
// with -chaos.long, four drills).
// Every drill must succeed with each traffic change made exactly once (the lab's Route 53 and
// ARC change logs), no Slack message stored twice, one approval request per direction, and each
// window of the drill must have had its kills.
func TestChaosAimedAtRiskyWindows(t *testing.T) {
	// Parallel with the other drill suites, after the package's sequential tests: each has its
	// own lab on random ports, server and worker processes, and mostly waits out timeouts (a
	// kill costs an activity's 30 s), so together they take about as long as the longest.
	t.Parallel()
	target := 5
	if *chaosLong {
		target = 20
	}
	// Up to 5 kills per window in a drill: the drill has 6 traffic changes, dozens of Slack
	// posts and 2 approvals (each killed up to 3 times, its redeliveries included).
	const perDrill = 5
	rng := chaosRand(t)
	bin := buildWorker(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := startPrivateLabServer(ctx, chaosLabOptions("aimed"), "../runbooks", "", quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	addr := p.dev.server.FrontendHostPort()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: nopLogger{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)

	slack := startFakeSlack(t)
	env := slack.env()
	env["SWITCHYARD_RUNBOOKS"] = p.dir
	worker := newWorkerProcess(t, bin, env)
	t.Cleanup(func() {
		if t.Failed() { // keep the whole worker log; the test's folder goes
			if b, err := os.ReadFile(worker.logPath); err == nil {
				keep := filepath.Join(os.TempDir(), fmt.Sprintf("aimed-worker-%d.log", os.Getpid()))
				if os.WriteFile(keep, b, 0o644) == nil {
					t.Logf("worker log kept in %s", keep)
				}
			}
		}
	})
	aim := newAimer(worker, rng)
	aim.slackOdds = 0.3
	labWindows(t, p.dir, aim)
	worker.env = append(worker.env, "TEMPORAL_ADDRESS="+approvalWindows(t, addr, aim))
	slack.mu.Lock()
	slack.onPost = func(c slackCall) bool { return aim.at(windowSlack, c.Metadata+"\n"+c.ThreadTS+"\n"+c.Text) }
	// After a kill in the Slack window the retry must look its message up, and Slack serves one
	// lookup a minute (Tier 1). The fake Slack's clock moves a minute on after each such kill, so
	// the suite does not wait out the limit five times over (the random suite and the notifier's
	// tests keep it on the wall clock); the kill's own cost, the notify activity's 30 s
	// start-to-close timeout, remains.
	aim.onKill = func(window string) {
		if window == windowSlack {
			slack.clock.Advance(slackfake.ReadWindow)
		}
	}
	slack.mu.Unlock()
	require.NoError(t, worker.start())
	actx, stopApprover := context.WithCancel(ctx)
	defer stopApprover()
	approved := approver(actx, c, "bob")
	began := time.Now()

	total := map[string]int{}
	var all []drillFigures
	reached := func() bool {
		for _, w := range aimedWindows {
			if total[w] < target {
				return false
			}
		}
		return true
	}
	for drill := 1; !reached(); drill++ {
		callsBefore, _ := slack.snapshot()
		killsBefore, approvedBefore := worker.kills, approved()
		budget := map[string]int{}
		for _, w := range aimedWindows {
			budget[w] = min(perDrill, target-total[w])
		}
		aim.arm(budget)
		d := disruptedDrill(t, ctx, c, p, drill, false, func(context.Context) error { return nil })
		opened, killed, killLog, err := aim.disarm()
		require.NoError(t, err)
		t.Logf("drill %d: kills by window %v (windows opened %v) at %v", drill, killed, opened, killLog)
		require.True(t, worker.running())
		for _, w := range aimedWindows {
			require.Equal(t, budget[w], killed[w], "drill %d: kills in the %s window (windows opened: %v)", drill, w, opened)
			total[w] += killed[w]
		}
		// The approver's call may fail when its update's workflow task dies with the worker; the
		// redelivered update is applied then. Either way each approval holds one vote.
		for _, child := range []string{"failover", "failback"} {
			var res workflows.Result
			require.NoError(t, c.GetWorkflow(ctx, workflows.ChildID(workflows.OperationID("lab"), child), "").Get(ctx, &res))
			st := stepAt(&res.Progress, "approve")
			require.NotNil(t, st.Approval, "drill %d: %s/approve", drill, child)
			require.Len(t, st.Approval.Votes, 1, "drill %d: %s/approve was decided once", drill, child)
			require.Equal(t, "bob", st.Approval.Votes[0].By)
		}
		callsAfter, _ := slack.snapshot()
		posted, edited := approvalMessages(callsAfter[len(callsBefore):])
		var approvalCalls []string
		for _, c := range callsAfter[len(callsBefore):] {
			if strings.Contains(c.Text, "pproval") {
				approvalCalls = append(approvalCalls, c.Method+" "+c.TS+" "+c.ThreadTS+" "+firstLine(c.Text))
			}
		}
		require.Equal(t, map[string]int{"failover/approve": 1, "failback/approve": 1}, posted, "drill %d: approval requests posted; calls about approvals:\n%s",
			drill, strings.Join(approvalCalls, "\n"))
		for step := range posted {
			require.GreaterOrEqual(t, edited[step], 1, "drill %d: the approval message of %s was closed", drill, step)
		}
		dups, posts := slackDeliveries(callsAfter[len(callsBefore):])
		require.Empty(t, dups, "drill %d: Slack messages stored twice", drill)
		f := drillFigures{wall: d.wall, kills: worker.kills - killsBefore, approvalsPosted: posted, approvalsEdited: edited}
		f.route53, f.arc = byLever(d.changes)
		f.interrupted, err = interruptionsOf(ctx, c, d.id, d.runID)
		require.NoError(t, err)
		t.Logf("drill %d: succeeded in %s; the approver's calls that returned %d; %d Slack posts, none twice; traffic changes %q; %+v",
			drill, d.wall.Round(time.Second), approved()-approvedBefore, posts, d.changes, f.interrupted)
		all = append(all, f)
	}
	stopApprover()
	calls, refused := slack.snapshot()
	require.Empty(t, refused, "the worker sent nothing but Slack calls through the proxy")
	require.NotEmpty(t, calls)
	requireCleanLab(t, p, c)
	repliesRead, repliesLimited := slack.ws.Reads("conversations.replies")
	historyRead, historyLimited := slack.ws.Reads("conversations.history")
	t.Logf("FIGURES aimed: suite=%s drills=%d kills=%d by_window=%v worker_processes=%d %s slack_lookups=replies:%d(+%d rate-limited) history:%d(+%d rate-limited)",
		time.Since(began).Round(time.Second), len(all), worker.kills, total, len(worker.pids), summarize(all), repliesRead, repliesLimited, historyRead, historyLimited)
}

// firstLine is a message's first line, at most 120 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
