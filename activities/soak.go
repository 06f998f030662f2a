package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// soakFailedReads is how many alarm reads in a row may fail before a soak gives up.
const soakFailedReads = 3

// SoakArgs is the input of cloudwatch.soak.
type SoakArgs struct {
	Environment           string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region                string           `json:"region" catalog:"region,required" doc:"the Region whose alarms must stay quiet"`
	Duration              runbook.Duration `json:"duration" catalog:"duration,required,bounds" doc:"how long the alarms must stay quiet, e.g. 5m"`
	Interval              runbook.Duration `json:"interval,omitempty" catalog:"duration" default:"10s" doc:"pause between alarm reads (default 10s)"`
	Alarms                []string         `json:"alarms,omitempty" doc:"alarm names; default: the Region's alarms"`
	InsufficientDataFails bool             `json:"insufficient_data_fails,omitempty" doc:"treat INSUFFICIENT_DATA like ALARM"`
}

// SoakResult is the output of cloudwatch.soak.
type SoakResult struct {
	OK     bool     `json:"ok"`
	Reason string   `json:"reason"`
	Reads  int      `json:"reads"`
	Firing []string `json:"firing" doc:"the alarms that ended the soak, empty when it held"`
	Held   string   `json:"held" doc:"how long the alarms stayed quiet"`
}

// Soak watches the Region's alarms for a while after a traffic shift and reports not ok the
// moment one fires, so a gradual failback rolls back at the first sign of trouble instead of at
// the end of the soak. A read that fails (throttling, a blip) is retried at the next interval;
// only a permanent error (an alarm that does not exist) ends the soak early with an error.
func (c *Cloud) Soak(ctx context.Context, in SoakArgs) (SoakResult, error) {
	if in.Duration <= 0 {
		return SoakResult{}, badArgs("duration must be positive")
	}
	interval := in.Interval.D()
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if InPlan(ctx) {
		return c.planSoak(ctx, in)
	}
	start := time.Now()
	deadline := start.Add(in.Duration.D())
	res := SoakResult{Firing: []string{}}
	var lastErr error
	failedReads := 0
	for {
		// Each read is bounded: an impaired Region's control plane may hold a request open, and
		// a soak that cannot see its alarms must say so instead of hanging.
		rctx, cancel := context.WithTimeout(ctx, max(interval, 5*time.Second))
		st, err := c.AlarmState(rctx, AlarmStateArgs{Environment: in.Environment, Region: in.Region, Alarms: in.Alarms,
			InsufficientDataFails: in.InsufficientDataFails})
		cancel()
		res.Reads++
		switch {
		case err != nil && ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil && !IsRetryable(err):
			return res, err
		case err != nil:
			lastErr = err
			failedReads++
			if failedReads >= soakFailedReads {
				// Blind for three reads in a row: the Region's monitoring is itself impaired,
				// which is no state to keep moving traffic into.
				res.Held = time.Since(start).Round(time.Second).String()
				res.Reason = fmt.Sprintf("cannot read the alarms of %s (%d reads in a row failed, %s into the %s soak): %v", in.Region, failedReads, res.Held, in.Duration, err)
				return res, nil
			}
		case !st.OK:
			res.Firing, res.Held = st.Firing, time.Since(start).Round(time.Second).String()
			res.Reason = fmt.Sprintf("alarm fired %s into the %s soak: %s", res.Held, in.Duration, st.Reason)
			return res, nil
		default:
			lastErr, failedReads = nil, 0
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, res.Reads)
		}
		if !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(min(interval, time.Until(deadline))):
		}
	}
	if lastErr != nil {
		// The last read failed: quiet cannot be proven.
		return res, lastErr
	}
	res.OK, res.Held = true, in.Duration.D().String()
	res.Reason = fmt.Sprintf("no alarm fired in %s during %s (%d reads)", in.Region, in.Duration, res.Reads)
	return res, nil
}

// planSoak is a soak in plan mode: one read of the alarms and what the soak would watch. A plan
// must answer in seconds; sleeping through a 5m soak per weight step would make it useless.
func (c *Cloud) planSoak(ctx context.Context, in SoakArgs) (SoakResult, error) {
	st, err := c.AlarmState(ctx, AlarmStateArgs{Environment: in.Environment, Region: in.Region, Alarms: in.Alarms,
		InsufficientDataFails: in.InsufficientDataFails})
	if err != nil {
		return SoakResult{}, err
	}
	names := slices.Sorted(maps.Keys(st.States))
	watch := "no alarms (none configured)"
	if len(names) > 0 {
		watch = "alarms " + strings.Join(names, ", ")
	}
	res := SoakResult{OK: st.OK, Reads: 1, Firing: st.Firing, Held: "0s"}
	now := "all OK"
	if !st.OK {
		now = st.Reason
	}
	res.Reason = fmt.Sprintf("would watch %s in %s for %s; now: %s", watch, in.Region, catalog.ShortDuration(in.Duration.D()), now)
	return res, nil
}
