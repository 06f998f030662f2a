package slackapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/slack-go/slack"

	"github.com/switchyard-dr/switchyard/workflows"
)

const usage = "Usage:\n" +
	"• `/switchyard run RUNBOOK env=ENV [key=value ...]`: plan it, then confirm to run it\n" +
	"• `/switchyard status [ID]`: recent runs, or one run's steps\n" +
	"• `/switchyard approve ID STEP [comment]`, `/switchyard reject ID STEP REASON`\n" +
	"• `/switchyard cancel ID` (approvers only)"

// planRequest is what the Confirm button carries: the plan's inputs, so that the real run is
// exactly what was planned. Slack signs the callback and users cannot edit a button's value.
type planRequest struct {
	Runbook     string         `json:"runbook"`
	Environment string         `json:"environment"`
	Params      map[string]any `json:"params,omitempty"`
	Plan        string         `json:"plan,omitempty"`
}

// command handles a verified slash command and returns the immediate (ephemeral) answer. Syntax
// errors are answered at once; everything that talks to Temporal continues in the background and
// answers through response_url.
func (h *Handler) command(cmd slack.SlashCommand) any {
	args := strings.Fields(cmd.Text)
	if len(args) == 0 || args[0] == "help" {
		return ephemeralAck(usage)
	}
	user := cmd.UserID
	switch args[0] {
	case "run", "plan":
		req, err := parseRun(args[1:])
		if err != nil {
			return ephemeralAck(err.Error() + "\n" + usage)
		}
		h.background("plan", func(ctx context.Context) { h.planRun(ctx, cmd, req) })
		return ephemeralAck(fmt.Sprintf("Planning %s on %s…", req.Runbook, req.Environment))
	case "status":
		if len(args) > 2 {
			return ephemeralAck(usage)
		}
		h.background("status", func(ctx context.Context) {
			if len(args) == 1 {
				h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: h.listRuns(ctx)})
				return
			}
			h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: h.status(ctx, args[1])})
		})
		return nil
	case "cancel":
		if len(args) != 2 {
			return ephemeralAck(usage)
		}
		h.background("cancel", func(ctx context.Context) {
			h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: h.cancel(ctx, args[1], user)})
		})
		return nil
	case "approve", "reject":
		approve := args[0] == "approve"
		if len(args) < 3 || (!approve && len(args) < 4) {
			return ephemeralAck(usage)
		}
		d := decision{ref: buttonRef{WorkflowID: args[1], Step: args[2]}, user: user, approve: approve,
			comment: strings.Join(args[3:], " "), updateID: fmt.Sprintf("slack/%s/%s/%s", args[2], user, cmd.TriggerID)}
		h.background("command decision", func(ctx context.Context) {
			out := h.decide(ctx, d)
			h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: out.text})
		})
		return nil
	}
	return ephemeralAck(fmt.Sprintf("Unknown subcommand %q.\n%s", args[0], usage))
}

func ephemeralAck(text string) any {
	return map[string]string{"response_type": slack.ResponseTypeEphemeral, "text": text}
}

// parseRun parses `RUNBOOK env=ENV key=value...`. Values are typed the way the CLI types params
// it has no declaration for: true/false, integers, else strings; quote a value ("123") to keep it
// a string.
func parseRun(args []string) (planRequest, error) {
	if len(args) == 0 || strings.Contains(args[0], "=") {
		return planRequest{}, errors.New("which runbook?")
	}
	req := planRequest{Runbook: args[0], Params: map[string]any{}}
	var errs []error
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("%q: want key=value", kv))
			continue
		}
		if k == "env" {
			req.Environment = v
			continue
		}
		req.Params[k] = paramValue(v)
	}
	if req.Environment == "" {
		errs = append(errs, errors.New("env=ENV is required"))
	}
	if len(req.Params) == 0 {
		req.Params = nil
	}
	return req, errors.Join(errs...)
}

func paramValue(v string) any {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}

