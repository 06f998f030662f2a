package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Action, block and view ids of the paused-step message and its comment modal. Persisted in
// posted messages, like the approval ids.
const (
	actionControlRetry = "switchyard_control_retry"
	actionControlSkip  = "switchyard_control_skip"
	actionControlAbort = "switchyard_control_abort"
	blockPause         = "switchyard_pause"
	viewControl        = "switchyard_control"
	blockComment       = "comment"
	actionCommentIn    = "comment_input"
	blockRollback      = "rollback"
	actionRollbackIn   = "rollback_input"
)

// controlButtons maps each control a paused step offers to its button, in the order shown.
var controlButtons = []struct {
	action, id, label string
	style             slack.Style
}{
	{workflows.ControlRetry, actionControlRetry, "Retry", slack.StylePrimary},
	{workflows.ControlSkip, actionControlSkip, "Skip", slack.StyleDefault},
	{workflows.ControlAbort, actionControlAbort, "Abort", slack.StyleDanger},
}

// controlOfButton returns the control action of a paused-step button, or "".
func controlOfButton(actionID string) string {
	for _, b := range controlButtons {
		if b.id == actionID {
			return b.action
		}
	}
	return ""
}

// controlMeta travels in the control modal's private_metadata, as rejectMeta does for Reject.
type controlMeta struct {
	Ref         buttonRef `json:"ref"`
	Action      string    `json:"action"`
	Channel     string    `json:"channel,omitempty"`
	MessageTS   string    `json:"ts,omitempty"`
	ResponseURL string    `json:"response_url,omitempty"`
}

// pausedBlocks renders a step paused on its failure: with a button per control the run offers
// while it waits (open), and in its final state (which control, by whom, why; or that the run
// ended meanwhile) once closed. The Notifier and the click handler both render through here.
func pausedBlocks(cfg Config, m runMeta, ps workflows.PauseState, open bool) []slack.Block {
	open = open && ps.Action == ""
	title := ":double_vertical_bar: *Paused on a failed step*"
	if !open {
		title = ":lock: *Pause ended*"
	}
	step := ps.Path
	if step == "" {
		step = ps.Step
	}
	text := fmt.Sprintf("%s: step `%s` of *%s* on *%s*", title, escapeText(step), escapeText(m.Runbook), escapeText(m.Environment))
	if ps.Error != "" {
		text += "\n>" + strings.ReplaceAll(escapeText(ps.Error), "\n", "\n>")
	}
	blocks := []slack.Block{
		section(text),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Who may decide*\n" + mentions(ps.Approvers)),
			mrkdwn("*Run*\n" + runLink(cfg, m.WorkflowID, m.RunID)),
		}, nil),
	}
	if !open {
		return append(blocks, section(pauseOutcomeText(ps)))
	}
	offered := ps.Controls
	if len(offered) == 0 {
		offered = []string{workflows.ControlRetry, workflows.ControlSkip, workflows.ControlAbort}
	}
	var help []string
	var elems []slack.BlockElement
	ref, _ := json.Marshal(buttonRef{WorkflowID: m.WorkflowID, RunID: m.RunID, Step: ps.Step})
	for _, b := range controlButtons {
		if !slices.Contains(offered, b.action) {
			continue
		}
		btn := slack.NewButtonBlockElement(b.id, string(ref), plain(b.label))
		if b.style != slack.StyleDefault {
			btn = btn.WithStyle(b.style)
		}
		elems = append(elems, btn)
		help = append(help, controlHelp(b.action))
	}
	if !slices.Contains(offered, workflows.ControlSkip) {
		help = append(help, "_Skip_ is not offered: this step may not be skipped.")
	}
	blocks = append(blocks, section(strings.Join(help, "\n")+"\nEach asks for a comment, kept in the run's history and report."))
	return append(blocks, slack.NewActionBlock(blockPause, elems...))
}

func controlHelp(action string) string {
	switch action {
	case workflows.ControlRetry:
		return "*Retry* runs the step again now."
	case workflows.ControlSkip:
		return "*Skip* marks it skipped: its result is null, and later steps see that."
	case workflows.ControlAbort:
		return "*Abort* fails the run, with or without rolling back what it changed."
	}
	return ""
}

