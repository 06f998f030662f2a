package slackfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// serve exposes a workspace's read methods to slack-go clients.
func serve(t *testing.T, ws *Workspace) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.ServeRead(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func TestReadsHaveTier1Limits(t *testing.T) {
	clock := &Clock{}
	ws := New(Options{Now: clock.Now, Channels: map[string]string{"#ops": "C1"}})
	url := serve(t, ws)
	api := slack.New("xoxb-a", slack.OptionAPIURL(url))
	ctx := context.Background()
	start := clock.Now()
	root := ws.Post("#ops", "", "root", "", false)
	require.Equal(t, "C1", root.Channel)
	var replies []Message
	for i := range 20 {
		meta := fmt.Sprintf(`{"event_type":"t","event_payload":{"i":%d}}`, i)
		replies = append(replies, ws.Post("C1", root.TS, fmt.Sprintf("reply %d", i), meta, false))
	}

	// Limit 1000 is served 15 at a time, oldest first, with a cursor to the rest.
	msgs, more, next, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: "C1", Timestamp: root.TS, Limit: 1000})
	require.NoError(t, err)
	require.Len(t, msgs, MaxLimit)
	require.True(t, more)
	require.NotEmpty(t, next)
	require.Equal(t, root.TS, msgs[0].Timestamp)
	require.Empty(t, msgs[1].Metadata.EventType, "no metadata unless asked for")

	// One call a minute per method and token: the next page waits, with Slack's Retry-After.
	_, _, _, err = api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: "C1", Timestamp: root.TS, Cursor: next})
	var rl *slack.RateLimitedError
	require.True(t, errors.As(err, &rl), "want a rate limit, got %v", err)
	require.Equal(t, time.Minute, rl.RetryAfter)
	clock.Advance(40 * time.Second)
	_, _, _, err = api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: root.TS})
	require.True(t, errors.As(err, &rl))
	require.Equal(t, 20*time.Second, rl.RetryAfter, "the window runs from the last call served")
	// Another method, or another token, has its own allowance.
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "#ops"})
	require.NoError(t, err)
	require.Len(t, h.Messages, 1, "history holds the top-level message only")
	other := slack.New("xoxb-b", slack.OptionAPIURL(url))
	_, _, _, err = other.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: root.TS})
	require.NoError(t, err)

	clock.Advance(20 * time.Second)
	msgs, more, _, err = api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: "C1", Timestamp: root.TS, Cursor: next, IncludeAllMetadata: true})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, msgs, 21-MaxLimit)
	require.Equal(t, replies[len(replies)-1].TS, msgs[len(msgs)-1].Timestamp)
	require.Equal(t, "t", msgs[0].Metadata.EventType, "metadata when asked for")

	// oldest and latest bound the thread (exclusive unless inclusive); limit below 15 holds.
	clock.Advance(time.Minute)
	msgs, more, _, err = api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
		ChannelID: "C1", Timestamp: root.TS, Oldest: replies[4].TS, Latest: replies[10].TS, Limit: 3})
	require.NoError(t, err)
	require.True(t, more)
	require.Equal(t, []string{replies[5].TS, replies[6].TS, replies[7].TS}, []string{msgs[0].Timestamp, msgs[1].Timestamp, msgs[2].Timestamp})
	served, limited := ws.Reads("conversations.replies")
	require.Equal(t, 3+1, served, "xoxb-a three times, xoxb-b once")
	require.Equal(t, 2, limited)
	require.False(t, clock.Now().Before(start.Add(2*time.Minute)))
}
