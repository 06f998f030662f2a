package activities

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Core holds the catalog entries that need no cloud: assertions, pauses and HTTP calls for
// applications that route by configuration.
type Core struct {
	HTTP *http.Client
}

// EchoArgs is the input of core.echo.
type EchoArgs struct {
	Message string         `json:"message" doc:"text to return"`
	Values  map[string]any `json:"values,omitempty" doc:"values to carry to later steps"`
}

// EchoResult is the output of core.echo.
type EchoResult struct {
	Summary string         `json:"summary"`
	Values  map[string]any `json:"values,omitempty"`
}

// Echo returns its input, so runbooks can name computed values and show them in the report.
func (c *Core) Echo(_ context.Context, in EchoArgs) (EchoResult, error) {
	return EchoResult{Summary: in.Message, Values: in.Values}, nil
}

// AssertArgs is the input of core.assert.
type AssertArgs struct {
	That   bool   `json:"that" catalog:"required" doc:"the condition, usually an expression"`
	Reason string `json:"reason,omitempty" doc:"what a false condition means"`
}

// CheckResult is the shape every check returns.
type CheckResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
}

// Assert is a check on an expression over params and earlier results.
func (c *Core) Assert(_ context.Context, in AssertArgs) (CheckResult, error) {
	if in.That {
		return CheckResult{OK: true, Reason: "holds"}, nil
	}
	reason := in.Reason
	if reason == "" {
		reason = "assertion is false"
	}
	return CheckResult{OK: false, Reason: reason}, nil
}

// SleepArgs is the input of core.sleep.
type SleepArgs struct {
	Duration runbook.Duration `json:"duration" catalog:"duration,required,bounds" doc:"how long to pause, e.g. 30s"`
}

// SleepResult is the output of core.sleep.
type SleepResult struct {
	Summary string `json:"summary"`
}

// Sleep pauses inside an activity with heartbeats. Runbooks use it for short soaks; a long soak
// belongs in a wait_until with a real check.
func (c *Core) Sleep(ctx context.Context, in SleepArgs) (SleepResult, error) {
	if InPlan(ctx) {
		// A plan shows what the run would do; pausing changes nothing worth waiting for.
		return SleepResult{Summary: "would pause " + catalog.ShortDuration(in.Duration.D())}, nil
	}
	deadline := time.NewTimer(in.Duration.D())
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return SleepResult{}, ctx.Err()
		case <-deadline.C:
			return SleepResult{Summary: "slept " + in.Duration.String()}, nil
		case <-tick.C:
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx)
			}
		}
	}
}

// HTTPCheckArgs is the input of http.check.
type HTTPCheckArgs struct {
	URL          string `json:"url" catalog:"required"`
	ExpectStatus int    `json:"expect_status,omitempty" doc:"default 200"`
	Contains     string `json:"contains,omitempty" doc:"text the body must contain"`
}

// HTTPCheckResult is the output of http.check.
type HTTPCheckResult struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
	Status int    `json:"status"`
}

// HTTPCheck reports whether a URL answers as expected. Connection failures are a not-ok result,
// not an error: a check's job is to report health, and an unreachable endpoint is unhealthy.
func (c *Core) HTTPCheck(ctx context.Context, in HTTPCheckArgs) (HTTPCheckResult, error) {
	want := in.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return HTTPCheckResult{}, Permanent(fmt.Errorf("http.check: %w", err))
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return HTTPCheckResult{Reason: fmt.Sprintf("GET %s: %v", in.URL, err)}, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res := HTTPCheckResult{Status: resp.StatusCode}
	switch {
	case resp.StatusCode != want:
		res.Reason = fmt.Sprintf("GET %s answered %d, want %d", in.URL, resp.StatusCode, want)
	case in.Contains != "" && !strings.Contains(string(body), in.Contains):
		res.Reason = fmt.Sprintf("GET %s: body does not contain %q", in.URL, in.Contains)
	default:
		res.OK, res.Reason = true, fmt.Sprintf("GET %s answered %d", in.URL, resp.StatusCode)
	}
	return res, nil
}

// WebhookArgs is the input of http.webhook.
type WebhookArgs struct {
	URL          string            `json:"url" catalog:"required"`
	Method       string            `json:"method,omitempty" doc:"default POST"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	ExpectStatus int               `json:"expect_status,omitempty" doc:"default: any 2xx"`
}

// WebhookResult is the output of http.webhook.
type WebhookResult struct {
	Status  int    `json:"status"`
	Summary string `json:"summary"`
}

// Webhook calls an application's endpoint, for applications that route by configuration. The
// receiving side must be idempotent: the call may be retried after a timeout.
func (c *Core) Webhook(ctx context.Context, in WebhookArgs) (WebhookResult, error) {
	method := in.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, in.URL, strings.NewReader(in.Body))
	if err != nil {
		return WebhookResult{}, Permanent(fmt.Errorf("http.webhook: %w", err))
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return WebhookResult{}, fmt.Errorf("%s %s: %w", method, in.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if in.ExpectStatus != 0 {
		ok = resp.StatusCode == in.ExpectStatus
	}
	if !ok {
		err := fmt.Errorf("%s %s answered %d", method, in.URL, resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return WebhookResult{}, Permanent(err)
		}
		return WebhookResult{}, err
	}
	return WebhookResult{Status: resp.StatusCode, Summary: fmt.Sprintf("%s %s answered %d", method, in.URL, resp.StatusCode)}, nil
}

func (c *Core) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// RegisterCore adds the core entries to r.
func RegisterCore(r *Registry, c *Core) {
	// echo and assert compute from their arguments only, so they run as local activities: a
	// runbook's gates cost ~1 ms each instead of a scheduled task.
	Register(r, catalog.Spec{Name: "core.echo", Kind: catalog.KindAction, ReadOnly: true, Local: true,
		Description: "Return a message and values, to name computed values for later steps and the report."}, c.Echo)
	Register(r, catalog.Spec{Name: "core.assert", Kind: catalog.KindCheck, ReadOnly: true, Local: true,
		Description: "Check that an expression over params and earlier results holds."}, c.Assert)
	Register(r, catalog.Spec{Name: "core.sleep", Kind: catalog.KindAction, ReadOnly: true,
		Description: "Pause, heartbeating, for a short soak."}, c.Sleep)
	Register(r, catalog.Spec{Name: "http.check", Kind: catalog.KindCheck, ReadOnly: true,
		Description: "Check that a URL answers with the expected status and text."}, c.HTTPCheck)
	Register(r, catalog.Spec{Name: "http.webhook", Kind: catalog.KindAction,
		Description: "Call an application's HTTP endpoint (for applications that route by configuration)."}, c.Webhook)
}
