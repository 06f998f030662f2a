package slackapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/workflows"
)

func TestClassifySlackErrors(t *testing.T) {
	n := workflows.Notification{Channel: "C9", Environment: "prod", Kind: workflows.NotifyApprovalRequest}
	cases := []struct {
		name         string
		err          error
		retryable    bool
		wantInMsg    string
		wantRetryIn  time.Duration
		wantAppError bool
	}{
		{"rate limited", &slack.RateLimitedError{RetryAfter: 7 * time.Second}, true, "rate limited", 7 * time.Second, true},
		{"server error", slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, true, "503", 0, false},
		{"429 without Retry-After", slack.StatusCodeError{Code: 429, Status: "429 Too Many Requests"}, true, "429", 0, false},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true, "connection refused", 0, false},
		{"transient api error", slack.SlackErrorResponse{Err: "internal_error"}, true, "internal_error", 0, false},
		{"channel not found", slack.SlackErrorResponse{Err: "channel_not_found"}, false, "slack.channel of environment prod", 0, true},
		{"not in channel", slack.SlackErrorResponse{Err: "not_in_channel"}, false, "/invite", 0, true},
		{"invalid auth", slack.SlackErrorResponse{Err: "invalid_auth"}, false, "SLACK_BOT_TOKEN", 0, true},
		{"missing scope", slack.SlackErrorResponse{Err: "missing_scope", Needed: "chat:write"}, false, "chat:write", 0, true},
		{"bad request status", slack.StatusCodeError{Code: 404, Status: "404 Not Found"}, false, "404", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := classify("chat.postMessage", n, c.err)
			if !strings.Contains(err.Error(), c.wantInMsg) || !strings.Contains(err.Error(), "C9") {
				t.Fatalf("message %q lacks %q or the channel", err, c.wantInMsg)
			}
			appErr, isApp := errors.AsType[*temporal.ApplicationError](err)
			if isApp != c.wantAppError {
				t.Fatalf("application error: %v, want %v (%v)", isApp, c.wantAppError, err)
			}
			if isApp {
				if appErr.NonRetryable() == c.retryable {
					t.Fatalf("non-retryable %v, want %v", appErr.NonRetryable(), !c.retryable)
				}
				if appErr.NextRetryDelay() != c.wantRetryIn {
					t.Fatalf("next retry delay %v, want %v", appErr.NextRetryDelay(), c.wantRetryIn)
				}
			}
			if !inChain(err, c.err.Error()) {
				t.Fatalf("cause %q lost: %v", c.err, err)
			}
		})
	}
}

