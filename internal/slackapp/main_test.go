package slackapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/workflows"
)

// The worker takes the Notifier as its activities.Notifier.
var _ activities.Notifier = (*Notifier)(nil)

const (
	testSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	uiBase     = "http://ui.test"
)

// env is one embedded Temporal server, one fake Slack and one worker (posting through the real
// Notifier) for the whole package: a server takes seconds to start, and every test uses its own
// workflow ids.
var env struct {
	slack    *fakeSlack
	tc       client.Client
	notifier *Notifier
	dir      string
	worker   worker.Worker
}

const (
	gateRunbook = `schema: switchyard/v1
name: gate
description: One approval between two harmless steps.
lock: none
steps:
  - id: check
    check: core.assert
    with: {that: true, reason: never false}
  - id: approve
    approval:
      message: "Move traffic to us-west-2?"
      timeout: 10m
  - id: done
    action: core.echo
    with: {message: done}
`
	pairRunbook = `schema: switchyard/v1
name: pair
description: An approval that needs two people.
lock: none
steps:
  - id: approve
    approval:
      message: "Two people must agree."
      quorum: 2
      timeout: 10m
`
	quickRunbook = `schema: switchyard/v1
name: quick
description: An approval nobody answers in time.
lock: none
steps:
  - id: approve
    approval:
      message: "Anyone there?"
      timeout: 4s
      on_timeout: abort
`
	drillRunbook = `schema: switchyard/v1
name: drill
description: A DR operation with a check, an approval and a mutating call.
params:
  - name: target
    type: region
    default: us-west-2
steps:
  - id: preflight
    check: core.assert
    with: {that: "${{ params.target == env.secondary }}", reason: wrong target}
  - id: approve
    approval:
      message: "Fail over to ${{ params.target }}?"
      timeout: 10m
  - id: shift
    action: http.webhook
    with: {url: "http://127.0.0.1:1/never-called"}
`
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if err := setup(); err != nil {
			fmt.Fprintln(os.Stderr, "set up:", err)
			return 1
		}
		defer teardown()
		return m.Run()
	}())
}

func setup() error {
	dir, err := os.MkdirTemp("", "slackapp-runbooks")
	if err != nil {
		return err
	}
	env.dir = dir
	if err := writeRunbooks(dir); err != nil {
		return err
	}
	env.slack = newFakeSlack()
	env.slack.groups["S_ONCALL"] = []string{"U_BOB", "U_CAROL"}

	port, err := devserver.FreePort()
	if err != nil {
		return err
	}
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Port: port, UIPort: -1, SearchAttributes: sa, Logger: quiet})
	if err != nil {
		return fmt.Errorf("start temporal: %w", err)
	}
	stopServer = srv.Stop
	env.tc, err = client.DialContext(ctx, client.Options{HostPort: srv.FrontendHostPort(), Logger: discardTemporalLogger{}})
	if err != nil {
		return fmt.Errorf("dial temporal: %w", err)
	}
	env.notifier, err = NewNotifier(NotifierOptions{Config: testConfig(), Logger: quiet})
	if err != nil {
		return err
	}
	return startWorker()
}

var stopServer func() error

func teardown() {
	if env.worker != nil {
		env.worker.Stop()
	}
	if env.tc != nil {
		env.tc.Close()
	}
	if stopServer != nil {
		_ = stopServer()
	}
	env.slack.srv.Stop()
	_ = os.RemoveAll(env.dir)
}

func startWorker() error {
	w := worker.New(env.tc, workflows.TaskQueue, worker.Options{})
	workflows.Register(w)
	w.RegisterWorkflowWithOptions(pausedFake, workflow.RegisterOptions{Name: pausedFakeType})
	activities.RegisterAll(w, activities.Options{RunbookDir: env.dir, Notifier: env.notifier,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	env.worker = w
	return nil
}

// writeRunbooks writes the test runbooks and a copy of the lab environment that posts to C123
// and names a user and a user group as approvers.
func writeRunbooks(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		return err
	}
	for name, src := range map[string]string{"gate": gateRunbook, "pair": pairRunbook, "quick": quickRunbook, "drill": drillRunbook, "pausing": pausingRunbook} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			return err
		}
	}
	lab, err := os.ReadFile("../../runbooks/environments/lab.yaml")
	if err != nil {
		return err
	}
	s := string(lab)
	if !strings.Contains(s, `channel: "#switchyard-lab"`) {
		return fmt.Errorf("lab.yaml changed: no slack channel line to replace")
	}
	s = strings.Replace(s, `channel: "#switchyard-lab"`, "channel: C123", 1) + "approvers: [U_ALICE, S_ONCALL]\n"
	return os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), []byte(s), 0o644)
}

func testConfig() Config {
	return Config{SigningSecret: testSecret, BotToken: "xoxb-test", UIBaseURL: uiBase, APIURL: env.slack.URL()}
}

