package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Schedule kinds.
const (
	// scheduleDrill runs a runbook as a DR operation (a drill, the zonal rotation) under the
	// environment's lock, through workflows.ScheduledRunWorkflow.
	scheduleDrill = "drill"
	// schedulePlan runs runbooks in plan mode: their read-only pre-flight, reporting drift before
	// an incident needs the runbook.
	schedulePlan = "plan"
)

// Memo keys of Switchyard's schedules, so list can tell them from others and show what they run.
const (
	memoKind        = "switchyard"
	memoRunbook     = "runbook"
	memoEnvironment = "environment"
	memoSpec        = "spec"
)

// scheduleCatchup is how late a missed action may still run: a drill or an evaluation hours
// late, after a Temporal outage, is a surprise rather than a help.
const scheduleCatchup = 15 * time.Minute

const scheduleUsage = `usage:
  starter schedule create drill --env ENV [--runbook drill] (--cron EXPR | --every DUR) [--param k=v]... [--paused]
  starter schedule create plan  --env ENV [--runbook NAME]... (--cron EXPR | --every DUR) [--param [RUNBOOK:]k=v]...
  starter schedule list [--json]
  starter schedule trigger ID
  starter schedule delete ID [ID ...]`

// runSchedule manages Temporal Schedules of drills and plan evaluations.
func runSchedule(ctx context.Context, args []string, cio cmdIO) error {
	if len(args) == 0 {
		return errors.New(scheduleUsage)
	}
	switch args[0] {
	case "create":
		return runScheduleCreate(ctx, args[1:], cio)
	case "list":
		return runScheduleList(ctx, args[1:], cio)
	case "trigger":
		return runScheduleTrigger(ctx, args[1:], cio)
	case "delete":
		return runScheduleDelete(ctx, args[1:], cio)
	case "-h", "--help", "help":
		fmt.Fprintln(cio.stdout, scheduleUsage)
		return nil
	}
	return fmt.Errorf("schedule: unknown subcommand %q\n%s", args[0], scheduleUsage)
}

type scheduleCreateOptions struct {
	connFlags
	runbooksOptions
	env, cron, id, note, taskQueue string
	every, jitter                  time.Duration
	runbookNames, params           multiFlag
	paused                         bool
}

func runScheduleCreate(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("schedule create", cio)
	var o scheduleCreateOptions
	o.connFlags.register(fs)
	o.runbooksOptions.register(fs, cio, "runbook folder, to check runbooks and params locally")
	fs.StringVar(&o.env, "env", "", "environment (required)")
	fs.Var(&o.runbookNames, "runbook", "runbook to run (repeatable for plan; default: drill for drill, every DR runbook of --runbooks for plan)")
	fs.StringVar(&o.cron, "cron", "", `cron expression, e.g. "0 3 * * MON" (UTC; prefix CRON_TZ=Europe/Paris for a zone)`)
	fs.DurationVar(&o.every, "every", 0, "run at this interval, e.g. 24h")
	fs.DurationVar(&o.jitter, "jitter", 0, "random delay added to each run")
	fs.Var(&o.params, "param", "runbook parameter k=v, or RUNBOOK:k=v for one runbook of a plan schedule (repeatable)")
	fs.StringVar(&o.id, "id", "", "schedule id (default switchyard/ENV/KIND/RUNBOOK)")
	fs.StringVar(&o.note, "note", "", "note shown with the schedule")
	fs.BoolVar(&o.paused, "paused", false, "create the schedule paused")
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "task queue of the scheduled workflow")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != scheduleDrill && pos[0] != schedulePlan) {
		return errors.New(scheduleUsage)
	}
	kind := pos[0]
	if o.env == "" {
		return errors.New("schedule create: --env is required")
	}
	if (o.cron == "") == (o.every <= 0) {
		return errors.New("schedule create: give exactly one of --cron and --every")
	}
	names, err := scheduleRunbooks(kind, o.runbookNames, o.runbooks)
	if err != nil {
		return err
	}
	if o.id != "" && len(names) > 1 {
		return errors.New("schedule create: --id names one schedule; give one --runbook")
	}
	spec, specText := client.ScheduleSpec{Jitter: o.jitter}, ""
	if o.cron != "" {
		spec.CronExpressions, specText = []string{o.cron}, "cron "+o.cron
	} else {
		spec.Intervals, specText = []client.ScheduleIntervalSpec{{Every: o.every}}, "every "+o.every.String()
	}
	var opts []client.ScheduleOptions
	var errs []error
	for _, name := range names {
		so, err := scheduleOptions(kind, name, o, spec, specText)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		opts = append(opts, so)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	var created []map[string]any
	for _, so := range opts {
		h, err := c.ScheduleClient().Create(ctx, so)
		if err != nil {
			return fmt.Errorf("create schedule %s: %w", so.ID, err)
		}
		row := map[string]any{"schedule_id": h.GetID(), "kind": kind, "runbook": so.Memo[memoRunbook], "environment": o.env, "spec": specText}
		if d, err := h.Describe(ctx); err == nil && len(d.Info.NextActionTimes) > 0 {
			row["next"] = d.Info.NextActionTimes[0]
		}
		created = append(created, row)
	}
	return o.print(cio.stdout, created, func(w io.Writer) {
		for _, r := range created {
			next := ""
			if t, ok := r["next"].(time.Time); ok {
				next = ", next " + t.Local().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "created schedule %s: %s %s on %s, %s%s\n", r["schedule_id"], kind, r["runbook"], o.env, specText, next)
		}
	})
}