// pauseOutcomeText is the final line of a decided pause.
func pauseOutcomeText(ps workflows.PauseState) string {
	if ps.Action == "" {
		return ":no_entry_sign: The run ended while the step was paused; nothing was decided here."
	}
	verb := map[string]string{
		workflows.ControlRetry: ":repeat: *Retried*", workflows.ControlSkip: ":fast_forward: *Skipped*",
		workflows.ControlAbort: ":octagonal_sign: *Aborted*",
	}[ps.Action]
	if verb == "" {
		verb = "*" + escapeText(ps.Action) + "*"
	}
	if ps.Action == workflows.ControlAbort {
		if ps.Rollback {
			verb += " with rollback"
		} else {
			verb += " without rollback"
		}
	}
	if ps.By != "" {
		verb += " by " + mention(ps.By)
	}
	if ps.At != nil {
		verb += " " + slackDate(*ps.At)
	}
	if ps.Source != "" {
		verb += " via " + escapeText(ps.Source)
	}
	if ps.Comment != "" {
		verb += ": " + escapeText(ps.Comment)
	}
	return verb
}

// pausedFallback is the notification text of a paused-step message.
func pausedFallback(m runMeta, ps workflows.PauseState) string {
	if ps.Action == "" {
		return fmt.Sprintf("Paused: step %s of %s on %s failed: %s", ps.Step, m.Runbook, m.Environment, ps.Error)
	}
	return fmt.Sprintf("Pause of step %s of %s on %s ended: %s by %s", ps.Step, m.Runbook, m.Environment, ps.Action, ps.By)
}

// pauseOf returns a paused notification's state.
func pauseOf(n workflows.Notification) workflows.PauseState {
	if n.Pause != nil {
		return *n.Pause
	}
	return workflows.PauseState{Step: n.Step, Error: n.Text}
}

// openControl asks for the comment every control needs (and, for abort, whether to roll back)
// in a modal. As for Reject, whether the person may decide is checked when they submit.
func (h *Handler) openControl(ctx context.Context, cb slack.InteractionCallback, ref buttonRef, action string) {
	msg := messageOf(cb)
	meta, err := json.Marshal(controlMeta{Ref: ref, Action: action, Channel: msg.channel, MessageTS: msg.ts, ResponseURL: cb.ResponseURL})
	if err != nil {
		h.logger.Error("encode control modal metadata", "err", err)
		return
	}
	comment := slack.NewPlainTextInputBlockElement(plain("Why? It goes in the run's history and report."), actionCommentIn)
	comment.Multiline = true
	title, submit, what := "Retry step", "Retry", fmt.Sprintf("Run step `%s` of run %s again now?", escapeText(ref.Step), runLink(h.cfg, ref.WorkflowID, ref.RunID))
	blocks := []slack.Block{}
	switch action {
	case workflows.ControlSkip:
		title, submit = "Skip step", "Skip"
		what = fmt.Sprintf("Skip step `%s` of run %s? Its result is null and the run goes on.", escapeText(ref.Step), runLink(h.cfg, ref.WorkflowID, ref.RunID))
	case workflows.ControlAbort:
		title, submit = "Abort run", "Abort"
		what = fmt.Sprintf("Abort run %s, paused on step `%s`?", runLink(h.cfg, ref.WorkflowID, ref.RunID), escapeText(ref.Step))
	}
	blocks = append(blocks, section(what), slack.NewInputBlock(blockComment, plain("Comment"), nil, comment))
	if action == workflows.ControlAbort {
		// No initial option: the operator chooses, the form does not choose for them.
		choice := slack.NewRadioButtonsBlockElement(actionRollbackIn,
			slack.NewOptionBlockObject("rollback", plain("Roll back: run the compensations of the steps done so far"), nil),
			slack.NewOptionBlockObject("no_rollback", plain("Leave everything as it is now"), nil),
		)
		blocks = append(blocks, slack.NewInputBlock(blockRollback, plain("Rollback"), nil, choice))
	}
	view := slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain(title), Submit: plain(submit), Close: plain("Cancel"),
		CallbackID: viewControl, Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: string(meta),
	}
	if _, err := h.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		h.logger.Warn("open control modal failed", "err", err)
		h.ephemeral(ctx, cb.ResponseURL, msg.channel, cb.User.ID, fmt.Sprintf(
			"Could not open the %s form (%v). Use `starter %s %s --step %s --as YOU --comment WHY` instead.", action, err, action, ref.WorkflowID, ref.Step))
	}
}

