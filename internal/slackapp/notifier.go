package slackapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Error types of the Notifier's non-retryable and rate-limit errors, for workflow retry policies
// and for whoever reads a failed activity in the UI.
const (
	ErrSlackRejected    = wire.ErrSlackRejected
	ErrSlackRateLimited = wire.ErrSlackRateLimited
)

// NotifierOptions configures NewNotifier.
type NotifierOptions struct {
	// Config needs BotToken; UIBaseURL and Namespace make the run links (required).
	Config Config
	// Logger is optional; default slog.Default().
	Logger *slog.Logger
	// HTTPClient is optional; default a client with a 15 s timeout, shorter than the activity's
	// 30 s start-to-close so that a hung connection fails as a retryable error.
	HTTPClient *http.Client
}

// Notifier posts a run's notifications to Slack. It implements activities.Notifier.
type Notifier struct {
	cfg    Config
	api    *slack.Client
	logger *slog.Logger
	// channelIDs maps channel names (#ops) to ids (C…) learned from posts: chat.update accepts
	// only ids, while environments may name their channel.
	channelIDs sync.Map
}

// NewNotifier returns a Notifier posting with the bot token.
func NewNotifier(opts NotifierOptions) (*Notifier, error) {
	if err := opts.Config.validate(false); err != nil {
		return nil, fmt.Errorf("slack notifier: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Notifier{cfg: opts.Config, api: opts.Config.api(opts.Config.BotToken, opts.HTTPClient), logger: logger.With("component", "slack")}, nil
}

// NotifierFromEnv returns a Notifier configured from SLACK_* and SWITCHYARD_UI_URL (see
// ConfigFromEnv), or nil when SLACK_BOT_TOKEN is unset: then runs only log their notifications
// and approvals go through the CLI and the Temporal UI. uiURL and namespace fill in what the
// environment leaves empty (starter dev knows its embedded UI's address).
func NotifierFromEnv(getenv func(string) string, uiURL, namespace string, logger *slog.Logger) (*Notifier, error) {
	cfg := ConfigFromEnv(getenv)
	if !cfg.Enabled() {
		return nil, nil
	}
	if cfg.UIBaseURL == "" {
		cfg.UIBaseURL = uiURL
	}
	if cfg.Namespace == "" {
		cfg.Namespace = namespace
	}
	n, err := NewNotifier(NotifierOptions{Config: cfg, Logger: logger})
	if err != nil {
		return nil, err
	}
	if logger != nil {
		logger.Info("slack notifications on", "ui", cfg.UIBaseURL)
	}
	return n, nil
}

// Notify delivers n. Transient failures (rate limits, 5xx, network) come back as retryable errors
// so that the workflow's outbox retries them in order; failures no retry can fix (unknown channel,
// bot not in the channel, bad token) come back non-retryable, saying what to fix.
func (s *Notifier) Notify(ctx context.Context, n workflows.Notification) (workflows.NotifyResult, error) {
	if n.Channel == "" {
		// The environment has no Slack channel: the run is not announced anywhere, by design.
		s.logger.Info("notify (no slack channel)", "kind", n.Kind, "environment", n.Environment,
			"workflow_id", n.WorkflowID, "step", n.Step, "text", n.Text)
		return workflows.NotifyResult{}, nil
	}
	meta := runMeta{WorkflowID: n.WorkflowID, RunID: n.RunID, Runbook: n.Runbook, Environment: n.Environment, RequestedBy: n.RequestedBy}
	switch n.Kind {
	case workflows.NotifyRunStarted:
		text := fmt.Sprintf("%s on %s started (%s) by %s", n.Runbook, n.Environment, n.Mode, n.RequestedBy)
		return s.post(ctx, n, "", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(runStartedBlocks(s.cfg, n)...))
	case workflows.NotifyApprovalRequest:
		st := approvalOf(n)
		return s.post(ctx, n, n.ThreadTS, slack.MsgOptionText(approvalFallback(meta, st), false),
			slack.MsgOptionBlocks(approvalBlocks(s.cfg, meta, st)...))
	case workflows.NotifyApprovalUpdate:
		st := approvalOf(n)
		opts := []slack.MsgOption{slack.MsgOptionText(approvalFallback(meta, st), false), slack.MsgOptionBlocks(approvalBlocks(s.cfg, meta, st)...)}
		if n.MessageTS == "" {
			// The request itself was never posted (Slack was down past the outbox's limit): post
			// the final state instead, so the thread still says how the approval ended.
			return s.post(ctx, n, n.ThreadTS, opts...)
		}
		return s.update(ctx, n, opts...)
	case workflows.NotifyPaused:
		ps := pauseOf(n)
		return s.post(ctx, n, n.ThreadTS, slack.MsgOptionText(pausedFallback(meta, ps), false),
			slack.MsgOptionBlocks(pausedBlocks(s.cfg, meta, ps, true)...))
	case workflows.NotifyPauseUpdate:
		ps := pauseOf(n)
		// Closed even without a control: the run ended (canceled) while the step was paused.
		opts := []slack.MsgOption{slack.MsgOptionText(pausedFallback(meta, ps), false), slack.MsgOptionBlocks(pausedBlocks(s.cfg, meta, ps, false)...)}
		if n.MessageTS == "" {
			return s.post(ctx, n, n.ThreadTS, opts...)
		}
		return s.update(ctx, n, opts...)
	case workflows.NotifyApprovalEscalation:
		var who []string
		if n.Approval != nil {
			who = n.Approval.Approvers
		}
		text := fmt.Sprintf(":alarm_clock: %s %s", mentions(who), escapeText(n.Text))
		// Broadcast to the channel: the point is to reach people who muted the thread.
		return s.post(ctx, n, n.ThreadTS, slack.MsgOptionText(text, false), slack.MsgOptionBroadcast())
	case workflows.NotifyStep, workflows.NotifyMessage, workflows.NotifySummary:
		text := escapeText(n.Text)
		if n.Kind == workflows.NotifyStep {
			text = stepText(n)
		}
		if n.Kind == workflows.NotifySummary {
			text = "*Summary:* " + text + "\n" + runLink(s.cfg, n.WorkflowID, n.RunID)
		}
		return s.post(ctx, n, n.ThreadTS, slack.MsgOptionText(text, false))
	}
	return workflows.NotifyResult{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("slack notifier: unknown notification kind %q", n.Kind), ErrSlackRejected, nil)
}

func approvalOf(n workflows.Notification) workflows.ApprovalState {
	if n.Approval != nil {
		return *n.Approval
	}
	return workflows.ApprovalState{Step: n.Step, Status: workflows.ApprovalWaiting, Message: n.Text}
}

func stepIcon(status workflows.StepStatus) string {
	switch status {
	case workflows.StatusSucceeded:
		return ":white_check_mark:"
	case workflows.StatusFailed:
		return ":x:"
	case workflows.StatusRunning:
		return ":arrow_forward:"
	case workflows.StatusWaiting:
		return ":raised_hand:"
	case workflows.StatusSkipped:
		return ":fast_forward:"
	case workflows.StatusCanceled:
		return ":no_entry_sign:"
	}
	return ":small_blue_diamond:"
}

func (s *Notifier) post(ctx context.Context, n workflows.Notification, thread string, opts ...slack.MsgOption) (workflows.NotifyResult, error) {
	d := deliveryOf(ctx)
	if d.key != "" {
		if d.retry || d.earlier.TS != "" {
			// The previous attempt may have posted and died before its completion reached the
			// server, or Slack may have posted and lost the answer: find its message instead
			// of posting a second one.
			res, found, err := s.findPosted(ctx, n, thread, d)
			if err != nil {
				return workflows.NotifyResult{}, err
			}
			if found {
				return res, nil
			}
		}
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: deliveryEventType,
			EventPayload: map[string]any{"key": d.key, "workflow_id": n.WorkflowID, "kind": n.Kind, "step": n.Step}}))
	}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	opts = append(opts, slack.MsgOptionDisableLinkUnfurl())
	ch, ts, err := s.api.PostMessageContext(ctx, n.Channel, opts...)
	if err != nil {
		return workflows.NotifyResult{}, classify("chat.postMessage", n, err)
	}
	// Before anything else can fail: a retry of this delivery returns this message without
	// asking Slack (whose history reads are scarce, see findPosted).
	d.remember(postProgress{Channel: ch, TS: ts})
	if ch != "" && ch != n.Channel {
		s.channelIDs.Store(n.Channel, ch)
	}
	return workflows.NotifyResult{Channel: ch, TS: ts}, nil
}

