package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

type runOptions struct {
	connFlags
	runbooksOptions
	env         string
	params      multiFlag
	mode        string
	follow      bool
	requestedBy string
	id          string
}

func runRun(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("run", cio)
	var o runOptions
	o.connFlags.register(fs)
	o.runbooksOptions.register(fs, cio, "the workers' runbook folder, when present: the run is checked against it before it starts (empty: the worker checks)")
	fs.StringVar(&o.env, "env", "", "environment name (required)")
	fs.Var(&o.params, "param", "runbook parameter k=v (repeatable)")
	fs.StringVar(&o.mode, "mode", string(workflows.ModeExecute), "execute or plan (a dry run of read-only checks)")
	fs.BoolVar(&o.follow, "follow", false, "show live step progress until the run ends")
	fs.StringVar(&o.requestedBy, "as", envOr(cio.getenv, "USER", "cli"), "who requests the run")
	fs.StringVar(&o.id, "id", "", "workflow id (default: switchyard/ENV for DR operations, a unique id for plans)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: starter run RUNBOOK --env ENV [--param k=v]... [--mode plan] [--follow]")
	}
	if o.env == "" {
		return errors.New("--env is required")
	}
	in := workflows.RunInput{
		Runbook: pos[0], Environment: o.env, Mode: workflows.Mode(o.mode), RequestedBy: o.requestedBy,
		Trigger: workflows.Trigger{Kind: "cli"},
	}
	local := loadLocal(o.runbooks)
	rb := local.runbook(pos[0])
	if in.Params, err = parseParams(o.params, rb); err != nil {
		return err
	}
	if err := local.prepare(in.Runbook, in.Environment, in.Params); err != nil {
		return err
	}
	id := o.id
	if id == "" {
		id = workflowID(in, rb, time.Now())
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()

	wr, err := c.ExecuteWorkflow(ctx, startOptions(id, in), workflows.RunbookWorkflowType, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return alreadyRunning(ctx, c, id, in.Environment)
		}
		return fmt.Errorf("start %s: %w", in.Runbook, err)
	}
	if !o.follow {
		return o.print(cio.stdout, map[string]string{"workflow_id": wr.GetID(), "run_id": wr.GetRunID()}, func(w io.Writer) {
			fmt.Fprintf(w, "started %s on %s: workflow %s run %s\nfollow it with: starter status %s --follow\n",
				in.Runbook, in.Environment, wr.GetID(), wr.GetRunID(), wr.GetID())
		})
	}
	return follow(ctx, c, wr.GetID(), wr.GetRunID(), o.json, cio.stdout)
}

// startOptions are how every run starts: a running id is never reused (the DR lock), a closed
// one may be, and the search attributes make runs filterable in the UI from the first moment.
func startOptions(id string, in workflows.RunInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// Used only when this process also runs a worker for the task queue (dev, demo, bench):
		// the first workflow task then comes back with the start response.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SARunbook.ValueSet(in.Runbook), workflows.SAEnvironment.ValueSet(in.Environment),
			workflows.SATrigger.ValueSet(in.Trigger.Kind)),
		StaticSummary: fmt.Sprintf("%s on %s (%s) by %s", in.Runbook, in.Environment, in.Mode, in.RequestedBy),
	}
}

// workflowID picks the id: the environment's lock id for DR operations, a unique id otherwise.
func workflowID(in workflows.RunInput, rb *runbook.Runbook, now time.Time) string {
	exclusive := rb == nil || rb.Exclusive()
	if in.Mode == workflows.ModeExecute && exclusive {
		return workflows.OperationID(in.Environment)
	}
	return workflows.ReadOnlyRunID(in.Environment, in.Runbook, now.UTC().Format("20060102T150405.000Z"))
}

// parseParams turns k=v flags into typed values: by the runbook's declared types when known,
// otherwise numbers and booleans are recognised and everything else is a string. A value that is
// not of its declared type stays a string: whether it fits is runbook.Prepare's decision, which
// then refuses it with the message a run would fail with.
func parseParams(kvs []string, rb *runbook.Runbook) (map[string]any, error) {
	out := map[string]any{}
	types := map[string]runbook.ParamType{}
	if rb != nil {
		for _, p := range rb.Params {
			types[p.Name] = p.Type
		}
	}
	var errs []error
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("--param %q: want key=value", kv))
			continue
		}
		out[k] = v
		switch types[k] {
		case runbook.TypeString, runbook.TypeRegion, runbook.TypeDuration:
		case runbook.TypeInt:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			}
		case runbook.TypeBool:
			if b, err := strconv.ParseBool(v); err == nil {
				out[k] = b
			}
		default:
			if b, err := strconv.ParseBool(v); err == nil {
				out[k] = b
			} else if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out, errors.Join(errs...)
}

