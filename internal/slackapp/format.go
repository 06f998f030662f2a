package slackapp

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Action and block ids of the app's interactive elements. They are persisted in posted messages,
// so a renamed id would break the buttons of approvals that are already waiting.
const (
	actionApprove   = "switchyard_approve"
	actionReject    = "switchyard_reject"
	actionConfirm   = "switchyard_confirm"
	blockApproval   = "switchyard_approval"
	blockConfirm    = "switchyard_confirm"
	viewReject      = "switchyard_reject"
	blockReason     = "reason"
	actionReasonIn  = "reason_input"
	maxButtonValue  = 2000 // Slack's limit on a button's value
	maxSectionText  = 3000 // Slack's limit on a section's text
	maxMessageSteps = 40   // beyond this a plan is cut short, to stay under Slack's 50-block limit
)

// buttonRef is what an approval button carries: enough to address the update, nothing more, so
// that what the approver may do is decided by the run's current state and not by the message.
type buttonRef struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Step       string `json:"step"`
}

// runMeta describes a run for messages.
type runMeta struct {
	WorkflowID, RunID, Runbook, Environment, RequestedBy string
}

// mention renders an approver or user id so that Slack notifies them: users (U…, W…) as <@U…>,
// user groups (S…) as <!subteam^S…>. Anything else (a CLI user name, "policy") stays plain text.
func mention(id string) string {
	switch {
	case isSlackUser(id):
		return "<@" + id + ">"
	case isSlackGroup(id):
		return "<!subteam^" + id + ">"
	}
	return escapeText(id)
}

func isSlackUser(id string) bool  { return slackID(id, 'U') || slackID(id, 'W') }
func isSlackGroup(id string) bool { return slackID(id, 'S') }

func slackID(id string, prefix byte) bool {
	if len(id) < 2 || id[0] != prefix {
		return false
	}
	for _, r := range id[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

func mentions(ids []string) string {
	if len(ids) == 0 {
		return "anyone"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = mention(id)
	}
	return strings.Join(out, ", ")
}

// escapeText escapes the three characters Slack's mrkdwn treats as control characters, so that
// runbook text cannot forge mentions or links.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackDate renders t in each reader's own time zone, with a UTC fallback for old clients.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// runURL links a run in the Temporal UI, or returns "" when no UI address is configured.
func runURL(cfg Config, workflowID, runID string) string {
	if cfg.UIBaseURL == "" || workflowID == "" {
		return ""
	}
	u := strings.TrimRight(cfg.UIBaseURL, "/") + "/namespaces/" + url.PathEscape(cfg.namespace()) +
		"/workflows/" + url.PathEscape(workflowID)
	if runID != "" {
		u += "/" + url.PathEscape(runID)
	}
	return u
}

func runLink(cfg Config, workflowID, runID string) string {
	if u := runURL(cfg, workflowID, runID); u != "" {
		return "<" + u + "|" + escapeText(workflowID) + ">"
	}
	return "`" + escapeText(workflowID) + "`"
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(s, maxSectionText)), nil, nil)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// runStartedBlocks is a run's first message, the parent of its thread.
func runStartedBlocks(cfg Config, n workflows.Notification) []slack.Block {
	mode := n.Mode
	if mode == "" {
		mode = workflows.ModeExecute
	}
	requester := "(unknown)"
	if n.RequestedBy != "" {
		requester = mention(n.RequestedBy)
	}
	trigger := n.Trigger
	if trigger == "" {
		trigger = "ui"
	}
	return []slack.Block{
		section(fmt.Sprintf(":rocket: *%s* on *%s* started", escapeText(n.Runbook), escapeText(n.Environment))),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			mrkdwn("*Runbook*\n" + escapeText(n.Runbook)),
			mrkdwn("*Environment*\n" + escapeText(n.Environment)),
			mrkdwn("*Mode*\n" + escapeText(string(mode))),
			mrkdwn("*Requested by*\n" + requester),
			mrkdwn("*Trigger*\n" + escapeText(trigger)),
			mrkdwn("*Run*\n" + runLink(cfg, n.WorkflowID, n.RunID)),
		}, nil),
	}
}

