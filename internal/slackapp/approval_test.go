package slackapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/workflows"
)

func TestApprovalRequestIsThreadedAndCarriesWhatAnApproverNeeds(t *testing.T) {
	id, runID := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	calls := env.slack.runCalls(id)
	first := calls[0]
	if first.Form.Get("channel") != "C123" || first.Form.Get("thread_ts") != "" {
		t.Fatalf("run_started: channel %q thread %q", first.Form.Get("channel"), first.Form.Get("thread_ts"))
	}
	link := uiBase + "/namespaces/default/workflows/" + url.PathEscape(id) + "/" + runID
	for _, want := range []string{"gate", "lab", "execute", "<@U_REQ>", "slack", link} {
		if !strings.Contains(first.text(), want) {
			t.Errorf("run_started blocks lack %q: %s", want, first.Form.Get("blocks"))
		}
	}
	if msg.Form.Get("thread_ts") != first.TS {
		t.Fatalf("approval request in thread %q, want %q", msg.Form.Get("thread_ts"), first.TS)
	}
	blocks := msg.text()
	for _, want := range []string{"Move traffic to us-west-2?", "<@U_ALICE>", "<!subteam^S_ONCALL>", "1 of", "<!date^", "the run aborts", "gate", "lab",
		"What approving lets happen", "`done` would run core.echo with message=done"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("approval request lacks %q: %s", want, blocks)
		}
	}
	var ref buttonRef
	if err := json.Unmarshal([]byte(buttons(msg.blocks(t))[actionApprove]), &ref); err != nil {
		t.Fatal(err)
	}
	if ref != (buttonRef{WorkflowID: id, RunID: runID, Step: "approve"}) {
		t.Fatalf("button value %+v", ref)
	}
	if buttons(msg.blocks(t))[actionReject] == "" {
		t.Fatal("no Reject button")
	}
}

func TestAuthorisedClickApprovesAndEditsTheMessage(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	if w := clickButton(t, h, msg, actionApprove, "U_ALICE", "alice-ok"); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalApproved || len(st.Votes) != 1 || st.Votes[0].By != "U_ALICE" || st.Votes[0].Source != "slack" {
		t.Fatalf("approval %+v", st)
	}
	edit := finalEdit(t, id, msg.TS, func(apiCall) bool { return true })
	if hasActions(edit.blocks(t)) {
		t.Fatalf("the edited message still has buttons: %s", edit.Form.Get("blocks"))
	}
	for _, want := range []string{"<@U_ALICE> :white_check_mark: approved", "<!date^", "Approved."} {
		if !strings.Contains(edit.text(), want) {
			t.Errorf("edited message lacks %q: %s", want, edit.Form.Get("blocks"))
		}
	}
	if got := responseTexts("alice-ok"); len(got) != 0 {
		t.Fatalf("a decided click needs no ephemeral answer, got %q", got)
	}
	// Every edit of the message, the handler's and the workflow's, leaves no buttons.
	waitFor(t, "the run to finish", func() bool { return progressOf(t, id).Outcome == workflows.OutcomeSucceeded })
	for _, c := range env.slack.runCalls(id) {
		if c.Method == "chat.update" && hasActions(c.blocks(t)) {
			t.Fatalf("an edit kept live buttons: %s", c.Form.Get("blocks"))
		}
	}
}

func TestDoubleClickCountsOneVote(t *testing.T) {
	id, _ := startRun(t, "pair", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionApprove, "U_ALICE", "double")
	clickButton(t, h, msg, actionApprove, "U_ALICE", "double")
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalWaiting || len(st.Votes) != 1 {
		t.Fatalf("two clicks by one person: %+v", st)
	}
	got := responseTexts("double")
	if len(got) != 2 || !strings.Contains(got[1], "1 of 2 approvals") {
		t.Fatalf("answers %q", got)
	}
	// The second approver is a member of S_ONCALL; with them the quorum is reached.
	clickButton(t, h, msg, actionApprove, "U_BOB", "double-bob")
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalApproved || len(st.Votes) != 2 {
		t.Fatalf("after the second approver: %+v", st)
	}
}