// alreadyRunning explains the interlock: which operation holds the environment and how to proceed.
func alreadyRunning(ctx context.Context, c client.Client, id, env string) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("environment %s already has a DR operation running (workflow %s)", env, id)
	}
	info := desc.GetWorkflowExecutionInfo()
	what := ""
	if sa := info.GetSearchAttributes().GetIndexedFields(); sa != nil {
		if p, ok := sa[workflows.SARunbook.GetName()]; ok {
			var rb string
			if json.Unmarshal(p.GetData(), &rb) == nil && rb != "" {
				what = " (" + rb + ")"
			}
		}
	}
	return fmt.Errorf("environment %s already has a DR operation running%s: workflow %s run %s, started %s; "+
		"only one operation per environment may run. Follow it with `starter status %s --follow`, or cancel it with `starter cancel %s`",
		env, what, id, info.GetExecution().GetRunId(), info.GetStartTime().AsTime().Format(time.RFC3339), id, id)
}

// follow prints step transitions until the run closes, then its final report.
func follow(ctx context.Context, c client.Client, id, runID string, asJSON bool, w io.Writer) error {
	seen := map[string]workflows.StepStatus{}
	done := make(chan struct{})
	var res *workflows.Result
	var runErr error
	go func() {
		defer close(done)
		res, runErr = result(ctx, c, id, runID)
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			if res != nil && !asJSON {
				printTransitions(w, res.Steps, seen)
			}
			return report(w, res, runErr, asJSON)
		case <-tick.C:
			if asJSON {
				continue
			}
			p, err := queryProgress(ctx, c, id, runID)
			if err == nil {
				printTransitions(w, p.Steps, seen)
			}
		}
	}
}

func printTransitions(w io.Writer, steps []workflows.StepState, seen map[string]workflows.StepStatus) {
	for _, s := range steps {
		if seen[s.Path] == s.Status || s.Status == workflows.StatusPending {
			continue
		}
		seen[s.Path] = s.Status
		line := fmt.Sprintf("%s  %-16s %s", stamp(s), s.Status, s.Path)
		if s.What != "" {
			line += " (" + s.What + ")"
		}
		if s.Error != "" {
			line += ": " + s.Error
		} else if s.Summary != "" {
			line += ": " + s.Summary
		}
		fmt.Fprintln(w, line)
	}
}

func stamp(s workflows.StepState) string {
	t := s.StartedAt
	if s.EndedAt != nil {
		t = s.EndedAt
	}
	if t == nil {
		return "        "
	}
	return t.Local().Format("15:04:05")
}

// queryTimeout covers a workflow task held by local activities (short calls that retry in the
// worker): the SDK heartbeats such a task at about 8 s, and queries are answered then.
const queryTimeout = 15 * time.Second

func queryProgress(ctx context.Context, c client.Client, id, runID string) (*workflows.Progress, error) {
	qctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := c.QueryWorkflow(qctx, id, runID, workflows.ProgressQuery)
	if err != nil {
		return nil, err
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		return nil, fmt.Errorf("decode progress: %w", err)
	}
	return &p, nil
}

// result waits for a run to close and returns its report, which failed runs carry in their
// failure's details.
func result(ctx context.Context, c client.Client, id, runID string) (*workflows.Result, error) {
	var res workflows.Result
	err := c.GetWorkflow(ctx, id, runID).Get(ctx, &res)
	if err == nil {
		return &res, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var failed workflows.Result
		if derr := appErr.Details(&failed); derr == nil {
			return &failed, err
		}
	}
	// A canceled or terminated run returns no result; its last progress is what there is to
	// report (a query on a closed run replays its history in a worker).
	if p, qerr := queryProgress(ctx, c, id, runID); qerr == nil {
		return &workflows.Result{Progress: *p}, err
	}
	return nil, err
}

