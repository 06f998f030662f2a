package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/workflows"
)

// pausedFakeType is a stand-in run paused on a failed step: its progress shows the step paused,
// and it takes workflows.Control through the control update and signal with the validator the
// issue asks of the interpreter (too late, approvers through groups, comment, skippable). It
// tests the Slack surface on its own; TestSlackControlsDrivePausedRun drives the interpreter.
const pausedFakeType = "SlackTestPausedRun"

type pausedFakeInput struct {
	Controls  []string `json:"controls"`
	Approvers []string `json:"approvers"`
}

// pausedFakeResult is what the fake applied and ignored, for assertions.
type pausedFakeResult struct {
	Applied []workflows.Control `json:"applied"`
	Ignored []string            `json:"ignored"`
}

func pausedFake(ctx workflow.Context, in pausedFakeInput) (pausedFakeResult, error) {
	var res pausedFakeResult
	st := workflows.StepState{Path: "verify", ID: "verify", Kind: "check", Status: workflows.StatusPaused,
		Error: "check opensearch.ingesting not ok: no new documents in 2m",
		Pause: &workflows.PauseState{Step: "verify", Path: "verify", Error: "no new documents in 2m", Controls: in.Controls, Approvers: in.Approvers}}
	p := workflows.Progress{Runbook: "fake", Environment: "lab", Outcome: workflows.OutcomeRunning, Steps: []workflows.StepState{st}}
	if err := workflow.SetQueryHandler(ctx, workflows.ProgressQuery, func() (workflows.Progress, error) { return p, nil }); err != nil {
		return res, err
	}
	validate := func(c workflows.Control) error {
		s := &p.Steps[0]
		if c.Step != s.ID || s.Status != workflows.StatusPaused {
			return fmt.Errorf("too late or wrong step: step %q is %s", c.Step, s.Status)
		}
		if c.Comment == "" {
			return errors.New("a control needs a comment")
		}
		if !authorized(in.Approvers, c.By, c.Groups) {
			return fmt.Errorf("%s is not an approver", c.By)
		}
		if !slices.Contains(in.Controls, c.Action) {
			return fmt.Errorf("step %q may not be %s", c.Step, c.Action)
		}
		return nil
	}
	apply := func(c workflows.Control) {
		res.Applied = append(res.Applied, c)
		s := &p.Steps[0]
		switch c.Action {
		case workflows.ControlRetry:
			s.Status = workflows.StatusSucceeded
		case workflows.ControlSkip:
			s.Status = workflows.StatusSkipped
		case workflows.ControlAbort:
			s.Status = workflows.StatusFailed
		}
		s.Pause.Action, s.Pause.By, s.Pause.Comment = c.Action, c.By, c.Comment
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, workflows.ControlUpdate,
		func(ctx workflow.Context, c workflows.Control) (workflows.StepState, error) {
			apply(c)
			return p.Steps[0], nil
		}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c workflows.Control) error { return validate(c) }}); err != nil {
		return res, err
	}
	ch := workflow.GetSignalChannel(ctx, workflows.ControlSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var c workflows.Control
			ch.Receive(ctx, &c)
			if err := validate(c); err != nil {
				res.Ignored = append(res.Ignored, err.Error())
				continue
			}
			apply(c)
		}
	})
	// Stay open for a while after the decision, so that late clicks find a run that is going.
	if err := workflow.Await(ctx, func() bool { return len(res.Applied) > 0 }); err != nil {
		return res, err
	}
	done := false
	doneCh := workflow.GetSignalChannel(ctx, "done")
	workflow.Go(ctx, func(ctx workflow.Context) { doneCh.Receive(ctx, nil); done = true })
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return done })
	return res, nil
}

