package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchyard-dr/switchyard/workflows"
)

// rejectMeta travels in the reject modal's private_metadata: the view_submission that follows has
// no message and no response_url of its own.
type rejectMeta struct {
	Ref         buttonRef `json:"ref"`
	Channel     string    `json:"channel,omitempty"`
	MessageTS   string    `json:"ts,omitempty"`
	ResponseURL string    `json:"response_url,omitempty"`
}

// interaction handles a verified interaction payload and returns the immediate answer to Slack
// (nil for an empty 200). Anything slow runs in the background.
func (h *Handler) interaction(cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			h.blockAction(cb, *act)
		}
	case slack.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case viewReject:
			return h.rejectSubmitted(cb)
		case viewControl:
			return h.controlSubmitted(cb)
		}
	}
	return nil
}

func (h *Handler) blockAction(cb slack.InteractionCallback, act slack.BlockAction) {
	log := h.logger.With("action", act.ActionID, "user", cb.User.ID)
	switch act.ActionID {
	case actionApprove, actionReject:
		var ref buttonRef
		if err := json.Unmarshal([]byte(act.Value), &ref); err != nil || ref.WorkflowID == "" || ref.Step == "" {
			log.Warn("approval button with a bad value", "value", act.Value, "err", err)
			return
		}
		if act.ActionID == actionReject {
			h.background("open reject modal", func(ctx context.Context) { h.openReject(ctx, cb, ref) })
			return
		}
		h.background("approve click", func(ctx context.Context) {
			d := decision{ref: ref, user: cb.User.ID, approve: true,
				updateID: fmt.Sprintf("slack/%s/%s/%s", ref.Step, cb.User.ID, act.ActionTs)}
			h.finishDecision(ctx, d, messageOf(cb), cb.ResponseURL)
		})
	case actionControlRetry, actionControlSkip, actionControlAbort:
		var ref buttonRef
		if err := json.Unmarshal([]byte(act.Value), &ref); err != nil || ref.WorkflowID == "" || ref.Step == "" {
			log.Warn("control button with a bad value", "value", act.Value, "err", err)
			return
		}
		// Every control needs a comment, so each button opens the modal first (its trigger id
		// expires 3 seconds after the click).
		action := controlOfButton(act.ActionID)
		h.background("open control modal", func(ctx context.Context) { h.openControl(ctx, cb, ref, action) })
	case actionConfirm:
		var req planRequest
		if err := json.Unmarshal([]byte(act.Value), &req); err != nil || req.Runbook == "" || req.Environment == "" {
			log.Warn("confirm button with a bad value", "value", act.Value, "err", err)
			return
		}
		h.background("confirm run", func(ctx context.Context) { h.confirm(ctx, cb, req) })
	}
}

// messageRef addresses a posted approval message for chat.update.
type messageRef struct{ channel, ts string }

func messageOf(cb slack.InteractionCallback) messageRef {
	m := messageRef{channel: cb.Container.ChannelID, ts: cb.Container.MessageTs}
	if m.channel == "" {
		m.channel = cb.Channel.ID
	}
	if m.ts == "" {
		m.ts = cb.Message.Timestamp
	}
	return m
}

// finishDecision sends a decision and tells the person how it went: a decided step's message is
// edited to its final state (no buttons left); anything else is answered to them alone.
func (h *Handler) finishDecision(ctx context.Context, d decision, msg messageRef, responseURL string) {
	out := h.decide(ctx, d)
	h.logger.Info("slack decision", "workflow_id", d.ref.WorkflowID, "step", d.ref.Step, "user", d.user,
		"approve", d.approve, "refused", out.refused, "deferred", out.deferred, "text", out.text)
	if out.state != nil && out.state.Status != workflows.ApprovalWaiting && msg.channel != "" && msg.ts != "" {
		meta := runMeta{WorkflowID: d.ref.WorkflowID, RunID: d.ref.RunID}
		if out.progress != nil {
			meta.Runbook, meta.Environment, meta.RequestedBy = out.progress.Runbook, out.progress.Environment, out.progress.RequestedBy
		}
		_, _, _, err := h.api.UpdateMessageContext(ctx, msg.channel, msg.ts,
			slack.MsgOptionText(approvalFallback(meta, *out.state), false), slack.MsgOptionBlocks(approvalBlocks(h.cfg, meta, *out.state)...))
		if err == nil {
			return
		}
		// The decision stands; the workflow's own approval_update will edit the message later.
		h.logger.Warn("edit approval message failed", "err", err, "channel", msg.channel, "ts", msg.ts)
	}
	h.ephemeral(ctx, responseURL, msg.channel, d.user, out.text)
}

// openReject asks for a reason in a modal. The trigger id expires 3 seconds after the click, so
// this runs at once; whether the person may reject is checked when they submit.
func (h *Handler) openReject(ctx context.Context, cb slack.InteractionCallback, ref buttonRef) {
	msg := messageOf(cb)
	meta, err := json.Marshal(rejectMeta{Ref: ref, Channel: msg.channel, MessageTS: msg.ts, ResponseURL: cb.ResponseURL})
	if err != nil {
		h.logger.Error("encode reject modal metadata", "err", err)
		return
	}
	input := slack.NewPlainTextInputBlockElement(plain("Why should the run stop?"), actionReasonIn)
	input.Multiline = true
	view := slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plain("Reject step"),
		Submit:     plain("Reject"),
		Close:      plain("Cancel"),
		CallbackID: viewReject,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section(fmt.Sprintf("Reject step `%s` of run %s? The run stops.", escapeText(ref.Step), runLink(h.cfg, ref.WorkflowID, ref.RunID))),
			slack.NewInputBlock(blockReason, plain("Reason"), nil, input),
		}},
		PrivateMetadata: string(meta),
	}
	if _, err := h.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		h.logger.Warn("open reject modal failed", "err", err)
		h.ephemeral(ctx, cb.ResponseURL, msg.channel, cb.User.ID, fmt.Sprintf(
			"Could not open the reject form (%v). Reject with `/switchyard reject %s %s REASON` instead.", err, ref.WorkflowID, ref.Step))
	}
}

// rejectSubmitted handles the modal's submission: an empty reason is refused inside the modal
// (the workflow refuses a rejection without one); otherwise the modal closes and the rejection
// is sent in the background.
func (h *Handler) rejectSubmitted(cb slack.InteractionCallback) any {
	var meta rejectMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Ref.WorkflowID == "" {
		h.logger.Warn("reject modal with bad metadata", "err", err)
		return nil
	}
	reason := ""
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[blockReason][actionReasonIn].Value)
	}
	if reason == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: "A rejection needs a reason."})
	}
	h.background("reject submitted", func(ctx context.Context) {
		d := decision{ref: meta.Ref, user: cb.User.ID, approve: false, comment: reason,
			updateID: fmt.Sprintf("slack/%s/%s/reject/%s", meta.Ref.Step, cb.User.ID, cb.View.ID)}
		h.finishDecision(ctx, d, messageRef{channel: meta.Channel, ts: meta.MessageTS}, meta.ResponseURL)
	})
	return nil
}