func report(w io.Writer, res *workflows.Result, runErr error, asJSON bool) error {
	if asJSON {
		var err error
		if res == nil {
			err = writeJSON(w, map[string]string{"outcome": workflows.OutcomeFailed, "error": runErr.Error()})
		} else {
			err = writeJSON(w, res)
		}
		if err == nil && runErr != nil {
			return exitError(1) // the JSON already says why; the exit code tells scripts it failed
		}
		return err
	}
	if res == nil {
		return fmt.Errorf("run failed: %w", runErr)
	}
	dur := ""
	if res.EndedAt != nil {
		dur = " in " + res.EndedAt.Sub(res.StartedAt).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "\n%s on %s: %s%s (runbook sha256 %s)\n", res.Runbook, res.Environment, res.Outcome, dur, short(res.SHA256))
	for _, warning := range res.Warnings {
		fmt.Fprintln(w, warning)
	}
	if res.Error != "" {
		fmt.Fprintf(w, "error: %s\n", res.Error)
	}
	if runErr != nil {
		return exitError(1)
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func runStatus(ctx context.Context, args []string, cio cmdIO) error {
	fs := newFlags("status", cio)
	var o connFlags
	o.register(fs)
	followFlag := fs.Bool("follow", false, "follow the run until it ends")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	if len(pos) == 0 {
		return listRuns(ctx, c, o.outputOptions, cio.stdout)
	}
	id := pos[0]
	if *followFlag {
		return follow(ctx, c, id, "", o.json, cio.stdout)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("describe %s: %w", id, err)
	}
	if desc.GetWorkflowExecutionInfo().GetType().GetName() == workflows.BackfillVerificationType {
		running := desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		return statusBackfill(ctx, c, id, running, o.json, cio.stdout)
	}
	var p *workflows.Progress
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if p, err = queryProgress(ctx, c, id, ""); err != nil {
			return fmt.Errorf("query progress of %s (is a worker running?): %w", id, err)
		}
	} else {
		res, rerr := result(ctx, c, id, "")
		if res == nil {
			return fmt.Errorf("run %s: %w", id, rerr)
		}
		p = &res.Progress
	}
	return o.print(cio.stdout, p, func(w io.Writer) {
		printProgress(w, id, p)
		printInFlight(w, desc.GetPendingActivities())
	})
}

// printInFlight shows what the run's scheduled activities are doing now, from the server: a
// wait's last reason ("MessageLag 42") and a retrying call's attempt and last error are what an
// operator asks when a step seems stuck, and the progress query cannot know them.
func printInFlight(w io.Writer, pending []*workflowpb.PendingActivityInfo) {
	for _, pa := range pending {
		line := fmt.Sprintf("  in flight: %s, attempt %d", pa.GetActivityType().GetName(), pa.GetAttempt())
		if hb := pa.GetHeartbeatDetails(); hb != nil {
			var reason string
			if err := converter.GetDefaultDataConverter().FromPayloads(hb, &reason); err == nil && reason != "" {
				line += ", last said: " + reason
			}
		}
		if f := pa.GetLastFailure(); f != nil {
			line += ", last error: " + f.GetMessage()
		}
		fmt.Fprintln(w, line)
	}
}

func printProgress(w io.Writer, id string, p *workflows.Progress) {
	fmt.Fprintf(w, "%s: %s on %s (%s), %s, requested by %s via %s\n", id, p.Runbook, p.Environment, p.Mode, p.Outcome, p.RequestedBy, p.Trigger.Kind)
	for _, warning := range p.Warnings {
		fmt.Fprintf(w, "  %s\n", warning)
	}
	for _, s := range p.Steps {
		depth := strings.Count(s.Path, "/")
		detail := s.Summary
		if s.Error != "" {
			detail = s.Error
		}
		if s.Approval != nil && s.Status == workflows.StatusWaiting {
			detail = fmt.Sprintf("waiting for %d approval(s) until %s: %s", s.Approval.Quorum, s.Approval.Deadline.Local().Format("15:04:05"), s.Approval.Message)
		}
		if s.Pause != nil && s.Status == workflows.StatusPaused {
			detail = fmt.Sprintf("failed: %s; decide: starter %s %s --step %s --as USER --comment ...", s.Error, strings.Join(s.Pause.Controls, "|"), id, s.ID)
		}
		fmt.Fprintf(w, "  %s%-18s %-16s %s\n", strings.Repeat("  ", depth), s.ID, s.Status, detail)
		if s.Approval != nil && s.Status == workflows.StatusWaiting {
			printPlan(w, strings.Repeat("  ", depth+2), s.Approval)
		}
	}
	printControls(w, id, p)
	for _, ig := range p.Ignored {
		fmt.Fprintf(w, "  ignored: %s\n", ig)
	}
	if p.Error != "" {
		fmt.Fprintf(w, "error: %s\n", p.Error)
	}
	if p.Unprotected != "" {
		fmt.Fprintf(w, "not re-protected: %s\n", p.Unprotected)
	}
}

// printPlan prints what approving a waiting step lets happen: each next step, and the state it
// sets as read just before asking beside the state it leaves.
func printPlan(w io.Writer, indent string, a *workflows.ApprovalState) {
	if len(a.Plan) == 0 {
		return
	}
	read := ""
	if a.PlanReadAt != nil {
		read = " (state read " + a.PlanReadAt.Local().Format("15:04:05") + ")"
	}
	fmt.Fprintf(w, "%sapproving lets happen%s:\n", indent, read)
	for _, p := range a.Plan {
		fmt.Fprintf(w, "%s  %s: %s\n", indent, p.Step, p.Summary)
		if p.Current != "" || p.Desired != "" {
			fmt.Fprintf(w, "%s    now: %s -> after: %s\n", indent, p.Current, p.Desired)
		}
	}
}

func listRuns(ctx context.Context, c client.Client, out outputOptions, w io.Writer) error {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("WorkflowType = '%s'", workflows.RunbookWorkflowType),
		PageSize: 20,
	})
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	type row struct {
		ID      string    `json:"workflow_id"`
		RunID   string    `json:"run_id"`
		Status  string    `json:"status"`
		Started time.Time `json:"started"`
	}
	var rows []row
	for _, e := range resp.GetExecutions() {
		rows = append(rows, row{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
			Status: strings.ToLower(e.GetStatus().String()), Started: e.GetStartTime().AsTime()})
	}
	return out.print(w, rows, func(w io.Writer) {
		if len(rows) == 0 {
			fmt.Fprintln(w, "no runs yet")
		}
		for _, r := range rows {
			fmt.Fprintf(w, "%-40s %-12s %s\n", r.ID, r.Status, r.Started.Local().Format(time.RFC3339))
		}
	})
}