// The Notifier turns real HTTP answers into the right errors (slack-go's parsing included).
func TestNotifierErrorsFromTheWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.PostForm.Get("channel") {
		case "C_RATE":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case "C_DOWN":
			w.WriteHeader(http.StatusBadGateway)
		case "C_GONE":
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		default:
			writeJSON(w, map[string]any{"ok": true, "channel": "C1", "ts": "1.2"})
		}
	}))
	defer srv.Close()
	nt, err := NewNotifier(NotifierOptions{Config: Config{BotToken: "xoxb-x", APIURL: srv.URL + "/"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	send := func(ch string) error {
		_, err := nt.Notify(context.Background(), workflows.Notification{Channel: ch, Environment: "lab", Kind: workflows.NotifyMessage, Text: "hi", ThreadTS: "1.1"})
		return err
	}
	if err := send("C_RATE"); err == nil {
		t.Fatal("rate limit: no error")
	} else if appErr, ok := errors.AsType[*temporal.ApplicationError](err); !ok || appErr.NonRetryable() || appErr.NextRetryDelay() != 3*time.Second {
		t.Fatalf("rate limit: %v", err)
	}
	if err := send("C_DOWN"); err == nil || isNonRetryable(err) {
		t.Fatalf("502: %v (want retryable)", err)
	}
	if err := send("C_GONE"); err == nil || !isNonRetryable(err) {
		t.Fatalf("channel_not_found: %v (want non-retryable)", err)
	}
	res, err := nt.Notify(context.Background(), workflows.Notification{Channel: "#ops", Kind: workflows.NotifyRunStarted, Runbook: "r", Environment: "lab"})
	if err != nil || res.TS != "1.2" || res.Channel != "C1" {
		t.Fatalf("post: %+v %v", res, err)
	}
	// An environment without a channel is not an error: the run simply is not announced.
	if res, err := nt.Notify(context.Background(), workflows.Notification{Kind: workflows.NotifyMessage, Text: "x"}); err != nil || res.TS != "" {
		t.Fatalf("no channel: %+v %v", res, err)
	}
}

// inChain reports whether an error with message msg is in err's chain; the Slack error types are
// not comparable, so errors.Is cannot find them.
func inChain(err error, msg string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == msg {
			return true
		}
	}
	return false
}

func isNonRetryable(err error) bool {
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	return ok && appErr.NonRetryable()
}

func TestRunURLEscapesTheWorkflowID(t *testing.T) {
	cfg := Config{UIBaseURL: "http://127.0.0.1:8233", Namespace: "dr"}
	got := runURL(cfg, "switchyard/lab", "0f1e-22")
	if want := "http://127.0.0.1:8233/namespaces/dr/workflows/switchyard%2Flab/0f1e-22"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if runURL(Config{}, "x", "y") != "" {
		t.Fatal("a link without a UI address")
	}
}

func TestMentions(t *testing.T) {
	for in, want := range map[string]string{
		"U024BE7LH": "<@U024BE7LH>", "W123ABC": "<@W123ABC>", "S0614TZR7": "<!subteam^S0614TZR7>",
		"alice": "alice", "<!channel>": "&lt;!channel&gt;", "Sam": "Sam",
	} {
		if got := mention(in); got != want {
			t.Errorf("mention(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	vars := map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": " xoxb-1 ", "SLACK_APP_TOKEN": "xapp-1",
		"SWITCHYARD_UI_URL": "http://ui:8233/", "TEMPORAL_NAMESPACE": "dr"}
	cfg := ConfigFromEnv(func(k string) string { return vars[k] })
	want := Config{SigningSecret: "s", BotToken: "xoxb-1", AppToken: "xapp-1", UIBaseURL: "http://ui:8233", Namespace: "dr"}
	if cfg != want || !cfg.Enabled() {
		t.Fatalf("got %+v", cfg)
	}
	if ConfigFromEnv(func(string) string { return "" }).Enabled() {
		t.Fatal("enabled without a token")
	}
	if _, err := NewNotifier(NotifierOptions{}); err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") {
		t.Fatalf("notifier without token: %v", err)
	}
}

// The final state of an approval has no buttons and says how it ended, whoever renders it.
func TestApprovalBlocksFinalStates(t *testing.T) {
	m := runMeta{WorkflowID: "w", RunID: "r", Runbook: "failover", Environment: "prod", RequestedBy: "U_REQ"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	waiting := workflows.ApprovalState{Step: "go", Status: workflows.ApprovalWaiting, Message: "<!channel> go?", Approvers: []string{"U1"}, Quorum: 1, Deadline: at}
	if !hasActions(approvalBlocks(Config{}, m, waiting)) {
		t.Fatal("a waiting approval has no buttons")
	}
	for status, want := range map[string]string{
		workflows.ApprovalApproved: "Approved.",
		workflows.ApprovalRejected: "Rejected.",
		workflows.ApprovalTimedOut: "Expired: aborting",
	} {
		st := waiting
		st.Status = status
		st.Votes = []workflows.Vote{{By: "U1", Approve: status == workflows.ApprovalApproved, Comment: "c", At: at, Source: "slack"}}
		blocks := approvalBlocks(Config{}, m, st)
		if hasActions(blocks) {
			t.Errorf("%s: buttons left", status)
		}
		raw, _ := slack.Blocks{BlockSet: blocks}.MarshalJSON()
		if !strings.Contains(string(raw), want) || strings.Contains(string(raw), "<!channel>") {
			t.Errorf("%s: %s", status, raw)
		}
	}
}

// attempts plays the attempts of one notify activity: each ctx is the next attempt, given the
// heartbeat details the earlier ones recorded, as Temporal gives them to a retry.
type attempts struct {
	d  delivery
	hb postProgress
	n  int
}

func newAttempts(key string) *attempts { return &attempts{d: delivery{key: key, since: time.Now()}} }

func (a *attempts) next() context.Context {
	a.n++
	d := a.d
	d.retry, d.earlier = a.n > 1, a.hb
	d.record = func(p postProgress) { a.hb = p }
	return withDelivery(context.Background(), d)
}

// forget drops what the attempts recorded: the worker died after Slack answered and before its
// heartbeat reached the server.
func (a *attempts) forget() { a.hb = postProgress{} }

func quietNotifier(t *testing.T, f *fakeSlack) *Notifier {
	t.Helper()
	nt, err := NewNotifier(NotifierOptions{Config: Config{BotToken: "xoxb-x", APIURL: f.URL()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return nt
}

func (f *fakeSlack) count(method string) int {
	n := 0
	for _, c := range f.snapshot() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// A worker that dies after Slack accepted a message but before the server heard of it, and
// before its heartbeat got out, retries the activity: the retry finds the message by its
// metadata instead of posting it twice — in the run's thread, and for the run's first message
// in the channel since the activity was scheduled.
// The approval message shows the plan it lets run: each step, and the state it sets now and after.
func TestApprovalBlocksShowCurrentAndDesiredState(t *testing.T) {
	m := runMeta{WorkflowID: "w", RunID: "r", Runbook: "failover", Environment: "prod"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := workflows.ApprovalState{Step: "approve", Status: workflows.ApprovalWaiting, Message: "go?", Quorum: 1, Deadline: at, PlanReadAt: &at,
		Plan: []workflows.PlanStep{
			{Step: "shift", Summary: "would run traffic.shift with region=us-west-2", Current: "us-east-1 in, us-west-2 out", Desired: "us-west-2 in, us-east-1 out"},
			{Step: "dns", Summary: "would wait up to 5m until traffic.dns"},
		}}
	raw, _ := slack.Blocks{BlockSet: approvalBlocks(Config{}, m, st)}.MarshalJSON()
	text := unescapeJSON(string(raw))
	for _, want := range []string{"What approving lets happen", "state read <!date^1767323045", "`shift` would run traffic.shift with region=us-west-2",
		"now: *us-east-1 in, us-west-2 out* → after: *us-west-2 in, us-east-1 out*", "`dns` would wait up to 5m until traffic.dns"} {
		if !strings.Contains(text, want) {
			t.Errorf("approval message lacks %q: %s", want, text)
		}
	}
	if strings.Count(text, "now: ") != 1 {
		t.Errorf("a step that sets no state shows none: %s", text)
	}
}

func TestRetriedPostFindsTheEarlierAttemptsMessage(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt := quietNotifier(t, f)
	n := workflows.Notification{Kind: workflows.NotifyRunStarted, Channel: "C123", WorkflowID: "switchyard/lab", RunID: "r1",
		Runbook: "drill", Environment: "lab"}
	root := newAttempts("r1/5")
	started, err := nt.Notify(root.next(), n)
	require.NoError(t, err)
	root.forget()
	again, err := nt.Notify(root.next(), n)
	require.NoError(t, err)
	require.Equal(t, started.TS, again.TS, "the top-level message was found, not posted again")

	approval := workflows.Notification{Kind: workflows.NotifyApprovalRequest, Channel: "C123", ThreadTS: started.TS,
		WorkflowID: "switchyard/lab", RunID: "r1", Step: "approve", Text: "fail over?"}
	req := newAttempts("r1/9")
	posted, err := nt.Notify(req.next(), approval)
	require.NoError(t, err)
	req.forget()
	found, err := nt.Notify(req.next(), approval)
	require.NoError(t, err)
	require.Equal(t, posted.TS, found.TS)

	// Another notification of the same run is a different delivery and is posted.
	f.freshReadWindow()
	other := newAttempts("r1/10")
	other.n = 1
	got, err := nt.Notify(other.next(), approval)
	require.NoError(t, err)
	require.NotEqual(t, posted.TS, got.TS)
	require.Equal(t, 3, f.count("chat.postMessage"), "run started, the approval request, and the other delivery")
	require.Equal(t, 1, f.count("conversations.history"), "only the run's first message reads the channel")
	require.Equal(t, 2, f.count("conversations.replies"))
}

// Slack posted the message and the answer was lost (HTTP 500): the retry has no ts in its
// heartbeat, looks in the thread, and returns the message it finds. One post.
func TestRetryAfterALostAnswerPostsOnce(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt := quietNotifier(t, f)
	started, err := nt.Notify(newAttempts("r2/1").next(), workflows.Notification{Kind: workflows.NotifyRunStarted, Channel: "C123",
		WorkflowID: "w2", RunID: "r2", Runbook: "drill", Environment: "lab"})
	require.NoError(t, err)
	f.loseAnswer = func(c apiCall) bool { return c.Form.Get("thread_ts") != "" }
	n := workflows.Notification{Kind: workflows.NotifyMessage, Channel: "C123", ThreadTS: started.TS, WorkflowID: "w2", RunID: "r2", Text: "shift 10%"}
	a := newAttempts("r2/7")
	_, err = nt.Notify(a.next(), n)
	require.Error(t, err)
	require.False(t, isNonRetryable(err), "a lost answer is retried: %v", err)
	require.Empty(t, a.hb.TS, "no answer, no ts to remember")
	f.loseAnswer = nil
	res, err := nt.Notify(a.next(), n)
	require.NoError(t, err)
	require.Equal(t, 1, f.posts("shift 10%"), "posted once")
	var lost apiCall
	for _, c := range f.snapshot() {
		if c.Lost {
			lost = c
		}
	}
	require.Equal(t, lost.TS, res.TS, "the retry returns the message whose answer was lost")
}

// Under Slack's Tier 1 limits for non-Marketplace apps (conversations.replies: one call a
// minute, 15 messages a page) a retry still posts once: it takes the ts from its heartbeat
// without reading; a rate-limited lookup fails the attempt with Slack's Retry-After instead of
// posting; and a lookup longer than one page resumes where the refused page began.
func TestRetryUnderTheTier1LimitPostsOnce(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt := quietNotifier(t, f)
	started, err := nt.Notify(newAttempts("r3/1").next(), workflows.Notification{Kind: workflows.NotifyRunStarted, Channel: "C123",
		WorkflowID: "w3", RunID: "r3", Runbook: "drill", Environment: "lab"})
	require.NoError(t, err)
	msg := func(text string) workflows.Notification {
		return workflows.Notification{Kind: workflows.NotifyMessage, Channel: "C123", ThreadTS: started.TS, WorkflowID: "w3", RunID: "r3", Text: text}
	}
	// Another delivery's lookup used up this minute's conversations.replies.
	_, err = nt.Notify(withDelivery(context.Background(), delivery{key: "r3/2", retry: true, since: time.Now()}), msg("other"))
	require.NoError(t, err)

	// The worker died after the post and its heartbeat: the retry reads nothing.
	a := newAttempts("r3/3")
	posted, err := nt.Notify(a.next(), msg("first"))
	require.NoError(t, err)
	require.Equal(t, posted.TS, a.hb.TS, "the post's ts is in the heartbeat")
	reads := f.count("conversations.replies")
	again, err := nt.Notify(a.next(), msg("first"))
	require.NoError(t, err)
	require.Equal(t, posted.TS, again.TS)
	require.Equal(t, reads, f.count("conversations.replies"), "no lookup")
	require.Equal(t, 1, f.posts("first"))

	// The answer was lost and the lookup is rate limited: a retryable failure with Slack's
	// Retry-After, not a second post; after the minute the next attempt finds it.
	f.loseAnswer = func(c apiCall) bool { return strings.Contains(c.Form.Get("text"), "second") }
	b := newAttempts("r3/4")
	_, err = nt.Notify(b.next(), msg("second"))
	require.Error(t, err)
	f.loseAnswer = nil
	_, err = nt.Notify(b.next(), msg("second"))
	requireRateLimited(t, err)
	require.Equal(t, 1, f.posts("second"), "a rate-limited lookup does not post")
	f.freshReadWindow()
	found, err := nt.Notify(b.next(), msg("second"))
	require.NoError(t, err)
	require.NotEmpty(t, found.TS)
	require.Equal(t, 1, f.posts("second"))

	// More than a page of the thread since the activity was scheduled: the first page is read,
	// the second is refused, and the next attempt reads on from the end of the first.
	f.freshReadWindow()
	c := newAttempts("r3/5")
	for i := range 16 {
		_, err := nt.Notify(withDelivery(context.Background(), delivery{}), msg(fmt.Sprintf("chatter %d", i)))
		require.NoError(t, err)
	}
	f.loseAnswer = func(c apiCall) bool { return strings.Contains(c.Form.Get("text"), "third") }
	_, err = nt.Notify(c.next(), msg("third"))
	require.Error(t, err)
	f.loseAnswer = nil
	_, err = nt.Notify(c.next(), msg("third"))
	requireRateLimited(t, err)
	require.NotEmpty(t, c.hb.Checked, "the lookup kept its place")
	f.freshReadWindow()
	_, err = nt.Notify(c.next(), msg("third"))
	require.NoError(t, err)
	require.Equal(t, 1, f.posts("third"), "found on the second page, not posted again")
	for _, call := range f.snapshot() {
		if call.Method == "conversations.replies" {
			require.Equal(t, "1", call.Form.Get("include_all_metadata"), "metadata asked for")
			require.Equal(t, "15", call.Form.Get("limit"))
			require.NotEmpty(t, call.Form.Get("oldest"), "only since the activity was scheduled")
		}
	}
	require.Zero(t, f.count("conversations.history"), "replies never read the channel")
}

func requireRateLimited(t *testing.T, err error) {
	t.Helper()
	appErr, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "want a rate-limit application error, got %v", err)
	require.Equal(t, ErrSlackRateLimited, appErr.Type())
	require.False(t, appErr.NonRetryable())
	require.Positive(t, appErr.NextRetryDelay())
	require.LessOrEqual(t, appErr.NextRetryDelay(), time.Minute)
}

// Through the worker: Slack posts the approval request and its answer is lost. The activity's
// retry finds the message in the run's thread, the run edits that message when approved, and
// the request is in the channel once.
func TestLostAnswerOfAnApprovalRequestPostsItOnce(t *testing.T) {
	id := newRunID("gate")
	lost := 0
	env.slack.mu.Lock()
	env.slack.loseAnswer = func(c apiCall) bool {
		if !strings.Contains(c.Form.Get("blocks"), id) || !strings.Contains(c.Form.Get("blocks"), actionApprove) || lost > 0 {
			return false
		}
		lost++
		return true
	}
	env.slack.mu.Unlock()
	t.Cleanup(func() { env.slack.mu.Lock(); env.slack.loseAnswer = nil; env.slack.mu.Unlock() })
	env.slack.freshReadWindow()

	startRunID(t, id, "gate", "U_REQ")
	waitFor(t, "the approval step to wait", func() bool { return approvalOfRun(t, id).Status == workflows.ApprovalWaiting })
	msg := approvalMessage(t, id)
	require.True(t, msg.Lost, "the one request posted is the one whose answer was lost")
	approveFromCLI(t, id, "U_ALICE")
	waitFor(t, "the run to finish", func() bool { return progressOf(t, id).Outcome == workflows.OutcomeSucceeded })
	finalEdit(t, id, msg.TS, func(c apiCall) bool { return !hasActions(c.blocks(t)) })
	requests := 0
	for _, c := range env.slack.runCalls(id) {
		if c.Method == "chat.postMessage" && strings.Contains(c.Form.Get("blocks"), actionApprove) {
			requests++
		}
	}
	require.Equal(t, 1, requests, "the approval request was posted once")
}

// In an activity, the post's channel and ts are the heartbeat's details the moment Slack
// answers, and an attempt that finds them in its heartbeat returns them without calling Slack.
func TestPostedTSIsKeptInTheActivityHeartbeat(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt := quietNotifier(t, f)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(nt.Notify)
	var beats []postProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p postProgress
		require.NoError(t, d.Get(&p))
		beats = append(beats, p)
	})
	n := workflows.Notification{Kind: workflows.NotifyRunStarted, Channel: "C123", WorkflowID: "w5", RunID: "r5", Runbook: "drill", Environment: "lab"}
	v, err := env.ExecuteActivity(nt.Notify, n)
	require.NoError(t, err)
	var res workflows.NotifyResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, []postProgress{{Channel: res.Channel, TS: res.TS}}, beats)

	retry := s.NewTestActivityEnvironment()
	retry.RegisterActivity(nt.Notify)
	retry.SetHeartbeatDetails(beats[0])
	calls := len(f.snapshot())
	v, err = retry.ExecuteActivity(nt.Notify, n)
	require.NoError(t, err)
	var again workflows.NotifyResult
	require.NoError(t, v.Get(&again))
	require.Equal(t, res, again)
	require.Len(t, f.snapshot(), calls, "no call to Slack")
}