// controlSubmitted handles the modal's submission: a missing comment (or, for abort, a missing
// rollback choice) is refused inside the modal; otherwise the modal closes and the control is
// sent in the background.
func (h *Handler) controlSubmitted(cb slack.InteractionCallback) any {
	var meta controlMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Ref.WorkflowID == "" || meta.Action == "" {
		h.logger.Warn("control modal with bad metadata", "err", err)
		return nil
	}
	comment, choice := "", ""
	if cb.View.State != nil {
		comment = strings.TrimSpace(cb.View.State.Values[blockComment][actionCommentIn].Value)
		choice = cb.View.State.Values[blockRollback][actionRollbackIn].SelectedOption.Value
	}
	errs := map[string]string{}
	if comment == "" {
		errs[blockComment] = "A comment is required: say why the runbook is overridden."
	}
	if meta.Action == workflows.ControlAbort && choice != "rollback" && choice != "no_rollback" {
		errs[blockRollback] = "Choose whether to roll back."
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs)
	}
	h.background("control submitted", func(ctx context.Context) {
		c := controlRequest{ref: meta.Ref, action: meta.Action, user: cb.User.ID, comment: comment, rollback: choice == "rollback",
			updateID: fmt.Sprintf("slack/control/%s/%s/%s/%s", meta.Action, meta.Ref.Step, cb.User.ID, cb.View.ID)}
		h.finishControl(ctx, c, messageRef{channel: meta.Channel, ts: meta.MessageTS}, meta.ResponseURL)
	})
	return nil
}

// controlRequest is one person's control of a paused step, from the modal.
type controlRequest struct {
	ref      buttonRef
	action   string
	user     string
	comment  string
	rollback bool
	updateID string
}

// finishControl sends a control and tells the person how it went: an applied control edits the
// paused message to its final state (no buttons left); anything else is answered to them alone.
func (h *Handler) finishControl(ctx context.Context, c controlRequest, msg messageRef, responseURL string) {
	out := h.control(ctx, c)
	h.logger.Info("slack control", "workflow_id", c.ref.WorkflowID, "step", c.ref.Step, "user", c.user,
		"action", c.action, "refused", out.refused, "deferred", out.deferred, "text", out.text)
	if out.final != nil && msg.channel != "" && msg.ts != "" {
		meta := runMeta{WorkflowID: c.ref.WorkflowID, RunID: c.ref.RunID}
		if out.progress != nil {
			meta.Runbook, meta.Environment, meta.RequestedBy = out.progress.Runbook, out.progress.Environment, out.progress.RequestedBy
		}
		_, _, _, err := h.api.UpdateMessageContext(ctx, msg.channel, msg.ts,
			slack.MsgOptionText(pausedFallback(meta, *out.final), false), slack.MsgOptionBlocks(pausedBlocks(h.cfg, meta, *out.final, false)...))
		if err == nil {
			return
		}
		h.logger.Warn("edit paused message failed", "err", err, "channel", msg.channel, "ts", msg.ts)
	}
	h.ephemeral(ctx, responseURL, msg.channel, c.user, out.text)
}

// controlOutcome says what became of a control, for the person who sent it.
type controlOutcome struct {
	refused  bool
	deferred bool
	text     string
	// final is the pause's decided state, set when the run took the control.
	final    *workflows.PauseState
	progress *workflows.Progress
}