// planRun starts the runbook in plan mode under a unique id, waits for it and answers with each
// step's verdict and a Confirm button.
func (h *Handler) planRun(ctx context.Context, cmd slack.SlashCommand, req planRequest) {
	in := workflows.RunInput{Runbook: req.Runbook, Environment: req.Environment, Params: req.Params,
		Mode: workflows.ModePlan, RequestedBy: cmd.UserID, Trigger: workflows.Trigger{Kind: "slack", Detail: "plan"}}
	id := workflows.ReadOnlyRunID(req.Environment, req.Runbook, uniqueSuffix())
	run, err := h.tc.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	if err != nil {
		h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: fmt.Sprintf("Could not start the plan of %s: %v", req.Runbook, err)})
		return
	}
	req.Plan = id
	pctx, cancel := context.WithTimeout(ctx, h.plan)
	defer cancel()
	res, runErr := result(pctx, run)
	if res == nil {
		if noWorker(runErr) {
			h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: fmt.Sprintf(
				"The plan is still running after %s (is a worker up?). Follow it with `/switchyard status %s`.", h.plan, id)})
			return
		}
		h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{Text: fmt.Sprintf("The plan of %s on %s failed: %s", req.Runbook, req.Environment, failureText(runErr))})
		return
	}
	blocks := planBlocks(h.cfg, id, run.GetRunID(), res, runErr)
	value, _ := json.Marshal(req)
	if len(value) > maxButtonValue {
		blocks = append(blocks, section("The params are too long for a Confirm button; start the run with `starter run`."))
	} else {
		btn := slack.NewButtonBlockElement(actionConfirm, string(value), plain("Confirm: run it")).WithStyle(slack.StylePrimary)
		btn.Confirm = slack.NewConfirmationBlockObject(plain("Start the real run?"),
			mrkdwn(fmt.Sprintf("This runs *%s* on *%s* for real, as `%s`.", escapeText(req.Runbook), escapeText(req.Environment), workflows.OperationID(req.Environment))),
			plain("Run it"), plain("Not now"))
		blocks = append(blocks, slack.NewActionBlock(blockConfirm, btn))
	}
	h.respond(ctx, cmd.ResponseURL, slack.WebhookMessage{
		Text:   fmt.Sprintf("Plan of %s on %s: %s", req.Runbook, req.Environment, res.Outcome),
		Blocks: &slack.Blocks{BlockSet: blocks},
	})
}

func startOptions(id string, in workflows.RunInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SARunbook.ValueSet(in.Runbook), workflows.SAEnvironment.ValueSet(in.Environment),
			workflows.SATrigger.ValueSet(in.Trigger.Kind)),
		StaticSummary: fmt.Sprintf("%s on %s (%s) by %s", in.Runbook, in.Environment, in.Mode, in.RequestedBy),
	}
}

func uniqueSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// result waits for a run and returns its report, which failed runs carry in their failure's
// details; a nil report means the run produced none (it failed to load, or ctx ended first).
func result(ctx context.Context, run client.WorkflowRun) (*workflows.Result, error) {
	var res workflows.Result
	err := run.Get(ctx, &res)
	if err == nil {
		return &res, nil
	}
	if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok && appErr.HasDetails() {
		var failed workflows.Result
		if derr := appErr.Details(&failed); derr == nil {
			return &failed, err
		}
	}
	return nil, err
}

// failureText is the innermost message of a workflow failure: the one that says what is wrong.
func failureText(err error) string {
	if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return appErr.Message()
	}
	return err.Error()
}

func planBlocks(cfg Config, id, runID string, res *workflows.Result, runErr error) []slack.Block {
	head := fmt.Sprintf("*Plan* of *%s* on *%s*: %s (%s)", escapeText(res.Runbook), escapeText(res.Environment), escapeText(res.Outcome), runLink(cfg, id, runID))
	lines := stepLines(res.Steps, planVerdict)
	blocks := []slack.Block{section(head)}
	for len(lines) > 0 && len(blocks) < maxMessageSteps {
		chunk := ""
		for len(lines) > 0 && len(chunk)+len(lines[0])+1 < maxSectionText {
			chunk += lines[0] + "\n"
			lines = lines[1:]
		}
		if chunk == "" { // one line longer than a section
			chunk, lines = truncate(lines[0], maxSectionText), lines[1:]
		}
		blocks = append(blocks, section(chunk))
	}
	if runErr != nil || res.Error != "" {
		blocks = append(blocks, section(":warning: The plan found problems: "+escapeText(orDefault(res.Error, failureText(runErr)))))
	}
	return blocks
}

// planVerdict says what a step would do in a real run.
func planVerdict(s workflows.StepState) string {
	switch s.Status {
	case workflows.StatusPlanned:
		return ":arrow_forward: would run"
	case workflows.StatusSucceeded:
		return ":white_check_mark: passed"
	case workflows.StatusFailed:
		return ":x: failed"
	case workflows.StatusSkipped:
		return ":fast_forward: would be skipped"
	}
	return stepIcon(s.Status) + " " + string(s.Status)
}