// scheduleRunbooks picks the runbooks: the ones named, or the defaults of the kind.
func scheduleRunbooks(kind string, named []string, dir string) ([]string, error) {
	if kind == scheduleDrill {
		switch len(named) {
		case 0:
			return []string{"drill"}, nil
		case 1:
			return named, nil
		}
		return nil, errors.New("schedule create drill: one --runbook per drill schedule")
	}
	if len(named) > 0 {
		return named, nil
	}
	// Every DR operation of the folder: their pre-flights are what must be green when needed.
	files, err := runbook.YAMLFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("schedule create plan: %w", err)
	}
	local := loadLocal(dir)
	var out []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if rb := local.runbook(name); rb != nil && rb.Exclusive() {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schedule create plan: no DR runbooks found in %s; name them with --runbook", dir)
	}
	sort.Strings(out)
	return out, nil
}

// scheduleOptions builds one schedule. Params are typed and checked against the local runbook
// when the folder has it, so a schedule that would fail every time is refused now.
func scheduleOptions(kind, name string, o scheduleCreateOptions, spec client.ScheduleSpec, specText string) (client.ScheduleOptions, error) {
	local := loadLocal(o.runbooks)
	rb := local.runbook(name)
	if rb == nil {
		if _, err := os.Stat(filepath.Join(o.runbooks, name+".yaml")); err == nil {
			return client.ScheduleOptions{}, fmt.Errorf("runbook %s in %s does not validate; run `starter validate`", name, o.runbooks)
		}
	}
	var kvs []string
	for _, p := range o.params {
		k, v, _ := strings.Cut(p, "=")
		if scope, key, scoped := strings.Cut(k, ":"); scoped {
			if scope == name {
				kvs = append(kvs, key+"="+v)
			}
			continue
		}
		if kind == schedulePlan && rb != nil && !slices.ContainsFunc(rb.Params, func(p runbook.Param) bool { return p.Name == k }) {
			continue // a shared param this runbook does not take
		}
		kvs = append(kvs, p)
	}
	params, err := parseParams(kvs, rb)
	if err != nil {
		return client.ScheduleOptions{}, fmt.Errorf("runbook %s: %w", name, err)
	}
	if rb != nil {
		if _, err := rb.BindParamsIn(params, local.environment(o.env)); err != nil {
			return client.ScheduleOptions{}, fmt.Errorf("runbook %s: %w (give it with --param %s:KEY=VALUE)", name, err, name)
		}
	}
	// What else every firing would fail on (an unknown runbook or environment, a broken file),
	// decided as the run's load decides.
	if err := local.prepare(name, o.env, params); err != nil {
		return client.ScheduleOptions{}, fmt.Errorf("runbook %s: %w", name, err)
	}
	id := o.id
	if id == "" {
		id = fmt.Sprintf("%s%s/%s/%s", workflows.OperationIDPrefix, o.env, kind, name)
	}
	in := workflows.RunInput{
		Runbook: name, Environment: o.env, Params: params, Mode: workflows.ModeExecute,
		RequestedBy: "schedule:" + id, Trigger: workflows.Trigger{Kind: "schedule", Detail: id},
	}
	action := &client.ScheduleWorkflowAction{Args: []any{in}, TaskQueue: o.taskQueue}
	if kind == scheduleDrill {
		// The launcher takes the lock id itself (schedules append the fire time to the ids they
		// start); it is filterable by environment and trigger, not by runbook, so that a UI
		// filter on Runbook shows the runs themselves.
		action.ID = fmt.Sprintf("%s%s/scheduled/%s", workflows.OperationIDPrefix, o.env, name)
		action.Workflow = workflows.ScheduledRunWorkflowType
		action.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.SAEnvironment.ValueSet(o.env), workflows.SATrigger.ValueSet("schedule"))
		action.StaticSummary = fmt.Sprintf("scheduled %s on %s (%s)", name, o.env, id)
	} else {
		in.Mode = workflows.ModePlan
		action.Args = []any{in}
		// Plans take no lock, so they run beside an operation; the schedule appends the fire time.
		action.ID = fmt.Sprintf("%s%s/plan/%s", workflows.OperationIDPrefix, o.env, name)
		action.Workflow = workflows.RunbookWorkflowType
		action.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.SARunbook.ValueSet(name),
			workflows.SAEnvironment.ValueSet(o.env), workflows.SATrigger.ValueSet("schedule"))
		action.StaticSummary = fmt.Sprintf("%s on %s (plan) by %s", name, o.env, id)
	}
	note := o.note
	if note == "" {
		note = fmt.Sprintf("Switchyard %s of %s on %s, %s", kind, name, o.env, specText)
	}
	return client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: scheduleCatchup, Paused: o.paused, Note: note,
		Memo: map[string]any{memoKind: kind, memoRunbook: name, memoEnvironment: o.env, memoSpec: specText},
	}, nil
}

