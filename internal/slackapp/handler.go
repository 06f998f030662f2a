package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.temporal.io/sdk/client"
)

// Paths Handler serves; the manifest in docs/slack points Slack at them.
const (
	InteractionsPath = "/slack/interactions"
	CommandsPath     = "/slack/commands"
)

// maxBody bounds what is read before the signature is checked: Slack's payloads are a few KB, and
// an unauthenticated client must not make us buffer megabytes.
const maxBody = 1 << 20

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Config needs BotToken, and SigningSecret for HTTP (required).
	Config Config
	// Temporal is the client approvals, plans and runs go through (required).
	Temporal client.Client
	// Logger is optional; default slog.Default().
	Logger *slog.Logger
	// HTTPClient is used for the Web API and response_url posts; default a 15 s timeout client.
	HTTPClient *http.Client
	// GroupCacheTTL is how long user-group membership is cached; default 5 minutes.
	GroupCacheTTL time.Duration
	// TemporalTimeout bounds each Temporal call made for a click or command (query, update). An
	// update that gets no worker within it is sent as the durable signal instead. Default 10 s.
	TemporalTimeout time.Duration
	// PlanTimeout is how long /switchyard run waits for its plan; default 20 s.
	PlanTimeout time.Duration
	// Metrics counts accepted and refused requests; nil counts nothing.
	Metrics Metrics
}

// Metrics counts the requests the handler accepts and refuses (telemetry.Intake implements it).
// Refusals are counted by reason so that a wrong signing secret or a scanner hitting the endpoint
// shows on a dashboard, not only in the logs.
type Metrics interface {
	// SlackAccepted counts a verified, parsed request: kind is "interaction" or "command",
	// transport "http" or "socket".
	SlackAccepted(kind, transport string)
	// SlackRefused counts a request turned away before it had any effect.
	SlackRefused(reason, transport string)
}

// Refusal reasons counted by Metrics.
const (
	RefusedNotFound         = "not_found"
	RefusedMethodNotAllowed = "method_not_allowed"
	RefusedTooLarge         = "too_large"
	RefusedBadSignature     = "bad_signature"
	RefusedBadPayload       = "bad_payload"
)

// noMetrics is the Metrics of a handler given none.
type noMetrics struct{}

func (noMetrics) SlackAccepted(string, string) {}
func (noMetrics) SlackRefused(string, string)  {}

// Handler serves Slack's interactivity and slash-command requests, over HTTP (ServeHTTP) or
// Socket Mode (RunSocketMode). Work that talks to Temporal runs after Slack has been answered;
// Wait lets a server drain it on shutdown.
type Handler struct {
	cfg      Config
	tc       client.Client
	api      *slack.Client
	hc       *http.Client
	groups   *groupCache
	logger   *slog.Logger
	tTimeout time.Duration
	plan     time.Duration
	metrics  Metrics
	wg       sync.WaitGroup
}

// NewHandler returns a Handler.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	if err := opts.Config.validate(false); err != nil {
		return nil, fmt.Errorf("slack handler: %w", err)
	}
	if opts.Temporal == nil {
		return nil, errors.New("slack handler: a Temporal client is required")
	}
	h := &Handler{
		cfg: opts.Config, tc: opts.Temporal, hc: opts.HTTPClient, logger: opts.Logger,
		tTimeout: opts.TemporalTimeout, plan: opts.PlanTimeout, metrics: opts.Metrics,
	}
	if h.metrics == nil {
		h.metrics = noMetrics{}
	}
	if h.hc == nil {
		h.hc = &http.Client{Timeout: 15 * time.Second}
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	h.logger = h.logger.With("component", "slack")
	if h.tTimeout <= 0 {
		h.tTimeout = 10 * time.Second
	}
	if h.plan <= 0 {
		h.plan = 20 * time.Second
	}
	ttl := opts.GroupCacheTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	h.api = opts.Config.api(opts.Config.BotToken, h.hc)
	h.groups = newGroupCache(h.api, ttl)
	return h, nil
}

// Wait blocks until the work started by earlier requests has finished.
func (h *Handler) Wait() { h.wg.Wait() }

