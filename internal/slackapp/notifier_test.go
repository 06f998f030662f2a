package slackapp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

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
		workflows.ApprovalTimedOut: "Timed out: aborting",
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

// A worker that dies after Slack accepted a message but before the server heard of it retries
// the activity: the retry finds the message by its metadata instead of posting it twice, in a
// thread and at the top of the channel.
func TestRetriedPostFindsTheEarlierAttemptsMessage(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt, err := NewNotifier(NotifierOptions{Config: Config{BotToken: "xoxb-x", APIURL: f.URL()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	n := workflows.Notification{Kind: workflows.NotifyRunStarted, Channel: "C123", WorkflowID: "switchyard/lab", RunID: "r1",
		Runbook: "drill", Environment: "lab"}
	first := delivery{key: "r1/5", since: time.Now()}
	started, err := nt.Notify(withDelivery(context.Background(), first), n)
	require.NoError(t, err)
	first.retry = true
	again, err := nt.Notify(withDelivery(context.Background(), first), n)
	require.NoError(t, err)
	require.Equal(t, started.TS, again.TS, "the top-level message was found, not posted again")

	approval := workflows.Notification{Kind: workflows.NotifyApprovalRequest, Channel: "C123", ThreadTS: started.TS,
		WorkflowID: "switchyard/lab", RunID: "r1", Step: "approve", Text: "fail over?"}
	d := delivery{key: "r1/9", since: time.Now()}
	posted, err := nt.Notify(withDelivery(context.Background(), d), approval)
	require.NoError(t, err)
	d.retry = true
	found, err := nt.Notify(withDelivery(context.Background(), d), approval)
	require.NoError(t, err)
	require.Equal(t, posted.TS, found.TS)

	// Another notification of the same run is a different delivery and is posted.
	other, err := nt.Notify(withDelivery(context.Background(), delivery{key: "r1/10", retry: true, since: time.Now()}), approval)
	require.NoError(t, err)
	require.NotEqual(t, posted.TS, other.TS)

	var posts int
	for _, c := range f.snapshot() {
		if c.Method == "chat.postMessage" {
			posts++
		}
	}
	require.Equal(t, 3, posts, "run started, the approval request, and the other delivery")
}