func TestSlackRedeliveryOfOneClickIsOneUpdate(t *testing.T) {
	id, _ := startRun(t, "pair", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	c := click{user: "U_ALICE", action: actionApprove, value: buttons(msg.blocks(t))[actionApprove], messageTS: msg.TS,
		responseURL: env.slack.responseURL("redeliver"), actionTS: "1700000001.000001"}
	for range 2 { // Slack redelivers a request it thinks went unanswered
		serve(h, signedRequest(InteractionsPath, c.form(), testSecret, time.Now()))
	}
	h.Wait()
	if st := approvalOfRun(t, id); len(st.Votes) != 1 {
		t.Fatalf("votes %+v", st.Votes)
	}
}

func TestNonApproverClickIsRefusedPrivately(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionApprove, "U_MALLORY", "mallory")
	got := env.slack.responses("mallory")
	if len(got) != 1 {
		t.Fatalf("answers %v", got)
	}
	if got[0]["response_type"] != "ephemeral" || got[0]["replace_original"] != false {
		t.Fatalf("refusal must be ephemeral and leave the message: %v", got[0])
	}
	if text, _ := got[0]["text"].(string); !strings.Contains(text, "not an approver") {
		t.Fatalf("refusal %q", text)
	}
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalWaiting || len(st.Votes) != 0 {
		t.Fatalf("the run changed: %+v", st)
	}
	for _, c := range env.slack.runCalls(id) {
		if c.Method == "chat.update" {
			t.Fatalf("the message was edited: %v", c.Form)
		}
	}
}

func TestGroupMemberApprovesThroughUserGroup(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionApprove, "U_CAROL", "carol")
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalApproved || st.Votes[0].By != "U_CAROL" {
		t.Fatalf("approval %+v", st)
	}
	asked := false
	for _, c := range env.slack.snapshot() {
		asked = asked || (c.Method == "usergroups.users.list" && c.Form.Get("usergroup") == "S_ONCALL")
	}
	if !asked {
		t.Fatal("membership of S_ONCALL was never looked up")
	}
}

func TestRequesterCannotApproveTwoPersonStep(t *testing.T) {
	id, _ := startRun(t, "pair", "U_ALICE")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionApprove, "U_ALICE", "self")
	got := responseTexts("self")
	if len(got) != 1 || !strings.Contains(got[0], "requested this run and cannot approve it") {
		t.Fatalf("answers %q", got)
	}
	if st := approvalOfRun(t, id); len(st.Votes) != 0 {
		t.Fatalf("votes %+v", st.Votes)
	}
}

func TestClickAfterTheStepEndedIsTooLate(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	approveFromCLI(t, id, "U_ALICE")
	waitFor(t, "the run to finish", func() bool { return progressOf(t, id).Outcome == workflows.OutcomeSucceeded })
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionApprove, "U_BOB", "late")
	got := responseTexts("late")
	if len(got) != 1 || !strings.Contains(got[0], "Too late") {
		t.Fatalf("answers %q", got)
	}
	if st := approvalOfRun(t, id); len(st.Votes) != 1 || st.Votes[0].By != "U_ALICE" {
		t.Fatalf("votes changed: %+v", st.Votes)
	}
}

