package slackapp

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Config is what the Slack app needs to talk to Slack and to link to the Temporal UI.
type Config struct {
	// SigningSecret authenticates requests from Slack over HTTP (required for Handler over HTTP).
	SigningSecret string
	// BotToken (xoxb-...) posts messages, opens modals and reads user groups (required).
	BotToken string
	// AppToken (xapp-...) opens the Socket Mode connection; only Socket Mode needs it.
	AppToken string
	// UIBaseURL is the Temporal Web UI's address (http://127.0.0.1:8233); empty leaves links out.
	UIBaseURL string
	// Namespace is the Temporal namespace, for UI links; default "default".
	Namespace string
	// APIURL replaces https://slack.com/api/ (tests point it at a fake); it must end with "/".
	APIURL string
}

// ConfigFromEnv reads SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SWITCHYARD_UI_URL and
// TEMPORAL_NAMESPACE. It takes getenv rather than reading os.Getenv so that commands stay testable.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		SigningSecret: strings.TrimSpace(getenv("SLACK_SIGNING_SECRET")),
		BotToken:      strings.TrimSpace(getenv("SLACK_BOT_TOKEN")),
		AppToken:      strings.TrimSpace(getenv("SLACK_APP_TOKEN")),
		UIBaseURL:     strings.TrimRight(strings.TrimSpace(getenv("SWITCHYARD_UI_URL")), "/"),
		Namespace:     strings.TrimSpace(getenv("TEMPORAL_NAMESPACE")),
	}
}

// Enabled reports whether Slack is configured at all: without a bot token nothing can be posted,
// and callers keep the log notifier.
func (c Config) Enabled() bool { return c.BotToken != "" }

func (c Config) namespace() string {
	if c.Namespace == "" {
		return "default"
	}
	return c.Namespace
}

func (c Config) validate(needSecret bool) error {
	var errs []error
	if c.BotToken == "" {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is required (the app's Bot User OAuth Token, xoxb-...)"))
	}
	if needSecret && c.SigningSecret == "" {
		errs = append(errs, errors.New("SLACK_SIGNING_SECRET is required to verify requests from Slack"))
	}
	if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
		errs = append(errs, errors.New("APIURL must end with a slash"))
	}
	return errors.Join(errs...)
}

// api builds a Web API client. Retries are left to callers: the Notifier's caller is a Temporal
// activity with its own retry policy, and Handler's callers are people who can click again.
func (c Config) api(token string, hc *http.Client) *slack.Client {
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if c.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(c.APIURL))
	}
	return slack.New(token, opts...)
}
