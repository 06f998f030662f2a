package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/readiness"
	"github.com/switchyard-dr/switchyard/internal/wire"
	"github.com/switchyard-dr/switchyard/workflows"
)

const readinessUsage = `usage:
  starter readiness --env ENV [--json] [--timeout 5m]        evaluate now and print every check
  starter readiness latest --env ENV [--json]                print the latest evaluation
  starter readiness schedule --env ENV [--every 30m] [--paused]   evaluate on a Temporal Schedule`

// scheduleReadiness is the kind memo of readiness schedules (starter schedule list shows them).
const scheduleReadiness = "readiness"

// defaultReadinessEvery is how often an environment is evaluated, as ARC Region switch
// evaluates its plans every 30 minutes.
const defaultReadinessEvery = 30 * time.Minute

// runReadiness evaluates an environment's readiness on demand, prints the latest evaluation, or
// puts the evaluation on a schedule. On demand, a run with a schedule triggers the schedule (so
// every evaluation of an environment compares with the one before it and a change is posted
// once); without one it starts ReadinessWorkflow itself with the latest result to compare with.
func runReadiness(ctx context.Context, args []string, cio cmdIO) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlags("readiness", cio)
	var o connFlags
	o.register(fs)
	env := fs.String("env", "", "environment (required)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the evaluation")
	every := fs.Duration("every", defaultReadinessEvery, "schedule: evaluation interval")
	paused := fs.Bool("paused", false, "schedule: create it paused")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *env == "" {
		return errors.New(readinessUsage)
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	switch sub {
	case "":
		res, err := evaluateReadiness(ctx, c, *env, *timeout)
		if err != nil {
			return err
		}
		if err := printReadiness(cio.stdout, o, res); err != nil {
			return err
		}
		if res.State != wire.ReadinessPassed {
			return exitError(1)
		}
		return nil
	case "latest":
		res, err := readiness.Latest(ctx, c, *env)
		if err != nil {
			return err
		}
		return printReadiness(cio.stdout, o, *res)
	case "schedule":
		if *every <= 0 {
			return errors.New("readiness schedule: --every must be positive")
		}
		created, err := ensureReadinessSchedule(ctx, c, *env, *every, *paused)
		if err != nil {
			return err
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		id := workflows.ReadinessScheduleID(*env)
		row := map[string]any{"schedule_id": id, "kind": scheduleReadiness, "environment": *env, "spec": "every " + every.String(), "created": created}
		return o.print(cio.stdout, row, func(w io.Writer) {
			fmt.Fprintf(w, "%s schedule %s: readiness of %s every %s\n", verb, id, *env, every)
		})
	}
	return fmt.Errorf("readiness: unknown subcommand %q\n%s", sub, readinessUsage)
}

// ensureReadinessSchedule makes the environment's readiness schedule what the options say:
// created when missing, its spec, action and pause state set when it exists (a desired state,
// so running it twice changes nothing). It reports whether it created the schedule.
func ensureReadinessSchedule(ctx context.Context, c client.Client, env string, every time.Duration, paused bool) (bool, error) {
	so := readinessScheduleOptions(env, every, paused)
	_, err := c.ScheduleClient().Create(ctx, so)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return false, fmt.Errorf("create schedule %s: %w", so.ID, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, so.ID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sch := in.Description.Schedule
		sch.Spec, sch.Action = &so.Spec, so.Action
		if sch.Policy != nil {
			sch.Policy.Overlap, sch.Policy.CatchupWindow = so.Overlap, so.CatchupWindow
		}
		if sch.State != nil {
			sch.State.Paused = paused
		}
		return &client.ScheduleUpdate{Schedule: &sch}, nil
	}})
	if err != nil {
		return false, fmt.Errorf("update schedule %s: %w", so.ID, err)
	}
	return false, nil
}

// readinessScheduleOptions is an environment's readiness schedule: ReadinessWorkflow every
// interval, skipped while one still runs.
func readinessScheduleOptions(env string, every time.Duration, paused bool) client.ScheduleOptions {
	id := workflows.ReadinessScheduleID(env)
	spec := "every " + every.String()
	return client.ScheduleOptions{
		ID:   id,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID: id, Workflow: workflows.ReadinessWorkflowType, TaskQueue: workflows.TaskQueue,
			Args:                  []any{workflows.ReadinessInput{Environment: env}},
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAEnvironment.ValueSet(env), workflows.SATrigger.ValueSet("schedule")),
			StaticSummary:         "readiness of " + env,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: scheduleCatchup, Paused: paused,
		Note: fmt.Sprintf("Switchyard readiness of %s, %s", env, spec),
		Memo: map[string]any{memoKind: scheduleReadiness, memoRunbook: "readiness", memoEnvironment: env, memoSpec: spec},
	}
}

