package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// acker acknowledges a Socket Mode envelope; Slack redelivers envelopes that are not acknowledged.
type acker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// RunSocketMode serves the same interactions and slash commands over a Socket Mode connection
// opened with appToken (xapp-..., scope connections:write), until ctx ends. Socket Mode needs no
// public URL, which suits a worker behind a firewall; the connection itself is authenticated by
// the app token, so there is no request signature to check.
func (h *Handler) RunSocketMode(ctx context.Context, appToken string) error {
	if appToken == "" {
		return errors.New("socket mode: SLACK_APP_TOKEN is required (an app-level token with connections:write)")
	}
	opts := []slack.Option{slack.OptionAppLevelToken(appToken), slack.OptionHTTPClient(h.hc)}
	if h.cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(h.cfg.APIURL))
	}
	sm := socketmode.New(slack.New(h.cfg.BotToken, opts...),
		socketmode.OptionLog(slog.NewLogLogger(h.logger.Handler(), slog.LevelDebug)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	err := h.serveSocket(ctx, sm.Events, sm, done)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("socket mode: %w", err)
	}
	return nil
}

// serveSocket dispatches Socket Mode events to the handlers HTTP uses, acknowledging each
// envelope with the same immediate answer HTTP would send.
func (h *Handler) serveSocket(ctx context.Context, events <-chan socketmode.Event, ack acker, done <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return err
		case evt := <-events:
			h.socketEvent(evt, ack)
		}
	}
}

func (h *Handler) socketEvent(evt socketmode.Event, ack acker) {
	var payload any
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
		h.logger.Debug("socket mode", "event", evt.Type)
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		h.logger.Warn("socket mode", "event", evt.Type, "data", evt.Data)
		return
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			h.metrics.SlackRefused(RefusedBadPayload, "socket")
			h.logger.Warn("socket mode: unexpected interactive payload", "type", fmt.Sprintf("%T", evt.Data))
			break
		}
		h.metrics.SlackAccepted("interaction", "socket")
		payload = h.interaction(cb)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			h.metrics.SlackRefused(RefusedBadPayload, "socket")
			h.logger.Warn("socket mode: unexpected slash command payload", "type", fmt.Sprintf("%T", evt.Data))
			break
		}
		h.metrics.SlackAccepted("command", "socket")
		payload = h.command(cmd)
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	var err error
	if payload == nil {
		err = ack.Ack(*evt.Request)
	} else {
		err = ack.Ack(*evt.Request, payload)
	}
	if err != nil {
		h.logger.Warn("socket mode: acknowledge envelope", "envelope", evt.Request.EnvelopeID, "err", err)
	}
}
