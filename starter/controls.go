package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Operators' controls of a running run (issue 17): starter pause|resume|retry|skip|abort|
// ungraceful ID. Each sends the workflow's control update, whose validator decides who may send
// what when (the same rules as for Slack and the Temporal UI's control signal); the CLI only
// builds the Control and prints what the run applied.

func runPause(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "pause")
}
func runResume(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "resume")
}
func runRetry(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "retry")
}
func runSkip(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "skip")
}
func runAbort(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "abort")
}
func runUngraceful(ctx context.Context, args []string, cio cmdIO) error {
	return sendControl(ctx, args, cio, "ungraceful")
}

// controlCommands are the control commands, for commands().
func controlCommands() map[string]command {
	return map[string]command{
		"pause":      {"pause a run between steps: pause ID --as USER --comment ...", runPause},
		"resume":     {"resume a paused run: resume ID --as USER --comment ...", runResume},
		"retry":      {"run a paused step again, or cut a retry backoff short: retry ID [--step S] --as USER --comment ... [--with k=v]", runRetry},
		"skip":       {"skip a paused step (result null): skip ID [--step S] --as USER --comment ...", runSkip},
		"abort":      {"fail a run now, with or without rollback: abort ID --as USER --comment ... [--rollback]", runAbort},
		"ungraceful": {"switch a run to ungraceful (no more calls into the source Region): ungraceful ID --as USER --comment ...", runUngraceful},
	}
}

// withFlag collects --with k=v; each value is read as a YAML scalar, so 5 is a number, true a
// bool and 30s a string, as they would be in a runbook's with:.
type withFlag map[string]any

func (w withFlag) String() string { return "" }

func (w withFlag) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return fmt.Errorf("want k=v, got %q", kv)
	}
	var val any
	if err := yaml.Unmarshal([]byte(v), &val); err != nil || val == nil {
		val = v
	}
	w[k] = val
	return nil
}

func sendControl(ctx context.Context, args []string, cio cmdIO, action string) error {
	fs := newFlags(action, cio)
	var o connFlags
	o.register(fs)
	step := fs.String("step", "", "the step the control is about (retry, skip: needed when several steps are paused)")
	as := fs.String("as", envOr(cio.getenv, "USER", ""), "who sends the control (an approver id)")
	comment := fs.String("comment", "", "why (required: the record of the override)")
	with := withFlag{}
	fs.Var(with, "with", "retry only: a with: value of the step to change, k=v (repeatable)")
	rollback := fs.Bool("rollback", false, "abort only: run the compensations of the steps done so far")
	useSignal := fs.Bool("signal", false, "send a signal instead of an update (works with no worker running; a refused control is recorded in the run's ignored list)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: starter %s ID [--step STEP] --as USER --comment TEXT", action)
	}
	if len(with) > 0 && action != workflows.ControlRetry {
		return fmt.Errorf("--with goes with retry only")
	}
	if *rollback && action != workflows.ControlAbort {
		return fmt.Errorf("--rollback goes with abort only")
	}
	c := workflows.Control{Action: action, Step: *step, By: *as, Comment: *comment, Rollback: *rollback, Source: "cli"}
	if len(with) > 0 {
		c.With = with
	}
	if strings.TrimSpace(c.Comment) == "" {
		return fmt.Errorf("starter %s needs --comment: why the runbook is overridden", action)
	}
	cl, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer cl.Close()
	if *useSignal {
		if err := cl.SignalWorkflow(ctx, pos[0], "", workflows.ControlSignal, c); err != nil {
			return fmt.Errorf("signal %s: %w", pos[0], err)
		}
		return o.print(cio.stdout, c, func(w io.Writer) {
			fmt.Fprintf(w, "sent %s by signal as %s (starter status %s shows whether it was applied)\n", action, c.By, pos[0])
		})
	}
	id := pos[0]
	if c.Step != "" {
		id = nestedRunOf(ctx, cl, id, c.Step)
	}
	applied, err := control(ctx, cl, id, c)
	if err != nil {
		return err
	}
	return o.print(cio.stdout, applied, func(w io.Writer) {
		if id != pos[0] {
			fmt.Fprintf(w, "step %s is in the nested run %s: sent there\n", c.Step, id)
		}
		printControl(w, applied)
	})
}

// nestedRunOf is the run a control about step should go to: id itself, unless id has no such
// step and one of its running nested runbooks (a drill's failover) is paused on it. The run
// decides whether the control is allowed; this only saves the operator from looking up the
// nested run's id.
func nestedRunOf(ctx context.Context, cl client.Client, id, step string) string {
	p, err := queryProgress(ctx, cl, id, "")
	if err != nil {
		return id
	}
	for _, st := range p.Steps {
		if st.ID == step || st.Path == step {
			return id
		}
	}
	for _, st := range p.Steps {
		if st.ChildID == "" || st.Status != workflows.StatusRunning || st.Kind != "runbook" {
			continue
		}
		if child := nestedRunOf(ctx, cl, st.ChildID, step); child != st.ChildID {
			return child
		}
		cp, err := queryProgress(ctx, cl, st.ChildID, "")
		if err != nil {
			continue
		}
		for _, cs := range cp.Steps {
			if (cs.ID == step || cs.Path == step) && cs.Status == workflows.StatusPaused {
				return st.ChildID
			}
		}
	}
	return id
}

// control sends c as the control update of run id and waits for what the run applied.
func control(ctx context.Context, cl client.Client, id string, c workflows.Control) (workflows.AppliedControl, error) {
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := cl.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   workflows.ControlUpdate,
		Args:         []any{c},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var applied workflows.AppliedControl
	if err == nil {
		err = h.Get(uctx, &applied)
	}
	if err != nil {
		what := c.Action
		if c.Step != "" {
			what += " of step " + c.Step
		}
		return applied, fmt.Errorf("%s refused by %s: %w", what, id, err)
	}
	return applied, nil
}

// printControls is status's account of a run's controls: a hold, the ungraceful switch and
// every control applied.
func printControls(w io.Writer, id string, p *workflows.Progress) {
	if h := p.Hold; h != nil {
		fmt.Fprintf(w, "  paused between steps by %s: %s (starter resume %s --as USER --comment ...)\n", h.By, h.Comment, id)
	}
	if p.Ungraceful {
		fmt.Fprintf(w, "  switched to ungraceful: no more calls into %s\n", p.SourceRegion)
	}
	for _, c := range p.Controls {
		fmt.Fprintf(w, "  control: %s by %s at %s: %s (%q)\n", c.Action, c.By, c.At.Local().Format("15:04:05"), c.Result, c.Comment)
	}
}

func printControl(w io.Writer, a workflows.AppliedControl) {
	fmt.Fprintf(w, "%s by %s: %s\n", a.Action, a.By, a.Result)
}

var _ flag.Value = withFlag{}