// evaluateReadiness runs one evaluation and waits for it: through the environment's schedule
// when it has one (Trigger, then the schedule's newest action), else as a workflow of its own.
func evaluateReadiness(ctx context.Context, c client.Client, env string, timeout time.Duration) (wire.ReadinessResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := c.ScheduleClient().GetHandle(ctx, workflows.ReadinessScheduleID(env))
	if d, err := h.Describe(ctx); err == nil {
		before := len(d.Info.RecentActions)
		var lastBefore time.Time
		if before > 0 {
			lastBefore = d.Info.RecentActions[before-1].ScheduleTime
		}
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE}); err != nil {
			return wire.ReadinessResult{}, fmt.Errorf("trigger %s: %w", h.GetID(), err)
		}
		for {
			d, err := h.Describe(ctx)
			if err != nil {
				return wire.ReadinessResult{}, fmt.Errorf("describe %s: %w", h.GetID(), err)
			}
			if n := len(d.Info.RecentActions); n > 0 && d.Info.RecentActions[n-1].ScheduleTime.After(lastBefore) {
				wr := d.Info.RecentActions[n-1].StartWorkflowResult
				var res wire.ReadinessResult
				if err := c.GetWorkflow(ctx, wr.WorkflowID, wr.FirstExecutionRunID).Get(ctx, &res); err != nil {
					return res, fmt.Errorf("readiness evaluation %s: %w", wr.WorkflowID, err)
				}
				return res, nil
			}
			select {
			case <-ctx.Done():
				return wire.ReadinessResult{}, fmt.Errorf("waiting for the triggered evaluation of %s: %w", env, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	} else if nf := (*serviceerror.NotFound)(nil); !errors.As(err, &nf) {
		return wire.ReadinessResult{}, fmt.Errorf("describe %s: %w", h.GetID(), err)
	}
	in := workflows.ReadinessInput{Environment: env}
	if prev, err := readiness.Latest(ctx, c, env); err == nil {
		in.Previous = prev
	}
	wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.ReadinessRunID(env, time.Now()), TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAEnvironment.ValueSet(env), workflows.SATrigger.ValueSet("cli")),
		StaticSummary:         "readiness of " + env + " (on demand)",
	}, workflows.ReadinessWorkflowType, in)
	if err != nil {
		return wire.ReadinessResult{}, fmt.Errorf("start readiness evaluation of %s: %w", env, err)
	}
	var res wire.ReadinessResult
	if err := wr.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("readiness evaluation %s: %w", wr.GetID(), err)
	}
	return res, nil
}

// printReadiness prints an evaluation: a table of checks, or the result as JSON.
func printReadiness(w io.Writer, o connFlags, res wire.ReadinessResult) error {
	return o.print(w, res, func(w io.Writer) {
		fmt.Fprintf(w, "readiness of %s: %s (evaluated %s)\n", res.Environment, res.State, res.EvaluatedAt.Local().Format(time.RFC3339))
		for _, c := range res.Checks {
			what := c.Detail
			switch c.State {
			case wire.ReadinessActionRequired:
				what = c.Action
			case wire.ReadinessUnknown:
				what = c.Reason
			}
			fmt.Fprintf(w, "  %-14s %-26s %-10s %s\n", c.State, c.Name, c.Region, what)
		}
		for _, ch := range res.Changes {
			fmt.Fprintf(w, "changed: %s %s -> %s\n", ch.Key, ch.From, ch.To)
		}
	})
}

// startLabReadiness puts the lab environment on its readiness schedule under `starter dev` and
// triggers a first evaluation, so the latest result exists from the start (the status page shows
// it). A failure is logged, not fatal: the dev environment works without it.
func startLabReadiness(ctx context.Context, c client.Client, logger *slog.Logger) {
	if _, err := ensureReadinessSchedule(ctx, c, "lab", defaultReadinessEvery, false); err != nil {
		logger.Warn("readiness schedule of the lab not created", "error", err)
		return
	}
	if err := c.ScheduleClient().GetHandle(ctx, workflows.ReadinessScheduleID("lab")).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		logger.Warn("first readiness evaluation of the lab not started", "error", err)
	}
}