func runApprove(ctx context.Context, args []string, cio cmdIO) error {
	return decide(ctx, args, cio, true)
}
func runReject(ctx context.Context, args []string, cio cmdIO) error {
	return decide(ctx, args, cio, false)
}

func decide(ctx context.Context, args []string, cio cmdIO, approve bool) error {
	name := map[bool]string{true: "approve", false: "reject"}[approve]
	fs := newFlags(name, cio)
	var o connFlags
	o.register(fs)
	step := fs.String("step", "", "the approval step's id (required)")
	as := fs.String("as", envOr(cio.getenv, "USER", ""), "who decides (an approver id)")
	comment := fs.String("comment", "", "comment; required to reject")
	useSignal := fs.Bool("signal", false, "send a signal instead of an update (works with no worker running; recorded when a worker returns)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *step == "" {
		return fmt.Errorf("usage: starter %s ID --step STEP --as USER [--comment ...]", name)
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	d := workflows.Decision{Step: *step, Approve: approve, By: *as, Comment: *comment, Source: "cli"}
	if *useSignal {
		if err := c.SignalWorkflow(ctx, pos[0], "", workflows.ApproveSignal, d); err != nil {
			return fmt.Errorf("signal %s: %w", pos[0], err)
		}
		fmt.Fprintf(cio.stdout, "sent %s of step %s as %s by signal\n", name, *step, *as)
		return nil
	}
	uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: pos[0],
		// The id makes a repeated command idempotent on the server.
		UpdateID:     fmt.Sprintf("cli/%s/%s/%t", *step, *as, approve),
		UpdateName:   workflows.ApproveUpdate,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return fmt.Errorf("%s step %s of %s: %w", name, *step, pos[0], err)
	}
	var st workflows.ApprovalState
	if err := h.Get(uctx, &st); err != nil {
		return fmt.Errorf("%s step %s of %s: %w", name, *step, pos[0], err)
	}
	return o.print(cio.stdout, st, func(w io.Writer) {
		fmt.Fprintf(w, "step %s: %s (%d vote(s), quorum %d)\n", st.Step, st.Status, len(st.Votes), st.Quorum)
	})
}

// oneID parses the flags of a command that takes exactly one id and connects to Temporal; the
// caller closes the client.
func oneID(ctx context.Context, name, usage string, args []string, cio cmdIO) (client.Client, string, connFlags, error) {
	fs := newFlags(name, cio)
	var o connFlags
	o.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, "", o, err
	}
	if len(pos) != 1 {
		return nil, "", o, errors.New("usage: starter " + usage)
	}
	c, err := o.dial(ctx, cio)
	if err != nil {
		return nil, "", o, err
	}
	return c, pos[0], o, nil
}

func runCancel(ctx context.Context, args []string, cio cmdIO) error {
	c, id, _, err := oneID(ctx, "cancel", "cancel ID", args, cio)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.CancelWorkflow(ctx, id, ""); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	fmt.Fprintf(cio.stdout, "cancellation requested for %s\n", id)
	return nil
}