func stepLines(steps []workflows.StepState, verdict func(workflows.StepState) string) []string {
	var out []string
	for _, s := range steps {
		indent := strings.Repeat("    ", strings.Count(s.Path, "/"))
		line := fmt.Sprintf("%s%s `%s`", indent, verdict(s), escapeText(s.ID))
		if s.What != "" {
			line += " (" + escapeText(s.What) + ")"
		}
		detail := s.Summary
		if s.Error != "" {
			detail = s.Error
		}
		if s.Approval != nil && s.Status == workflows.StatusWaiting {
			detail = fmt.Sprintf("waiting for %d of %s until %s", max(s.Approval.Quorum, 1), mentions(s.Approval.Approvers), slackDate(s.Approval.Deadline))
			out = append(out, line+": "+detail)
			for _, p := range s.Approval.Plan {
				next := fmt.Sprintf("%s    then `%s` %s", indent, escapeText(p.Step), escapeText(truncate(p.Summary, 200)))
				if p.Current != "" || p.Desired != "" {
					next += fmt.Sprintf(" (now: %s → after: %s)", escapeText(orUnknown(p.Current)), escapeText(orUnknown(p.Desired)))
				}
				out = append(out, next)
			}
			continue
		}
		if s.Pause != nil && s.Status == workflows.StatusPaused {
			var offered []string
			for _, b := range controlButtons {
				if slices.Contains(s.Pause.Controls, b.action) {
					offered = append(offered, b.label)
				}
			}
			out = append(out, fmt.Sprintf("%s: failed and paused: %s — %s (the buttons in the run's thread, or `starter %s`)", line,
				escapeText(truncate(s.Error, 300)), strings.Join(offered, " / "), strings.Join(s.Pause.Controls, "|")))
			continue
		}
		if detail != "" {
			line += ": " + escapeText(truncate(detail, 300))
		}
		out = append(out, line)
	}
	return out
}

// confirm starts the planned runbook for real under the environment's lock id.
func (h *Handler) confirm(ctx context.Context, cb slack.InteractionCallback, req planRequest) {
	in := workflows.RunInput{Runbook: req.Runbook, Environment: req.Environment, Params: req.Params,
		Mode: workflows.ModeExecute, RequestedBy: cb.User.ID, Trigger: workflows.Trigger{Kind: "slack", Detail: "confirmed plan " + req.Plan}}
	id := workflows.OperationID(req.Environment)
	run, err := h.tc.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	if err != nil {
		text := fmt.Sprintf("Could not start %s on %s: %v", req.Runbook, req.Environment, err)
		if _, ok := errors.AsType[*serviceerror.WorkflowExecutionAlreadyStarted](err); ok {
			text = h.alreadyRunning(ctx, id, req.Environment)
		}
		h.ephemeral(ctx, cb.ResponseURL, cb.Channel.ID, cb.User.ID, text)
		return
	}
	h.logger.Info("run started from slack", "workflow_id", id, "run_id", run.GetRunID(), "runbook", req.Runbook, "user", cb.User.ID)
	h.respond(ctx, cb.ResponseURL, slack.WebhookMessage{ReplaceOriginal: true, Text: fmt.Sprintf(
		":rocket: Started *%s* on *%s*: %s. Its thread in the environment's channel follows it; `/switchyard status %s` shows its steps.",
		escapeText(req.Runbook), escapeText(req.Environment), runLink(h.cfg, id, run.GetRunID()), id)})
}

// alreadyRunning explains the one-operation-per-environment interlock: which run holds the lock.
func (h *Handler) alreadyRunning(ctx context.Context, id, env string) string {
	desc, err := h.tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Sprintf("Environment %s already has a DR operation running (`%s`); only one may run at a time.", env, id)
	}
	info := desc.GetWorkflowExecutionInfo()
	what := ""
	if p, ok := info.GetSearchAttributes().GetIndexedFields()[workflows.SARunbook.GetName()]; ok {
		var rb string
		if json.Unmarshal(p.GetData(), &rb) == nil && rb != "" {
			what = " (" + escapeText(rb) + ")"
		}
	}
	return fmt.Sprintf("Environment %s already has a DR operation running%s: %s, started %s. Only one operation per environment may run: follow it with `/switchyard status %s`, or cancel it with `/switchyard cancel %s`.",
		env, what, runLink(h.cfg, id, info.GetExecution().GetRunId()), slackDate(info.GetStartTime().AsTime()), id, id)
}