func TestRejectAsksForAReasonInAModal(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	clickButton(t, h, msg, actionReject, "U_ALICE", "reject")
	var view map[string]any
	for _, c := range env.slack.snapshot() {
		if c.Method == "views.open" && strings.Contains(c.Body["view"].(map[string]any)["private_metadata"].(string), id) {
			view = c.Body
		}
	}
	if view == nil {
		t.Fatal("no modal was opened")
	}
	if !strings.HasPrefix(view["trigger_id"].(string), "trigger-") {
		t.Fatalf("modal opened with trigger %v", view["trigger_id"])
	}
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalWaiting {
		t.Fatalf("opening the modal changed the run: %+v", st)
	}
	meta := view["view"].(map[string]any)["private_metadata"].(string)
	submit := func(reason string) *struct {
		code int
		body string
	} {
		payload, _ := json.Marshal(map[string]any{
			"type": "view_submission", "user": map[string]any{"id": "U_ALICE"},
			"view": map[string]any{"id": "V123", "callback_id": viewReject, "private_metadata": meta,
				"state": map[string]any{"values": map[string]any{blockReason: map[string]any{actionReasonIn: map[string]any{"type": "plain_text_input", "value": reason}}}}},
		})
		w := serve(h, signedRequest(InteractionsPath, url.Values{"payload": {string(payload)}}.Encode(), testSecret, time.Now()))
		h.Wait()
		return &struct {
			code int
			body string
		}{w.Code, w.Body.String()}
	}
	if got := submit("  "); got.code != http.StatusOK || !strings.Contains(got.body, `"response_action":"errors"`) {
		t.Fatalf("empty reason: %d %s", got.code, got.body)
	}
	if st := approvalOfRun(t, id); st.Status != workflows.ApprovalWaiting {
		t.Fatalf("an empty reason changed the run: %+v", st)
	}
	if got := submit("not during peak traffic"); got.code != http.StatusOK || got.body != "" {
		t.Fatalf("reason: %d %q (want an empty 200 that closes the modal)", got.code, got.body)
	}
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalRejected || st.Votes[0].Comment != "not during peak traffic" || st.Votes[0].Approve {
		t.Fatalf("approval %+v", st)
	}
	edit := finalEdit(t, id, msg.TS, func(apiCall) bool { return true })
	if hasActions(edit.blocks(t)) || !strings.Contains(edit.Form.Get("blocks"), "not during peak traffic") {
		t.Fatalf("edited message: %s", edit.Form.Get("blocks"))
	}
	waitFor(t, "the run to fail", func() bool { return progressOf(t, id).Outcome == workflows.OutcomeFailed })
}

// A timeout edits the request to its final state, and the escalation mentioning the approvers
// was posted before it.
func TestTimeoutEscalatesThenClosesTheMessage(t *testing.T) {
	id, _ := startRun(t, "quick", "U_REQ")
	msg := approvalMessage(t, id)
	edit := finalEdit(t, id, msg.TS, func(c apiCall) bool { return strings.Contains(c.Form.Get("blocks"), "Expired") })
	if hasActions(edit.blocks(t)) || !strings.Contains(edit.Form.Get("blocks"), "Expired: aborting") {
		t.Fatalf("final message: %s", edit.Form.Get("blocks"))
	}
	order := map[string]int{}
	for i, c := range env.slack.runCalls(id) {
		switch {
		case c.TS == msg.TS:
			order["request"] = i
		case c.Method == "chat.postMessage" && strings.Contains(c.Form.Get("text"), ":alarm_clock:"):
			order["escalation"] = i
			for _, want := range []string{"<@U_ALICE>", "<!subteam^S_ONCALL>", "Still waiting"} {
				if !strings.Contains(c.Form.Get("text"), want) {
					t.Errorf("escalation lacks %q: %s", want, c.Form.Get("text"))
				}
			}
		case c.Method == "chat.update" && c.Form.Get("ts") == msg.TS:
			order["final"] = i
		}
	}
	if _, ok := order["escalation"]; !ok {
		t.Fatal("no escalation was posted")
	}
	if order["request"] >= order["escalation"] || order["escalation"] >= order["final"] {
		t.Fatalf("order of messages: %v", order)
	}
}

