package slackapp

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// RequestSource names the Slack team that sent an HTTP request ("slack team T0123"), for the
// intake's per-source rate limit, or "" when the request's signature does not verify or it names
// no team (the limit then falls back to the remote address). Only a verified request may spend
// a team's budget: otherwise anyone who knows a team id could lock its people out.
func (h *Handler) RequestSource(header http.Header, body []byte) string {
	if h.verify(header, body) != nil {
		return ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	team := form.Get("team_id") // slash commands
	if p := form.Get("payload"); team == "" && p != "" {
		var cb struct {
			Team struct {
				ID string `json:"id"`
			} `json:"team"`
		}
		if json.Unmarshal([]byte(p), &cb) == nil {
			team = cb.Team.ID // interactions
		}
	}
	if team == "" {
		return ""
	}
	return "slack team " + team
}