// startPausedFake starts the fake and posts its paused message the way the run's outbox does,
// through the real Notifier, and returns the ids and the posted call.
func startPausedFake(t *testing.T, controls []string) (string, string, apiCall) {
	t.Helper()
	id := newRunID("paused")
	run, err := env.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		pausedFakeType, pausedFakeInput{Controls: controls, Approvers: []string{"U_ALICE", "S_ONCALL"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.tc.TerminateWorkflow(context.Background(), id, "", "test over") })
	res, err := env.notifier.Notify(context.Background(), workflows.Notification{
		Kind: workflows.NotifyPaused, Channel: "C123", WorkflowID: id, RunID: run.GetRunID(), Runbook: "fake", Environment: "lab",
		Step: "verify", Text: "verify paused",
		Pause: &workflows.PauseState{Step: "verify", Path: "verify", Error: "check opensearch.ingesting not ok: no new documents in 2m",
			Controls: controls, Approvers: []string{"U_ALICE", "S_ONCALL"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range env.slack.snapshot() {
		if c.Method == "chat.postMessage" && c.TS == res.TS {
			return id, run.GetRunID(), c
		}
	}
	t.Fatalf("the paused message %s was not posted", res.TS)
	return "", "", apiCall{}
}

// clickControl clicks a control button of msg as user and returns the modal it opened (its
// private metadata), failing when none opened.
func clickControl(t *testing.T, h *Handler, msg apiCall, action, user, responseName string) string {
	t.Helper()
	before := len(env.slack.snapshot())
	clickButton(t, h, msg, action, user, responseName)
	for _, c := range env.slack.snapshot()[before:] {
		if c.Method == "views.open" {
			view := c.Body["view"].(map[string]any)
			if view["callback_id"] != viewControl {
				t.Fatalf("modal %v", view["callback_id"])
			}
			return view["private_metadata"].(string)
		}
	}
	t.Fatalf("clicking %s opened no modal", action)
	return ""
}

// submitControl submits the control modal; rollback "" leaves the choice empty.
func submitControl(t *testing.T, h *Handler, meta, user, viewID, comment, rollback string) (int, string) {
	t.Helper()
	values := map[string]any{blockComment: map[string]any{actionCommentIn: map[string]any{"type": "plain_text_input", "value": comment}}}
	if rollback != "" {
		values[blockRollback] = map[string]any{actionRollbackIn: map[string]any{"type": "radio_buttons", "selected_option": map[string]any{"value": rollback}}}
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": user},
		"view": map[string]any{"id": viewID, "callback_id": viewControl, "private_metadata": meta, "state": map[string]any{"values": values}},
	})
	w := serve(h, signedRequest(InteractionsPath, url.Values{"payload": {string(payload)}}.Encode(), testSecret, time.Now()))
	h.Wait()
	return w.Code, w.Body.String()
}

func pausedStep(t *testing.T, id string) workflows.StepState {
	t.Helper()
	for _, s := range progressOf(t, id).Steps {
		if s.ID == "verify" {
			return s
		}
	}
	t.Fatalf("run %s has no step verify", id)
	return workflows.StepState{}
}

func TestPausedStepOffersControlsAndRetriesWithAComment(t *testing.T) {
	all := []string{workflows.ControlRetry, workflows.ControlSkip, workflows.ControlAbort}
	id, runID, msg := startPausedFake(t, all)
	b := buttons(msg.blocks(t))
	for _, a := range []string{actionControlRetry, actionControlSkip, actionControlAbort} {
		var ref buttonRef
		if err := json.Unmarshal([]byte(b[a]), &ref); err != nil || ref != (buttonRef{WorkflowID: id, RunID: runID, Step: "verify"}) {
			t.Fatalf("button %s: value %q (%v)", a, b[a], err)
		}
	}
	for _, want := range []string{"Paused on a failed step", "no new documents in 2m", "<@U_ALICE>", "<!subteam^S_ONCALL>", "Retry", "Skip", "Abort"} {
		if !strings.Contains(msg.text(), want) {
			t.Errorf("paused message lacks %q: %s", want, msg.text())
		}
	}

	h := newTestHandler(t, 10*time.Second)
	meta := clickControl(t, h, msg, actionControlRetry, "U_CAROL", "carol-retry")
	if st := pausedStep(t, id); st.Status != workflows.StatusPaused {
		t.Fatalf("opening the modal changed the run: %+v", st)
	}
	if code, body := submitControl(t, h, meta, "U_CAROL", "V_RETRY", "   ", ""); code != http.StatusOK || !strings.Contains(body, `"response_action":"errors"`) {
		t.Fatalf("empty comment: %d %s", code, body)
	}
	if st := pausedStep(t, id); st.Status != workflows.StatusPaused {
		t.Fatalf("a commentless control changed the run: %+v", st)
	}
	if code, body := submitControl(t, h, meta, "U_CAROL", "V_RETRY", "the fault healed", ""); code != http.StatusOK || body != "" {
		t.Fatalf("submit: %d %q (want an empty 200 that closes the modal)", code, body)
	}
	st := pausedStep(t, id)
	if st.Status != workflows.StatusSucceeded || st.Pause.By != "U_CAROL" || st.Pause.Comment != "the fault healed" || st.Pause.Action != workflows.ControlRetry {
		t.Fatalf("after retry: %+v %+v", st, st.Pause)
	}
	// U_CAROL is an approver through S_ONCALL only: the group was resolved and sent.
	edit := finalEdit(t, id, msg.TS, func(apiCall) bool { return true })
	if hasActions(edit.blocks(t)) {
		t.Fatalf("the edited message still has buttons: %s", edit.Form.Get("blocks"))
	}
	for _, want := range []string{"Retried", "<@U_CAROL>", "the fault healed", "via slack"} {
		if !strings.Contains(edit.text(), want) {
			t.Errorf("edited message lacks %q: %s", want, edit.text())
		}
	}

	// The same button clicked again is stale: answered "too late", and nothing changes.
	meta = clickControl(t, h, msg, actionControlSkip, "U_ALICE", "alice-late")
	submitControl(t, h, meta, "U_ALICE", "V_LATE", "skip it", "")
	if got := responseTexts("alice-late"); len(got) != 1 || !strings.Contains(got[0], "Too late") {
		t.Fatalf("late control answered %q", got)
	}
	if st := pausedStep(t, id); st.Status != workflows.StatusSucceeded || st.Pause.By != "U_CAROL" {
		t.Fatalf("a late control changed the run: %+v", st.Pause)
	}
}

func TestAbortAsksWhetherToRollBack(t *testing.T) {
	id, _, msg := startPausedFake(t, []string{workflows.ControlRetry, workflows.ControlAbort})
	if _, ok := buttons(msg.blocks(t))[actionControlSkip]; ok {
		t.Fatalf("a step that may not be skipped got a Skip button: %s", msg.Form.Get("blocks"))
	}
	if !strings.Contains(msg.text(), "may not be skipped") {
		t.Errorf("the message does not say why there is no Skip: %s", msg.text())
	}
	h := newTestHandler(t, 10*time.Second)
	meta := clickControl(t, h, msg, actionControlAbort, "U_ALICE", "alice-abort")
	if code, body := submitControl(t, h, meta, "U_ALICE", "V_ABORT", "region is gone", ""); code != http.StatusOK ||
		!strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, blockRollback) {
		t.Fatalf("abort without a rollback choice: %d %s", code, body)
	}
	if st := pausedStep(t, id); st.Status != workflows.StatusPaused {
		t.Fatalf("an abort without a choice changed the run: %+v", st)
	}
	submitControl(t, h, meta, "U_ALICE", "V_ABORT", "region is gone", "rollback")
	st := pausedStep(t, id)
	if st.Status != workflows.StatusFailed || st.Pause.Action != workflows.ControlAbort {
		t.Fatalf("after abort: %+v", st.Pause)
	}
	edit := finalEdit(t, id, msg.TS, func(apiCall) bool { return true })
	if !strings.Contains(edit.text(), "Aborted* with rollback") {
		t.Fatalf("edited message: %s", edit.text())
	}
	res := fakeResult(t, id)
	if len(res.Applied) != 1 || !res.Applied[0].Rollback || res.Applied[0].Source != "slack" || res.Applied[0].Comment != "region is gone" {
		t.Fatalf("applied %+v", res.Applied)
	}
}

func TestUnauthorisedControlIsRefusedAndChangesNothing(t *testing.T) {
	id, _, msg := startPausedFake(t, []string{workflows.ControlRetry, workflows.ControlSkip, workflows.ControlAbort})
	h := newTestHandler(t, 10*time.Second)
	meta := clickControl(t, h, msg, actionControlSkip, "U_MALLORY", "mallory-skip")
	submitControl(t, h, meta, "U_MALLORY", "V_MAL", "let me", "")
	if got := responseTexts("mallory-skip"); len(got) != 1 || !strings.Contains(got[0], "may not decide") {
		t.Fatalf("answers %q", got)
	}
	if st := pausedStep(t, id); st.Status != workflows.StatusPaused {
		t.Fatalf("the run changed: %+v", st)
	}
	for _, c := range env.slack.snapshot() {
		if c.Method == "chat.update" && c.Form.Get("ts") == msg.TS {
			t.Fatalf("the message was edited: %v", c.Form)
		}
	}
	// A forged click gets 401 and opens no modal.
	before := len(env.slack.snapshot())
	body := click{user: "U_ALICE", action: actionControlRetry, value: buttons(msg.blocks(t))[actionControlRetry], messageTS: msg.TS,
		responseURL: env.slack.responseURL("forged-control"), actionTS: "2.000001"}.form()
	if w := serve(h, signedRequest(InteractionsPath, body, "not-the-secret", time.Now())); w.Code != http.StatusUnauthorized {
		t.Fatalf("forged click: status %d", w.Code)
	}
	h.Wait()
	for _, c := range env.slack.snapshot()[before:] {
		t.Fatalf("a forged click reached Slack: %+v", c)
	}
}

// With no worker, the control goes out as the control signal and applies when a worker is back.
func TestControlWithoutWorkerFallsBackToSignal(t *testing.T) {
	id, _, msg := startPausedFake(t, []string{workflows.ControlRetry, workflows.ControlSkip, workflows.ControlAbort})
	waitFor(t, "the fake to answer", func() bool { return pausedStep(t, id).Status == workflows.StatusPaused })
	env.worker.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := startWorker(); err != nil {
				t.Fatal(err)
			}
		}
	})
	h := newTestHandler(t, 2*time.Second)
	meta := clickControl(t, h, msg, actionControlSkip, "U_BOB", "bob-skip")
	submitControl(t, h, meta, "U_BOB", "V_BOB", "known flaky", "")
	if got := responseTexts("bob-skip"); len(got) != 1 || !strings.Contains(got[0], "Recorded; will apply when the worker is back") {
		t.Fatalf("answers %q", got)
	}
	if err := startWorker(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, "the skip to apply", func() bool { return pausedStep(t, id).Status == workflows.StatusSkipped })
	if st := pausedStep(t, id); st.Pause.By != "U_BOB" {
		t.Fatalf("pause %+v", st.Pause)
	}
}