// While Slack fails, the approval request is retried by the activity; the run can still be
// approved from the CLI path, and when Slack is back the request is posted and then edited to
// its final state, in order.
func TestSlackOutageLosesNothing(t *testing.T) {
	id := newRunID("gate")
	failures := 0
	env.slack.mu.Lock()
	env.slack.failPost = func(c apiCall) bool {
		blocks := c.Form.Get("blocks")
		if !strings.Contains(blocks, id) || !strings.Contains(blocks, actionApprove) || failures >= 2 {
			return false
		}
		failures++
		// An HTTP 500 may hide a post, so each retry looks in the thread first; the outage
		// spans Slack's one-lookup-a-minute window between them.
		env.slack.freshReadWindow()
		return true
	}
	env.slack.mu.Unlock()
	t.Cleanup(func() { env.slack.mu.Lock(); env.slack.failPost = nil; env.slack.mu.Unlock() })

	startRunID(t, id, "gate", "U_REQ")
	waitFor(t, "the approval step to wait", func() bool { return approvalOfRun(t, id).Status == workflows.ApprovalWaiting })
	waitFor(t, "a failed post of the request", func() bool {
		env.slack.mu.Lock()
		defer env.slack.mu.Unlock()
		return failures >= 1
	})
	approveFromCLI(t, id, "U_ALICE")
	waitFor(t, "the run to finish", func() bool { return progressOf(t, id).Outcome == workflows.OutcomeSucceeded })

	msg := approvalMessage(t, id)
	edit := finalEdit(t, id, msg.TS, func(apiCall) bool { return true })
	if hasActions(edit.blocks(t)) || !strings.Contains(edit.text(), "<@U_ALICE> :white_check_mark: approved") {
		t.Fatalf("final message: %s", edit.Form.Get("blocks"))
	}
	attempts := 0
	for _, c := range env.slack.runCalls(id) {
		if c.Method == "chat.postMessage" && strings.Contains(c.Form.Get("blocks"), actionApprove) {
			attempts++
		}
	}
	if attempts != 3 {
		t.Fatalf("the approval request was attempted %d times, want 2 failures and 1 success", attempts)
	}
	// The summary comes last: the outbox kept the run's messages in order through the outage.
	calls := env.slack.runCalls(id)
	last := calls[len(calls)-1]
	if !strings.Contains(last.Form.Get("text"), "Summary") {
		waitFor(t, "the summary", func() bool {
			calls = env.slack.runCalls(id)
			return strings.Contains(calls[len(calls)-1].Form.Get("text"), "Summary")
		})
	}
}

// With no worker running, a click cannot be answered by an update; it is stored as the approve
// signal and applied when a worker is back.
func TestClickWithoutWorkerFallsBackToSignal(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	msg := approvalMessage(t, id)
	waitFor(t, "the approval step to wait", func() bool { return approvalOfRun(t, id).Status == workflows.ApprovalWaiting })
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
	clickButton(t, h, msg, actionApprove, "U_BOB", "noworker")
	got := responseTexts("noworker")
	if len(got) != 1 || !strings.Contains(got[0], "Recorded; will apply when the worker is back") {
		t.Fatalf("answers %q", got)
	}
	if err := startWorker(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, "the run to finish", func() bool {
		// The first queries after the restart may time out while the server still routes them to
		// the stopped worker's sticky queue (go test -race saw it): ask again rather than fail.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := env.tc.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
		var p workflows.Progress
		return err == nil && v.Get(&p) == nil && p.Outcome == workflows.OutcomeSucceeded
	})
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalApproved || st.Votes[0].By != "U_BOB" || st.Votes[0].Source != "slack" {
		t.Fatalf("approval %+v", st)
	}
}

// approveFromCLI decides the way `starter approve` does: an update with no Slack in between.
func approveFromCLI(t *testing.T, id, by string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := env.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateID: "cli/approve/" + by, UpdateName: workflows.ApproveUpdate,
		Args:         []any{workflows.Decision{Step: "approve", Approve: true, By: by, Source: "cli"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatalf("approve from the CLI path: %v", err)
	}
}