func (s *Notifier) update(ctx context.Context, n workflows.Notification, opts ...slack.MsgOption) (workflows.NotifyResult, error) {
	channel := n.Channel
	if id, ok := s.channelIDs.Load(channel); ok {
		channel = id.(string)
	}
	ch, ts, _, err := s.api.UpdateMessageContext(ctx, channel, n.MessageTS, opts...)
	if err != nil {
		return workflows.NotifyResult{}, classify("chat.update", n, err)
	}
	return workflows.NotifyResult{Channel: ch, TS: ts}, nil
}

// transientSlackErrors are Web API error codes that a later attempt may not get.
var transientSlackErrors = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// classify turns a Slack client error into what the activity should return. Unknown Web API error
// codes are treated as permanent: they are nearly all request errors, and retrying one for the
// outbox's 30 minutes would hold back every later message of the run.
func classify(method string, n workflows.Notification, err error) error {
	where := fmt.Sprintf("slack %s to channel %s (environment %s, %s)", method, n.Channel, n.Environment, n.Kind)
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: rate limited, retry after %s", where, rl.RetryAfter),
			ErrSlackRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: rl.RetryAfter, Cause: err})
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		if sc.Code >= 500 || sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout {
			return fmt.Errorf("%s: %w", where, err)
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: HTTP %s (is the Slack API URL right?)", where, sc.Status), ErrSlackRejected, err)
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		if transientSlackErrors[se.Err] {
			return fmt.Errorf("%s: %w", where, err)
		}
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: Slack refused it: %s%s", where, se.Err, hint(se, n)), ErrSlackRejected, err)
	}
	// Network errors, timeouts, a truncated response: all worth another attempt.
	return fmt.Errorf("%s: %w", where, err)
}

