package slackapp

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// Only a verified request names its team for the rate limit; a forged one (or one naming no
// team) names nobody, so that it is limited by its address and cannot spend the team's budget.
func TestRequestSourceIsTheVerifiedTeam(t *testing.T) {
	o := newOfflineHandler(t)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	signed := func(body string) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", slackSignature(ts, []byte(body)))
		return h
	}
	command := url.Values{"team_id": {"T0001"}, "command": {"/switchyard"}, "text": {"status"}}.Encode()
	interaction := url.Values{"payload": {`{"type":"block_actions","team":{"id":"T0002","domain":"x"}}`}}.Encode()
	for _, tt := range []struct {
		name   string
		header http.Header
		body   string
		want   string
	}{
		{"signed command", signed(command), command, "slack team T0001"},
		{"signed interaction", signed(interaction), interaction, "slack team T0002"},
		{"forged command", signed("team_id=T9999"), command, ""},
		{"unsigned", http.Header{}, command, ""},
		{"signed, no team", signed("command=%2Fswitchyard"), "command=%2Fswitchyard", ""},
	} {
		if got := o.h.RequestSource(tt.header, []byte(tt.body)); got != tt.want {
			t.Errorf("%s: RequestSource = %q, want %q", tt.name, got, tt.want)
		}
	}
}
