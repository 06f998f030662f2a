package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Notifier delivers a run's messages: Slack when configured, the log otherwise.
type Notifier interface {
	Notify(ctx context.Context, n wire.Notification) (wire.NotifyResult, error)
}

// LogNotifier writes notifications to a structured log; it is the notifier when Slack is not set up.
type LogNotifier struct{ Logger *slog.Logger }

// Notify logs n.
func (l LogNotifier) Notify(_ context.Context, n wire.Notification) (wire.NotifyResult, error) {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Info("notify", "kind", n.Kind, "environment", n.Environment, "workflow_id", n.WorkflowID,
		"runbook", n.Runbook, "step", n.Step, "text", n.Text)
	return wire.NotifyResult{}, nil
}

// Engine holds the interpreter's own activities.
type Engine struct {
	// RunbookDir is the folder of runbooks, with environments in RunbookDir/environments.
	RunbookDir string
	Registry   *Registry
	Notifier   Notifier

	// Store reads RunbookDir; nil makes one at the first load. The worker shares one store between
	// the engine and the catalog entries, so a run's steps resolve the environment from the same
	// parse its load recorded (with its sha256), and a file is parsed once per change.
	Store *runbook.Store

	storeOnce sync.Once
}

// store returns e.Store, made on first use.
func (e *Engine) store() *runbook.Store {
	e.storeOnce.Do(func() {
		if e.Store == nil {
			e.Store = runbook.NewStore(e.RunbookDir)
		}
	})
	return e.Store
}

// LoadRunbook loads, validates and binds a runbook for one run. Errors in files the run does not
// use do not block it: during an incident a broken unrelated runbook must not stop a failover.
func (e *Engine) LoadRunbook(_ context.Context, req wire.LoadRequest) (wire.Loaded, error) {
	set, err := e.store().Load(e.Registry.Catalog())
	p, err := runbook.Prepare(e.RunbookDir, set, err, runbook.RunRequest{Runbook: req.Runbook, Environment: req.Environment, Params: req.Params}, e.Registry.Catalog())
	if err != nil {
		errType := wire.ErrInvalidRunbook
		var se *runbook.StartError
		if errors.As(err, &se) && se.BadInput {
			errType = wire.ErrInvalidInput
		}
		return wire.Loaded{}, temporal.NewNonRetryableApplicationError(err.Error(), errType, nil)
	}
	var warn []string
	for _, w := range p.Warnings {
		warn = append(warn, w.Error())
	}
	return wire.Loaded{
		Runbook: *p.Runbook, Environment: *p.Environment, Params: p.Params,
		Source: string(p.RunbookSource.Text), SHA256: p.RunbookSource.SHA256, EnvSHA256: p.EnvironmentSource.SHA256,
		LogOnlyNotifications: e.logOnly(), Warnings: warn,
	}, nil
}

// logOnly reports whether this worker's notifications only reach its own log.
func (e *Engine) logOnly() bool {
	switch e.Notifier.(type) {
	case LogNotifier, *LogNotifier, nil:
		return true
	}
	return false
}

// WaitUntil polls a check in-process until it reports ok or the timeout passes. It heartbeats the
// last reason so the UI shows why it is still waiting, and treats transient errors as "not yet".
func (e *Engine) WaitUntil(ctx context.Context, req wire.WaitRequest) (map[string]any, error) {
	f, ok := e.Registry.Func(req.Check)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown check %q", req.Check), ErrBadArguments, nil)
	}
	// The loader filled in the interval (runbook.DefaultWaitInterval); none would poll without pause.
	interval := req.Interval.D()
	if interval <= 0 {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("wait for %s: interval %s must be longer than 0s", req.Check, req.Interval), ErrBadArguments, nil)
	}
	start := time.Now()
	deadline := start.Add(req.Timeout.D())
	polls := 0
	for {
		polls++
		res, err := f(ctx, req.Args)
		var reason string
		switch {
		case err != nil:
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.NonRetryable() {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			reason = "error: " + err.Error()
		case res["ok"] == true:
			res["polls"] = polls
			res["waited"] = time.Since(start).Round(time.Millisecond).String()
			return res, nil
		default:
			reason, _ = res["reason"].(string)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, reason)
		}
		if !time.Now().Add(interval).Before(deadline) {
			if req.Timeout > 0 { // a plan's single check (timeout 0) reports what it saw, as it saw it
				reason = fmt.Sprintf("still not ok after %s and %d polls: %s", req.Timeout, polls, reason)
			}
			return map[string]any{"ok": false, "polls": polls, "reason": reason}, nil
		}
		if err := pause(ctx, interval); err != nil {
			return nil, err
		}
	}
}

// Notify delivers a notification through the configured notifier.
func (e *Engine) Notify(ctx context.Context, n wire.Notification) (wire.NotifyResult, error) {
	if e.Notifier == nil {
		return LogNotifier{}.Notify(ctx, n)
	}
	return e.Notifier.Notify(ctx, n)
}