func newTestHandler(t *testing.T, timeout time.Duration) *Handler {
	t.Helper()
	env.slack.forgetResponses()
	h, err := NewHandler(HandlerOptions{Config: testConfig(), Temporal: env.tc, TemporalTimeout: timeout,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Wait)
	return h
}

var runSeq atomic.Int64

// startRun starts runbook on lab under a unique id and returns its ids.
func startRun(t *testing.T, runbook, requestedBy string) (string, string) {
	t.Helper()
	id := newRunID(runbook)
	return id, startRunID(t, id, runbook, requestedBy)
}

func newRunID(runbook string) string {
	return workflows.ReadOnlyRunID("lab", runbook, fmt.Sprintf("t%d-%d", time.Now().UnixNano(), runSeq.Add(1)))
}

// startRunID starts runbook on lab under id and returns the run id.
func startRunID(t *testing.T, id, runbook, requestedBy string) string {
	t.Helper()
	in := workflows.RunInput{Runbook: runbook, Environment: "lab", RequestedBy: requestedBy, Trigger: workflows.Trigger{Kind: "slack"}}
	run, err := env.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.RunbookWorkflowType, in)
	if err != nil {
		t.Fatalf("start %s: %v", runbook, err)
	}
	t.Cleanup(func() { _ = env.tc.CancelWorkflow(context.Background(), id, run.GetRunID()) })
	return run.GetRunID()
}

// waitFor polls cond until it holds or 30 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func progressOf(t *testing.T, id string) workflows.Progress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := env.tc.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		t.Fatalf("query %s: %v", id, err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func approvalOfRun(t *testing.T, id string) workflows.ApprovalState {
	t.Helper()
	for _, s := range progressOf(t, id).Steps {
		if s.ID == "approve" && s.Approval != nil {
			return *s.Approval
		}
	}
	return workflows.ApprovalState{}
}

// approvalMessage waits until the run's approval request has been posted with its buttons and
// returns the posted call.
func approvalMessage(t *testing.T, id string) apiCall {
	t.Helper()
	var found apiCall
	waitFor(t, "the approval request of "+id, func() bool {
		for _, c := range env.slack.runCalls(id) {
			if c.Method == "chat.postMessage" && !c.Failed && buttons(c.blocks(t))[actionApprove] != "" {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// finalEdit waits for a chat.update of the message ts and returns the last one.
func finalEdit(t *testing.T, id, ts string, cond func(apiCall) bool) apiCall {
	t.Helper()
	var found apiCall
	waitFor(t, "an edit of the approval message of "+id, func() bool {
		for _, c := range env.slack.runCalls(id) {
			if c.Method == "chat.update" && c.Form.Get("ts") == ts && cond(c) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// signedRequest builds a request the way Slack signs it: v0=HMAC-SHA256(secret, "v0:ts:body").
func signedRequest(path, body, secret string, at time.Time) *http.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return r
}

func serve(h *Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// click is a block_actions payload as Slack sends it for a button in a channel message.
type click struct {
	user, action, value, messageTS, responseURL, actionTS string
}

func (c click) form() string {
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": c.user, "username": strings.ToLower(c.user)},
		"trigger_id":   "trigger-" + c.actionTS,
		"response_url": c.responseURL,
		"container":    map[string]any{"type": "message", "message_ts": c.messageTS, "channel_id": "C123"},
		"channel":      map[string]any{"id": "C123"},
		"message":      map[string]any{"ts": c.messageTS},
		"actions": []map[string]any{{
			"action_id": c.action, "block_id": blockApproval, "type": "button", "value": c.value, "action_ts": c.actionTS,
		}},
	}
	b, _ := json.Marshal(payload)
	return url.Values{"payload": {string(b)}}.Encode()
}

// clickApprove clicks a button of the posted approval message and waits for the work it starts.
func clickButton(t *testing.T, h *Handler, msg apiCall, action, user, responseName string) *httptest.ResponseRecorder {
	t.Helper()
	value := buttons(msg.blocks(t))[action]
	if value == "" {
		t.Fatalf("the message has no %s button", action)
	}
	c := click{user: user, action: action, value: value, messageTS: msg.TS,
		responseURL: env.slack.responseURL(responseName), actionTS: fmt.Sprintf("%d.%06d", time.Now().Unix(), runSeq.Add(1))}
	w := serve(h, signedRequest(InteractionsPath, c.form(), testSecret, time.Now()))
	h.Wait()
	return w
}

func responseTexts(name string) []string {
	var out []string
	for _, r := range env.slack.responses(name) {
		s, _ := r["text"].(string)
		out = append(out, s)
	}
	return out
}

// discardTemporalLogger keeps the SDK's client logs out of test output.
type discardTemporalLogger struct{}

func (discardTemporalLogger) Debug(string, ...any) {}
func (discardTemporalLogger) Info(string, ...any)  {}
func (discardTemporalLogger) Warn(string, ...any)  {}
func (discardTemporalLogger) Error(string, ...any) {}