// ServeHTTP serves POST /slack/interactions and POST /slack/commands. Every request is verified
// against the signing secret (HMAC of timestamp and body, timestamp within 5 minutes) before
// anything in it is parsed; a request that fails gets 401 and has no effect.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != InteractionsPath && r.URL.Path != CommandsPath {
		h.metrics.SlackRefused(RefusedNotFound, "http")
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		h.metrics.SlackRefused(RefusedMethodNotAllowed, "http")
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		h.metrics.SlackRefused(RefusedTooLarge, "http")
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := h.verify(r.Header, body); err != nil {
		h.metrics.SlackRefused(RefusedBadSignature, "http")
		h.logger.Warn("rejected unauthenticated request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	// Only now is the body trusted enough to parse, with slack-go's own parsers.
	r.Body = io.NopCloser(bytes.NewReader(body))
	var ack any
	switch r.URL.Path {
	case InteractionsPath:
		cb, err := slack.InteractionCallbackParse(r)
		if err != nil {
			h.metrics.SlackRefused(RefusedBadPayload, "http")
			http.Error(w, "bad interaction payload", http.StatusBadRequest)
			return
		}
		h.metrics.SlackAccepted("interaction", "http")
		ack = h.interaction(cb)
	case CommandsPath:
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			h.metrics.SlackRefused(RefusedBadPayload, "http")
			http.Error(w, "bad slash command", http.StatusBadRequest)
			return
		}
		h.metrics.SlackAccepted("command", "http")
		ack = h.command(cmd)
	}
	writeAck(w, ack)
}

func (h *Handler) verify(header http.Header, body []byte) error {
	if h.cfg.SigningSecret == "" {
		// Refuse rather than serve unauthenticated: an HTTP endpoint without a secret is a
		// misconfiguration, not a mode.
		return errors.New("no signing secret configured (SLACK_SIGNING_SECRET)")
	}
	v, err := slack.NewSecretsVerifier(header, h.cfg.SigningSecret)
	if err != nil {
		return fmt.Errorf("verify request: %w", err)
	}
	if _, err := v.Write(body); err != nil {
		return fmt.Errorf("verify request: %w", err)
	}
	if err := v.Ensure(); err != nil {
		return fmt.Errorf("verify request: %w", err)
	}
	return nil
}

func writeAck(w http.ResponseWriter, ack any) {
	if ack == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	b, err := json.Marshal(ack)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(b)
}

// background runs fn after Slack has been answered. The context is not the request's, which ends
// with the response; it is bounded so a stuck call cannot pile up goroutines.
func (h *Handler) background(what string, fn func(ctx context.Context)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				h.logger.Error("slack request handling panicked", "what", what, "panic", p)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 3*h.tTimeout+h.plan+30*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// respond posts to a response_url (valid for 30 minutes, 5 uses), ephemeral unless msg says
// otherwise. Only Slack's hosts (or the configured API URL, for tests) are accepted, so a
// payload can never make this process POST elsewhere.
func (h *Handler) respond(ctx context.Context, responseURL string, msg slack.WebhookMessage) {
	if responseURL == "" {
		h.logger.Warn("no response_url to answer on", "text", msg.Text)
		return
	}
	if !h.allowedResponseURL(responseURL) {
		h.logger.Warn("refusing to post to a response_url outside Slack", "url", responseURL)
		return
	}
	if msg.ResponseType == "" {
		msg.ResponseType = slack.ResponseTypeEphemeral
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, h.hc, &msg); err != nil {
		h.logger.Warn("answer through response_url failed", "err", err, "text", msg.Text)
	}
}

func (h *Handler) allowedResponseURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Scheme == "https" && (u.Host == "hooks.slack.com" || u.Host == "hooks.slack-gov.com") {
		return true
	}
	return h.cfg.APIURL != "" && strings.HasPrefix(raw, h.cfg.APIURL)
}

// ephemeral answers one person: through response_url when there is one, else chat.postEphemeral.
func (h *Handler) ephemeral(ctx context.Context, responseURL, channel, user, text string) {
	if responseURL != "" {
		h.respond(ctx, responseURL, slack.WebhookMessage{Text: text, ReplaceOriginal: false})
		return
	}
	if channel == "" || user == "" {
		h.logger.Warn("nowhere to answer", "user", user, "text", text)
		return
	}
	if _, err := h.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false)); err != nil {
		h.logger.Warn("post ephemeral failed", "err", err, "user", user)
	}
}