// status shows one run's steps: from the progress query while it runs, from its result after.
func (h *Handler) status(ctx context.Context, id string) string {
	p, runID, err := h.runProgress(ctx, id)
	if err != nil {
		return err.Error()
	}
	head := fmt.Sprintf("%s: *%s* on *%s* (%s), *%s*, requested by %s via %s", runLink(h.cfg, id, runID),
		escapeText(p.Runbook), escapeText(p.Environment), escapeText(string(p.Mode)), escapeText(p.Outcome), mention(orDefault(p.RequestedBy, "(unknown)")), escapeText(p.Trigger.Kind))
	lines := append([]string{head}, stepLines(p.Steps, func(s workflows.StepState) string { return stepIcon(s.Status) + " " + string(s.Status) })...)
	for _, ig := range p.Ignored {
		lines = append(lines, "ignored: "+escapeText(ig))
	}
	if p.Error != "" {
		lines = append(lines, "error: "+escapeText(p.Error))
	}
	return truncate(strings.Join(lines, "\n"), 3900)
}

func (h *Handler) runProgress(ctx context.Context, id string) (*workflows.Progress, string, error) {
	dctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	desc, err := h.tc.DescribeWorkflowExecution(dctx, id, "")
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("no run %s", id)
		}
		return nil, "", fmt.Errorf("could not describe %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		p, err := h.progress(ctx, id, runID)
		if err != nil {
			return nil, runID, fmt.Errorf("could not read run %s (is a worker running?): %w", id, err)
		}
		return p, runID, nil
	}
	res, rerr := result(dctx, h.tc.GetWorkflow(dctx, id, runID))
	if res == nil {
		return nil, runID, fmt.Errorf("run %s ended without a report: %s", id, failureText(rerr))
	}
	return &res.Progress, runID, nil
}

func (h *Handler) listRuns(ctx context.Context) string {
	lctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	resp, err := h.tc.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("WorkflowType = '%s'", workflows.RunbookWorkflowType),
		PageSize: 15,
	})
	if err != nil {
		return fmt.Sprintf("Could not list runs: %v", err)
	}
	if len(resp.GetExecutions()) == 0 {
		return "No runs yet."
	}
	lines := []string{"*Recent runs*"}
	for _, e := range resp.GetExecutions() {
		status := strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
		lines = append(lines, fmt.Sprintf("• %s %s, started %s", runLink(h.cfg, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()),
			status, slackDate(e.GetStartTime().AsTime())))
	}
	return strings.Join(lines, "\n")
}

// cancel cancels a run for one of its approvers. The approvers are those of the run's approval
// steps so far, read from the run itself; a run that has not reached one cannot be cancelled
// from Slack (the CLI and the UI still can), because nobody in Slack is known to own it.
func (h *Handler) cancel(ctx context.Context, id, user string) string {
	p, runID, err := h.runProgress(ctx, id)
	if err != nil {
		return err.Error()
	}
	if p.Outcome != workflows.OutcomeRunning {
		return fmt.Sprintf("Run %s has already ended (%s).", id, p.Outcome)
	}
	var approvers []string
	for _, s := range p.Steps {
		if s.Approval != nil {
			approvers = append(approvers, s.Approval.Approvers...)
		}
	}
	if len(approvers) == 0 {
		return fmt.Sprintf("Run %s has not reached an approval step, so its approvers are not known here and it cannot be cancelled from Slack. Use `starter cancel %s` or the Temporal UI.", id, id)
	}
	groups, err := h.groups.groupsOf(ctx, user, approvers)
	if err != nil {
		return fmt.Sprintf("Could not check your user groups, so nothing was cancelled: %v", err)
	}
	if !authorized(approvers, user, groups) {
		return fmt.Sprintf("Only approvers of run %s may cancel it (%s). Nothing was changed.", id, mentions(approvers))
	}
	cctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	if err := h.tc.CancelWorkflow(cctx, id, runID); err != nil {
		return fmt.Sprintf("Could not cancel %s: %v", id, err)
	}
	h.logger.Info("run cancelled from slack", "workflow_id", id, "run_id", runID, "user", user)
	return fmt.Sprintf("Cancellation of %s requested by %s. The run stops at its next step; compensations do not run.", runLink(h.cfg, id, runID), mention(user))
}