// approvalBlocks renders an approval step: with live buttons while it waits, and in its final
// state (who decided, when, why; or the timeout) once it is decided. Both the Notifier and the
// click handler render through here, so whichever edit lands last shows the same thing.
func approvalBlocks(cfg Config, m runMeta, st workflows.ApprovalState) []slack.Block {
	waiting := st.Status == workflows.ApprovalWaiting
	title := ":raised_hand: *Approval needed*"
	if !waiting {
		title = ":lock: *Approval closed*"
	}
	blocks := []slack.Block{
		section(fmt.Sprintf("%s: step `%s` of *%s* on *%s*\n>%s", title, escapeText(st.Step),
			escapeText(m.Runbook), escapeText(m.Environment), strings.ReplaceAll(escapeText(st.Message), "\n", "\n>"))),
	}
	quorum := max(st.Quorum, 1)
	who := fmt.Sprintf("%d of %s", quorum, mentions(st.Approvers))
	if !st.SelfOK && m.RequestedBy != "" {
		who += fmt.Sprintf("\n(not %s, who requested the run)", mention(m.RequestedBy))
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Approvers*\n" + who),
		mrkdwn("*Run*\n" + runLink(cfg, m.WorkflowID, m.RunID)),
	}
	if waiting {
		fields = append(fields, mrkdwn("*Deadline*\n"+slackDate(st.Deadline)), mrkdwn("*On timeout*\n"+onTimeoutText(st.OnTimeout)))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if plan := planText(st); plan != "" {
		blocks = append(blocks, section(plan))
	}
	if votes := votesText(st); votes != "" {
		blocks = append(blocks, section(votes))
	}
	if waiting {
		ref, _ := json.Marshal(buttonRef{WorkflowID: m.WorkflowID, RunID: m.RunID, Step: st.Step})
		blocks = append(blocks, slack.NewActionBlock(blockApproval,
			slack.NewButtonBlockElement(actionApprove, string(ref), plain("Approve")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionReject, string(ref), plain("Reject")).WithStyle(slack.StyleDanger),
		))
		return blocks
	}
	return append(blocks, section(outcomeText(st)))
}

// planText is what approving lets happen: each next step, and for the state it sets, that state
// as read just before asking beside the state the step leaves.
func planText(st workflows.ApprovalState) string {
	if len(st.Plan) == 0 {
		return ""
	}
	head := "*What approving lets happen*"
	if st.PlanReadAt != nil {
		head += " (state read " + slackDate(*st.PlanReadAt) + ")"
	}
	lines := []string{head + ":"}
	for _, p := range st.Plan {
		lines = append(lines, fmt.Sprintf("• `%s` %s", escapeText(p.Step), escapeText(p.Summary)))
		if p.Current != "" || p.Desired != "" {
			lines = append(lines, fmt.Sprintf("      now: *%s* → after: *%s*", escapeText(orUnknown(p.Current)), escapeText(orUnknown(p.Desired))))
		}
	}
	return strings.Join(lines, "\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func onTimeoutText(onTimeout string) string {
	if onTimeout == "proceed" {
		return "the run proceeds without approval"
	}
	return "the run aborts"
}

func votesText(st workflows.ApprovalState) string {
	var lines []string
	for _, v := range st.Votes {
		verb := ":white_check_mark: approved"
		if !v.Approve {
			verb = ":x: rejected"
		}
		line := fmt.Sprintf("%s %s %s", mention(v.By), verb, slackDate(v.At))
		if v.Source != "" {
			line += " via " + escapeText(v.Source)
		}
		if v.Comment != "" {
			line += ": " + escapeText(v.Comment)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// outcomeText is the final line of a closed approval.
func outcomeText(st workflows.ApprovalState) string {
	switch st.Status {
	case workflows.ApprovalApproved:
		return "*Approved.* The run continues."
	case workflows.ApprovalRejected:
		return "*Rejected.* The run stops."
	case workflows.ApprovalTimedOut:
		if st.OnTimeout == "proceed" {
			return "*Expired: proceeding* without approval (nobody decided in time), as the runbook says."
		}
		return "*Expired: aborting* the run (nobody decided in time), as the runbook says."
	}
	return "*" + escapeText(st.Status) + "*"
}

// approvalFallback is the notification text of an approval message (what push notifications and
// screen readers show).
func approvalFallback(m runMeta, st workflows.ApprovalState) string {
	if st.Status == workflows.ApprovalWaiting {
		return fmt.Sprintf("Approval needed: step %s of %s on %s: %s", st.Step, m.Runbook, m.Environment, st.Message)
	}
	return fmt.Sprintf("Approval of step %s of %s on %s: %s", st.Step, m.Runbook, m.Environment, st.Status)
}

// stepText is a step transition's message: an icon for its status and the line the run wrote
// ("path status: summary"). A step that passed with warnings gets the :warning: icon instead of
// the check mark, so a cluster serving while HEALING stands out in the thread instead of reading
// like every other green check; a warning the line does not already carry gets its own quoted
// line.
func stepText(n workflows.Notification) string {
	icon := stepIcon(n.Status)
	if len(n.Warnings) > 0 && n.Status == workflows.StatusSucceeded {
		icon = ":warning:"
	}
	text := icon + " " + escapeText(n.Text)
	for _, w := range n.Warnings {
		if !strings.Contains(n.Text, w) {
			text += "\n>:warning: " + escapeText(w)
		}
	}
	return text
}