// scheduleRow is one schedule as list prints it.
type scheduleRow struct {
	ID          string      `json:"schedule_id"`
	Kind        string      `json:"kind"`
	Runbook     string      `json:"runbook"`
	Environment string      `json:"environment"`
	Spec        string      `json:"spec"`
	Paused      bool        `json:"paused"`
	Next        *time.Time  `json:"next,omitempty"`
	Recent      []recentRun `json:"recent,omitempty"`
}

type recentRun struct {
	At         time.Time `json:"at"`
	WorkflowID string    `json:"workflow_id"`
}

func runScheduleList(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("schedule list", cio)
	var o connFlags
	o.register(fs)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	rows, err := listSchedules(ctx, c)
	if err != nil {
		return err
	}
	return o.print(cio.stdout, rows, func(w io.Writer) {
		if len(rows) == 0 {
			fmt.Fprintln(w, "no Switchyard schedules")
		}
		for _, r := range rows {
			next := "-"
			if r.Next != nil {
				next = r.Next.Local().Format(time.RFC3339)
			}
			paused := ""
			if r.Paused {
				paused = " (paused)"
			}
			fmt.Fprintf(w, "%-44s %-5s %-16s %-10s %-16s next %s%s\n", r.ID, r.Kind, r.Runbook, r.Environment, r.Spec, next, paused)
		}
	})
}

// listSchedules lists Switchyard's schedules (those with its memo). Listing goes through
// visibility, so a schedule just created may take a moment to appear.
func listSchedules(ctx context.Context, c client.Client) ([]scheduleRow, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	rows := []scheduleRow{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		kind := memoString(e.Memo, memoKind)
		if kind == "" {
			continue
		}
		r := scheduleRow{ID: e.ID, Kind: kind, Runbook: memoString(e.Memo, memoRunbook), Environment: memoString(e.Memo, memoEnvironment),
			Spec: memoString(e.Memo, memoSpec), Paused: e.Paused}
		if len(e.NextActionTimes) > 0 {
			r.Next = &e.NextActionTimes[0]
		}
		for _, a := range e.RecentActions {
			if a.StartWorkflowResult != nil {
				r.Recent = append(r.Recent, recentRun{At: a.ActualTime, WorkflowID: a.StartWorkflowResult.WorkflowID})
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows, nil
}

func memoString(m *commonpb.Memo, key string) string {
	p, ok := m.GetFields()[key]
	if !ok {
		return ""
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return ""
	}
	return s
}

func runScheduleTrigger(ctx context.Context, args []string, cio cmdIO) error {
	c, id, _, err := oneID(ctx, "schedule trigger", "schedule trigger ID", args, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return fmt.Errorf("trigger schedule %s: %w", id, err)
	}
	fmt.Fprintf(cio.stdout, "triggered schedule %s; see its runs with `starter schedule list`\n", id)
	return nil
}

func runScheduleDelete(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("schedule delete", cio)
	var o connFlags
	o.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("usage: starter schedule delete ID [ID ...]")
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	var errs []error
	for _, id := range pos {
		if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
			errs = append(errs, fmt.Errorf("delete schedule %s: %w", id, err))
			continue
		}
		fmt.Fprintf(cio.stdout, "deleted schedule %s\n", id)
	}
	return errors.Join(errs...)
}