func hint(se slack.SlackErrorResponse, n workflows.Notification) string {
	switch se.Err {
	case "channel_not_found":
		return fmt.Sprintf(" (the channel does not exist or the app cannot see it: set slack.channel of environment %s to the id (C…) of a channel the app is in)", n.Environment)
	case "not_in_channel":
		return fmt.Sprintf(" (invite the app to %s: /invite @Switchyard)", n.Channel)
	case "is_archived":
		return fmt.Sprintf(" (channel %s is archived: unarchive it or change slack.channel of environment %s)", n.Channel, n.Environment)
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return " (SLACK_BOT_TOKEN is missing, wrong or revoked: copy the Bot User OAuth Token of the installed app)"
	case "missing_scope":
		return fmt.Sprintf(" (the app lacks a scope: add %s in the app's OAuth settings and reinstall it; docs/slack/manifest.yaml lists them)", orDefault(se.Needed, "chat:write"))
	case "message_not_found", "cant_update_message":
		return " (the approval message was deleted or was not posted by this app)"
	}
	return ""
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

// deliveryEventType is the Slack message metadata type of every message the notifier posts.
const deliveryEventType = "switchyard_notification"

// delivery identifies one notification across the retries of the activity that posts it.
type delivery struct {
	key   string // run id / activity id: the same on every attempt
	retry bool
	since time.Time // when the activity was first scheduled
	// earlier is what an earlier attempt recorded in its heartbeat: the message it posted, or
	// how far its lookup got.
	earlier postProgress
	// record keeps progress for the next attempt (the activity's heartbeat); nil: nowhere.
	record func(postProgress)
}

// postProgress is a delivery's heartbeat details.
type postProgress struct {
	// Channel and TS are the message an attempt posted.
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// Checked is the ts up to which a lookup found no message of this delivery, so that the
	// next attempt reads on from there instead of from the start.
	Checked string `json:"checked,omitempty"`
}

func (d delivery) remember(p postProgress) {
	if d.record != nil {
		d.record(p)
	}
}

type deliveryKey struct{}

// withDelivery sets the delivery a post is part of, for callers outside an activity.
func withDelivery(ctx context.Context, d delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

func deliveryOf(ctx context.Context) delivery {
	if d, ok := ctx.Value(deliveryKey{}).(delivery); ok {
		return d
	}
	if !activity.IsActivity(ctx) {
		return delivery{}
	}
	info := activity.GetInfo(ctx)
	d := delivery{key: info.WorkflowExecution.RunID + "/" + info.ActivityID, retry: info.Attempt > 1, since: info.ScheduledTime,
		record: func(p postProgress) { activity.RecordHeartbeat(ctx, p) }}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &d.earlier) // unreadable details: look up, as without
	}
	return d
}

