package slackapp

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/workflows"
)

// TestStepWarningsReachTheThread: a step that passed with warnings is posted with the warning
// icon, not the check mark, and with every warning; the line the run wrote already carries a
// warning it summarised, which is not repeated.
func TestStepWarningsReachTheThread(t *testing.T) {
	f := newFakeSlack()
	defer f.srv.Stop()
	nt, err := NewNotifier(NotifierOptions{Config: Config{BotToken: "xoxb-x", APIURL: f.URL()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	healing := "MSK cluster lab-msk-primary in us-east-1 is HEALING: Amazon MSK is replacing a broker <b>"
	other := "domain lab-multiaz in us-east-1: a configuration change is being applied"
	for _, n := range []workflows.Notification{
		{Kind: workflows.NotifyStep, Step: "preflight/msk", Status: workflows.StatusSucceeded, Text: "preflight/msk succeeded: " + healing,
			Warnings: []string{healing, other}},
		{Kind: workflows.NotifyStep, Step: "preflight/lag", Status: workflows.StatusSucceeded, Text: "preflight/lag succeeded: lag 0"},
	} {
		n.Channel, n.ThreadTS, n.WorkflowID, n.RunID = "C123", "1.0", "switchyard/lab", "r1"
		_, err := nt.Notify(context.Background(), n)
		require.NoError(t, err)
	}
	var texts []string
	for _, c := range f.snapshot() {
		if c.Method == "chat.postMessage" {
			texts = append(texts, c.Form.Get("text"))
		}
	}
	require.Len(t, texts, 2)
	require.True(t, strings.HasPrefix(texts[0], ":warning: preflight/msk succeeded: MSK cluster lab-msk-primary in us-east-1 is HEALING"), texts[0])
	require.Contains(t, texts[0], "&lt;b&gt;", "warnings are escaped like any run text")
	require.Equal(t, 1, strings.Count(texts[0], "is HEALING"), "a warning the line carries is not repeated: %s", texts[0])
	require.Contains(t, texts[0], "\n>:warning: "+other)
	require.Equal(t, ":white_check_mark: preflight/lag succeeded: lag 0", texts[1])
}