// control checks what it can (the run is going, the step is paused, the person may decide,
// directly or through a user group) and sends the control update. As for approvals the workflow's
// validator decides in the end (approvers, comment, skippable, too late); these checks only give
// a faster, clearer answer and resolve the groups the workflow cannot see.
func (h *Handler) control(ctx context.Context, c controlRequest) controlOutcome {
	p, err := h.progress(ctx, c.ref.WorkflowID, c.ref.RunID)
	if err != nil {
		switch {
		case noWorker(err):
			return h.controlBySignal(ctx, c)
		case isNotFound(err):
			return controlOutcome{refused: true, text: fmt.Sprintf("Too late: run %s has ended. Nothing was changed.", c.ref.WorkflowID)}
		}
		return controlOutcome{refused: true, text: fmt.Sprintf("Could not read run %s: %v", c.ref.WorkflowID, err)}
	}
	if p.EndedAt != nil {
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late: run %s has ended (%s). Nothing was changed.", c.ref.WorkflowID, p.Outcome)}
	}
	st := stepByID(p, c.ref.Step)
	if st == nil {
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late or wrong step: run %s has no step %q.", c.ref.WorkflowID, c.ref.Step)}
	}
	if st.Status != workflows.StatusPaused {
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late: step %q is no longer paused (it is %s). Nothing was changed.", c.ref.Step, st.Status)}
	}
	var approvers []string
	if st.Pause != nil {
		approvers = st.Pause.Approvers
	}
	var groups []string
	if len(approvers) > 0 {
		groups, err = h.groups.groupsOf(ctx, c.user, approvers)
		if err == nil && !authorized(approvers, c.user, groups) {
			return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("You may not decide step %q (approvers: %s). Nothing was changed.",
				c.ref.Step, mentions(approvers))}
		}
	} else {
		// The run did not say who may decide: send every group, the validator counts the ones
		// that are approvers.
		groups, err = h.groups.allGroupsOf(ctx, c.user)
	}
	if err != nil {
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Could not check your user groups, so nothing was sent: %v. Try again, or use `starter %s`.", err, c.action)}
	}
	ctl := workflows.Control{Action: c.action, Step: c.ref.Step, By: c.user, Groups: groups, Comment: c.comment, Rollback: c.rollback, Source: "slack"}
	err = h.update(ctx, c.ref, c.updateID, workflows.ControlUpdate, ctl, nil)
	switch {
	case err == nil:
	case noWorker(err):
		return h.controlBySignal(ctx, c)
	case isNotFound(err):
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Too late: run %s has ended. Nothing was changed.", c.ref.WorkflowID)}
	default:
		return controlOutcome{refused: true, progress: p, text: fmt.Sprintf("Refused: %s. Nothing was changed.", refusal(err))}
	}
	now := time.Now().UTC()
	final := workflows.PauseState{Step: c.ref.Step, Path: st.Path, Error: st.Error, Approvers: approvers,
		Action: c.action, By: c.user, Comment: c.comment, Rollback: c.rollback, Source: "slack", At: &now}
	if st.Pause != nil && st.Pause.Error != "" {
		final.Error = st.Pause.Error
	}
	return controlOutcome{final: &final, progress: p, text: fmt.Sprintf("Step %q: %s done.", c.ref.Step, c.action)}
}

// controlBySignal sends the control as the control signal, which the server stores even when no
// worker is running; the workflow validates it when a worker picks the run up again (a refused
// one is listed in the run's progress as ignored).
func (h *Handler) controlBySignal(ctx context.Context, c controlRequest) controlOutcome {
	groups, err := h.groups.allGroupsOf(ctx, c.user)
	if err != nil {
		h.logger.Warn("could not resolve user groups for the signal fallback; sending none", "user", c.user, "err", err)
	}
	ctl := workflows.Control{Action: c.action, Step: c.ref.Step, By: c.user, Groups: groups, Comment: c.comment, Rollback: c.rollback, Source: "slack"}
	sctx, cancel := context.WithTimeout(ctx, h.tTimeout)
	defer cancel()
	if err := h.tc.SignalWorkflow(sctx, c.ref.WorkflowID, c.ref.RunID, workflows.ControlSignal, ctl); err != nil {
		if isNotFound(err) {
			return controlOutcome{refused: true, text: fmt.Sprintf("Too late: run %s has ended. Nothing was changed.", c.ref.WorkflowID)}
		}
		return controlOutcome{refused: true, text: fmt.Sprintf("Temporal is unreachable, so your %s was not recorded: %v. Try again, or use the CLI.", c.action, err)}
	}
	return controlOutcome{deferred: true, text: fmt.Sprintf(
		"Recorded; will apply when the worker is back. (No worker answered, so your %s of step %q was stored as a signal; the run checks then that you may decide and that the step is still paused. `/switchyard status %s` shows it.)",
		c.action, c.ref.Step, c.ref.WorkflowID)}
}

// stepByID finds step id in p; ids are unique in a runbook, wherever nested.
func stepByID(p *workflows.Progress, step string) *workflows.StepState {
	for i := range p.Steps {
		if p.Steps[i].ID == step {
			return &p.Steps[i]
		}
	}
	return nil
}