// lookupSkew is how far before the activity was scheduled a lookup starts reading: Slack's
// clock and the Temporal server's may differ a little, and a message older than the activity
// cannot be one of its attempts.
const lookupSkew = 10 * time.Second

// findPosted looks for the message an earlier attempt of d posted, within Slack's limits for
// apps not approved for the Slack Marketplace: conversations.replies and conversations.history
// are Tier 1 there — 1 request per minute, at most 15 messages per call (Slack changelog, "Rate
// limit changes for non-Marketplace apps",
// https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq). So:
//
//   - an earlier attempt that got Slack's answer recorded the message in its heartbeat, and no
//     call is made at all;
//   - otherwise (the answer was lost, or the worker died before the heartbeat) the lookup reads
//     only the run's thread (conversations.replies) from shortly before the activity was
//     scheduled, asking for message metadata (include_all_metadata), page by page; the run's
//     first message has no thread yet, and reads the channel over that same short window;
//   - a rate-limited or failed read is a retryable failure, never "not found": posting then
//     would duplicate the message. The activity retries after Retry-After, and resumes the
//     lookup from the last page it read (kept in the heartbeat).
//
// Only a lookup Slack refuses for good (a missing history scope, a channel the app cannot
// read) posts without knowing, and says so in the log: at least once beats never.
func (s *Notifier) findPosted(ctx context.Context, n workflows.Notification, thread string, d delivery) (workflows.NotifyResult, bool, error) {
	if d.earlier.TS != "" {
		return workflows.NotifyResult{Channel: d.earlier.Channel, TS: d.earlier.TS}, true, nil
	}
	channel := n.Channel
	if id, ok := s.channelIDs.Load(channel); ok {
		channel = id.(string)
	}
	method := "conversations.replies"
	if thread == "" {
		method = "conversations.history"
	}
	oldest := fmt.Sprintf("%d.000000", d.since.Add(-lookupSkew).Unix())
	if d.earlier.Checked != "" {
		oldest = d.earlier.Checked
	}
	cursor := ""
	for {
		var msgs []slack.Message
		var more bool
		var next string
		var err error
		if thread != "" {
			msgs, more, next, err = s.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: thread, Oldest: oldest, Cursor: cursor, Limit: lookupPage, IncludeAllMetadata: true})
		} else {
			var h *slack.GetConversationHistoryResponse
			h, err = s.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: channel, Oldest: oldest, Cursor: cursor, Limit: lookupPage, IncludeAllMetadata: true})
			if h != nil {
				msgs, more, next = h.Messages, h.HasMore, h.ResponseMetaData.NextCursor
			}
		}
		if err != nil {
			cerr := classify(method, n, err)
			if isPermanent(cerr) {
				s.logger.Warn("cannot look for an earlier attempt's message; posting, which may post it twice",
					"kind", n.Kind, "workflow_id", n.WorkflowID, "method", method, "err", err)
				return workflows.NotifyResult{}, false, nil
			}
			// Returned as classified (not wrapped): a rate limit's Retry-After reaches Temporal
			// only on an application error at the top.
			s.logger.Info("looking for an earlier attempt's message failed; retrying before posting",
				"kind", n.Kind, "workflow_id", n.WorkflowID, "method", method, "err", err)
			return workflows.NotifyResult{}, false, cerr
		}
		for _, m := range msgs {
			if m.Metadata.EventType == deliveryEventType && m.Metadata.EventPayload["key"] == d.key {
				return workflows.NotifyResult{Channel: cmp.Or(m.Channel, channel), TS: m.Timestamp}, true, nil
			}
		}
		if !more || next == "" {
			return workflows.NotifyResult{}, false, nil
		}
		if thread != "" && len(msgs) > 0 {
			// A thread reads oldest first: what was read holds no message of ours, so the next
			// attempt, should the next page be refused, reads on from its last message.
			d.remember(postProgress{Checked: msgs[len(msgs)-1].Timestamp})
		}
		cursor = next
	}
}

// lookupPage is the page a lookup asks for: the most Slack serves a non-Marketplace app.
const lookupPage = 15

// isPermanent reports whether classify made err non-retryable.
func isPermanent(err error) bool {
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	return ok && appErr.NonRetryable()
}
