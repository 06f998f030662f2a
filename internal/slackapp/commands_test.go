package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/switchyard-dr/switchyard/workflows"
)

func slash(t *testing.T, h *Handler, user, text, responseName string) *struct {
	code int
	body string
} {
	t.Helper()
	form := url.Values{"command": {"/switchyard"}, "text": {text}, "user_id": {user}, "channel_id": {"C123"},
		"response_url": {env.slack.responseURL(responseName)}, "trigger_id": {fmt.Sprintf("trig-%d", runSeq.Add(1))}}.Encode()
	w := serve(h, signedRequest(CommandsPath, form, testSecret, time.Now()))
	h.Wait()
	return &struct {
		code int
		body string
	}{w.Code, w.Body.String()}
}

// /switchyard run plans first, shows the verdict of each step with a Confirm button, and Confirm
// starts the real run under the environment's lock id; a second Confirm names the run holding it.
func TestSlashRunPlansThenConfirmStartsTheOperation(t *testing.T) {
	h := newTestHandler(t, 10*time.Second)
	ack := slash(t, h, "U_DAVE", "run drill env=lab target=us-west-2", "plan")
	if ack.code != http.StatusOK || !strings.Contains(ack.body, `"response_type":"ephemeral"`) || !strings.Contains(ack.body, "Planning drill on lab") {
		t.Fatalf("ack %d %s", ack.code, ack.body)
	}
	got := env.slack.responses("plan")
	if len(got) != 1 {
		t.Fatalf("plan answers %v", got)
	}
	if got[0]["response_type"] != "ephemeral" {
		t.Fatalf("the plan must be ephemeral: %v", got[0])
	}
	raw, _ := json.Marshal(got[0]["blocks"])
	var blocks slack.Blocks
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	text := unescapeJSON(string(raw))
	for _, want := range []string{"passed `preflight`", "would run `approve`", "would run `shift` (http.webhook)", "planned"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q: %s", want, text)
		}
	}
	value := buttons(blocks.BlockSet)[actionConfirm]
	var req planRequest
	if err := json.Unmarshal([]byte(value), &req); err != nil {
		t.Fatalf("confirm value %q: %v", value, err)
	}
	if req.Runbook != "drill" || req.Environment != "lab" || req.Params["target"] != "us-west-2" || !strings.HasPrefix(req.Plan, "switchyard/lab/drill/") {
		t.Fatalf("confirm carries %+v", req)
	}
	if p := progressOf(t, req.Plan); p.Mode != workflows.ModePlan || p.RequestedBy != "U_DAVE" || p.Trigger.Kind != "slack" {
		t.Fatalf("the plan run: %+v", p)
	}

	confirm := func(name string) {
		c := click{user: "U_DAVE", action: actionConfirm, value: value, responseURL: env.slack.responseURL(name), actionTS: "1.5"}
		if w := serve(h, signedRequest(InteractionsPath, c.form(), testSecret, time.Now())); w.Code != http.StatusOK {
			t.Fatalf("confirm: status %d", w.Code)
		}
		h.Wait()
	}
	confirm("confirm")
	opID := workflows.OperationID("lab")
	t.Cleanup(func() { _ = env.tc.CancelWorkflow(context.Background(), opID, "") })
	desc, err := env.tc.DescribeWorkflowExecution(context.Background(), opID, "")
	if err != nil {
		t.Fatalf("no run under %s: %v", opID, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status %v", desc.GetWorkflowExecutionInfo().GetStatus())
	}
	answer := env.slack.responses("confirm")
	if len(answer) != 1 || answer[0]["replace_original"] != true || !strings.Contains(answer[0]["text"].(string), "Started *drill* on *lab*") {
		t.Fatalf("confirm answers %v", answer)
	}
	waitFor(t, "the operation to wait for approval", func() bool { return approvalOfRun(t, opID).Status == workflows.ApprovalWaiting })
	if p := progressOf(t, opID); p.Mode != workflows.ModeExecute || p.RequestedBy != "U_DAVE" {
		t.Fatalf("the operation: %+v", p)
	}

	confirm("confirm-again")
	again := responseTexts("confirm-again")
	if len(again) != 1 || !strings.Contains(again[0], "already has a DR operation running (drill)") || !strings.Contains(again[0], url.PathEscape(opID)) {
		t.Fatalf("second confirm answers %q", again)
	}

	// status shows the waiting step; cancel is for approvers only.
	slash(t, h, "U_DAVE", "status "+opID, "status")
	if got := responseTexts("status"); len(got) != 1 || !strings.Contains(got[0], "waiting_approval `approve`") ||
		!strings.Contains(got[0], "then `shift` would run http.webhook with url=http://127.0.0.1:1/never-called") {
		t.Fatalf("status answers %q", got)
	}
	n := 0
	waitFor(t, "the operation in the list of runs", func() bool { // visibility is eventually consistent
		n++
		name := fmt.Sprintf("list-%d", n)
		slash(t, h, "U_DAVE", "status", name)
		got := responseTexts(name)
		return len(got) == 1 && strings.Contains(got[0], "Recent runs") && strings.Contains(got[0], url.PathEscape(opID)+"/")
	})
	slash(t, h, "U_DAVE", "cancel "+opID, "cancel-dave")
	if got := responseTexts("cancel-dave"); len(got) != 1 || !strings.Contains(got[0], "Only approvers") {
		t.Fatalf("cancel by a non-approver: %q", got)
	}
	if desc, _ := env.tc.DescribeWorkflowExecution(context.Background(), opID, ""); desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatal("a non-approver cancelled the run")
	}
	slash(t, h, "U_BOB", "cancel "+opID, "cancel-bob")
	if got := responseTexts("cancel-bob"); len(got) != 1 || !strings.Contains(got[0], "Cancellation of") {
		t.Fatalf("cancel by a group approver: %q", got)
	}
	waitFor(t, "the operation to be cancelled", func() bool {
		desc, err := env.tc.DescribeWorkflowExecution(context.Background(), opID, "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
}

func TestSlashApproveFollowsTheSameRules(t *testing.T) {
	id, _ := startRun(t, "gate", "U_REQ")
	approvalMessage(t, id)
	h := newTestHandler(t, 10*time.Second)
	slash(t, h, "U_MALLORY", "approve "+id+" approve", "slash-mallory")
	if got := responseTexts("slash-mallory"); len(got) != 1 || !strings.Contains(got[0], "not an approver") {
		t.Fatalf("answers %q", got)
	}
	slash(t, h, "U_BOB", "reject "+id+" approve", "slash-noreason")
	if got := responseTexts("slash-noreason"); len(got) != 0 {
		t.Fatalf("a reject without reason must be answered with usage at once, got %q", got)
	}
	slash(t, h, "U_BOB", "approve "+id+" approve looks right", "slash-bob")
	st := approvalOfRun(t, id)
	if st.Status != workflows.ApprovalApproved || st.Votes[0].By != "U_BOB" || st.Votes[0].Comment != "looks right" {
		t.Fatalf("approval %+v", st)
	}
}

func TestSlashSyntaxErrorsAreAnsweredAtOnce(t *testing.T) {
	h := newTestHandler(t, time.Second)
	for text, want := range map[string]string{
		"":                        "Usage",
		"run":                     "which runbook?",
		"run drill":               "env=ENV is required",
		"run drill env=lab bogus": `"bogus": want key=value`,
		"frobnicate":              `Unknown subcommand "frobnicate"`,
		"cancel":                  "Usage",
	} {
		got := slash(t, h, "U_DAVE", text, "syntax")
		var ack struct {
			ResponseType string `json:"response_type"`
			Text         string `json:"text"`
		}
		_ = json.Unmarshal([]byte(got.body), &ack)
		if got.code != http.StatusOK || !strings.Contains(ack.Text, want) || ack.ResponseType != "ephemeral" {
			t.Errorf("%q: %d %s, want %q", text, got.code, got.body, want)
		}
	}
	if got := env.slack.responses("syntax"); len(got) != 0 {
		t.Fatalf("syntax errors went through response_url: %v", got)
	}
}

func TestParseRunTypesParams(t *testing.T) {
	req, err := parseRun([]string{"failover", "env=prod", "target=us-west-2", "dry=true", "count=3", `code="42"`})
	if err != nil {
		t.Fatal(err)
	}
	want := planRequest{Runbook: "failover", Environment: "prod", Params: map[string]any{"target": "us-west-2", "dry": true, "count": int64(3), "code": "42"}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v", req)
	}
}