func fakeResult(t *testing.T, id string) pausedFakeResult {
	t.Helper()
	// The fake closes a minute after its decision; end it now and read what it applied.
	if err := env.tc.SignalWorkflow(context.Background(), id, "", "done", nil); err != nil {
		t.Fatal(err)
	}
	var res pausedFakeResult
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.tc.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

const pausingRunbook = `schema: switchyard/v1
name: pausing
description: Probes that pause the run when they fail, after a change a rollback undoes.
lock: none
params:
  - name: url
    type: string
    required: true
steps:
  - id: change
    action: http.webhook
    with: {url: "${{ params.url }}/change"}
    compensate:
      - id: undo
        action: http.webhook
        with: {url: "${{ params.url }}/undo"}
  - id: probe
    check: http.check
    with: {url: "${{ params.url }}/probe"}
    on_failure: pause
  - id: interlock
    check: http.check
    with: {url: "${{ params.url }}/interlock"}
    on_failure: pause
    skippable: false
  - id: last
    check: http.check
    with: {url: "${{ params.url }}/last"}
    on_failure: pause
  - id: done
    action: core.echo
    with: {message: done}
`

// pausedMessage waits until the run posted the paused message of step and returns it.
func pausedMessage(t *testing.T, id, step string) apiCall {
	t.Helper()
	var found apiCall
	waitFor(t, "the paused message of "+step, func() bool {
		for _, c := range env.slack.runCalls(id) {
			if c.Method != "chat.postMessage" || c.Failed {
				continue
			}
			var ref buttonRef
			if v := buttons(c.blocks(t))[actionControlRetry]; v != "" && json.Unmarshal([]byte(v), &ref) == nil && ref.Step == step {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// TestSlackControlsDrivePausedRun drives the interpreter's paused steps from Slack on the
// embedded server: a refused click, a skip, an interlock without a Skip button retried after the
// fault healed, a stale button answered too late, and an abort with rollback.
func TestSlackControlsDrivePausedRun(t *testing.T) {
	var mu sync.Mutex
	healthy := map[string]bool{"/change": true, "/undo": true}
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, r.URL.Path)
		if !healthy[r.URL.Path] {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	id := newRunID("pausing")
	run, err := env.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.RunbookWorkflowType, workflows.RunInput{Runbook: "pausing", Environment: "lab", RequestedBy: "U_REQ",
			Params: map[string]any{"url": srv.URL}, Trigger: workflows.Trigger{Kind: "slack"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.tc.CancelWorkflow(context.Background(), id, run.GetRunID()) })
	step := func(id, name string) workflows.StepState {
		for _, s := range progressOf(t, id).Steps {
			if s.Path == name {
				return s
			}
		}
		return workflows.StepState{}
	}

	probeMsg := pausedMessage(t, id, "probe")
	if st := step(id, "probe"); st.Status != workflows.StatusPaused || st.Pause == nil {
		t.Fatalf("probe: %+v", st)
	}
	for _, want := range []string{"Paused on a failed step", "answered 503", "<@U_ALICE>", "<!subteam^S_ONCALL>"} {
		if !strings.Contains(probeMsg.text(), want) {
			t.Errorf("paused message lacks %q: %s", want, probeMsg.text())
		}
	}
	b := buttons(probeMsg.blocks(t))
	if b[actionControlRetry] == "" || b[actionControlSkip] == "" || b[actionControlAbort] == "" {
		t.Fatalf("buttons %v", b)
	}
	h := newTestHandler(t, 10*time.Second)
	slash(t, h, "U_DAVE", "status "+id, "e2e-status")
	if got := responseTexts("e2e-status"); len(got) != 1 || !strings.Contains(got[0], "failed and paused") || !strings.Contains(got[0], "Retry / Skip / Abort") {
		t.Fatalf("status answers %q", got)
	}

	// Someone who is not an approver: refused, nothing changes.
	meta := clickControl(t, h, probeMsg, actionControlSkip, "U_MALLORY", "e2e-mallory")
	submitControl(t, h, meta, "U_MALLORY", "V_E2E_MAL", "let me", "")
	if got := responseTexts("e2e-mallory"); len(got) != 1 || !strings.Contains(got[0], "may not decide") {
		t.Fatalf("answers %q", got)
	}
	if st := step(id, "probe"); st.Status != workflows.StatusPaused {
		t.Fatalf("a refused control changed the run: %+v", st)
	}

	// A group member skips the probe: its result is null and the run goes on.
	meta = clickControl(t, h, probeMsg, actionControlSkip, "U_CAROL", "e2e-carol")
	submitControl(t, h, meta, "U_CAROL", "V_E2E_CAROL", "known flaky endpoint", "")
	waitFor(t, "the probe to be skipped", func() bool { return step(id, "probe").Status == workflows.StatusSkipped })
	edit := finalEdit(t, id, probeMsg.TS, func(c apiCall) bool { return strings.Contains(c.text(), "Skipped") })
	if hasActions(edit.blocks(t)) || !strings.Contains(edit.text(), "<@U_CAROL>") || !strings.Contains(edit.text(), "known flaky endpoint") {
		t.Fatalf("edited message: %s", edit.text())
	}

	// The interlock fails and pauses: no Skip button. The fault heals and it is retried.
	lockMsg := pausedMessage(t, id, "interlock")
	if _, ok := buttons(lockMsg.blocks(t))[actionControlSkip]; ok {
		t.Fatalf("an interlock offered Skip: %s", lockMsg.text())
	}
	mu.Lock()
	healthy["/interlock"] = true
	mu.Unlock()
	meta = clickControl(t, h, lockMsg, actionControlRetry, "U_ALICE", "e2e-retry")
	submitControl(t, h, meta, "U_ALICE", "V_E2E_RETRY", "the endpoint is back", "")
	waitFor(t, "the retried interlock to pass", func() bool { return step(id, "interlock").Status == workflows.StatusSucceeded })
	edit = finalEdit(t, id, lockMsg.TS, func(c apiCall) bool { return strings.Contains(c.text(), "Retried") })
	if hasActions(edit.blocks(t)) || !strings.Contains(edit.text(), "the endpoint is back") {
		t.Fatalf("edited message: %s", edit.text())
	}

	// The probe's old buttons are stale now.
	meta = clickControl(t, h, probeMsg, actionControlRetry, "U_ALICE", "e2e-stale")
	submitControl(t, h, meta, "U_ALICE", "V_E2E_STALE", "once more", "")
	if got := responseTexts("e2e-stale"); len(got) != 1 || !strings.Contains(got[0], "Too late") {
		t.Fatalf("stale click answered %q", got)
	}
	if st := step(id, "probe"); st.Status != workflows.StatusSkipped {
		t.Fatalf("a stale click changed the probe: %+v", st)
	}

	// The last check fails for good: abort with rollback undoes the change; the run ends rolled back.
	lastMsg := pausedMessage(t, id, "last")
	meta = clickControl(t, h, lastMsg, actionControlAbort, "U_BOB", "e2e-abort")
	submitControl(t, h, meta, "U_BOB", "V_E2E_ABORT", "will not pass today", "rollback")
	waitFor(t, "the run to end", func() bool { return progressOf(t, id).EndedAt != nil })
	p := progressOf(t, id)
	if p.Outcome != workflows.OutcomeRolledBack {
		t.Fatalf("outcome %s (%s)", p.Outcome, p.Error)
	}
	mu.Lock()
	undone := slices.Contains(hits, "/undo")
	mu.Unlock()
	if !undone {
		t.Fatalf("the rollback did not undo the change: %v", hits)
	}
	var applied []string
	for _, c := range p.Controls {
		applied = append(applied, fmt.Sprintf("%s %s by %s via %s", c.Action, c.Step, c.By, c.Source))
	}
	want := []string{"skip probe by U_CAROL via slack", "retry interlock by U_ALICE via slack", "abort last by U_BOB via slack"}
	if !slices.Equal(applied, want) {
		t.Fatalf("applied controls %q, want %q", applied, want)
	}
}
