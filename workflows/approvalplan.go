package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// maxPlanSteps bounds the plan an approval shows: enough for failback's ten steps after its
// approval, short enough for one Slack message.
const maxPlanSteps = 15

// planRead is one state read a plan needs; steps that set the same state share it.
type planRead struct {
	name string // traffic.state or osi.pipeline_status
	args map[string]any
	fut  workflow.Future
	res  map[string]any
	err  error
}

// approvalPlan lists what approving step s lets happen: every step after it up to the next
// approval, each with what plan mode would say of it, and for the steps that set traffic or a
// pipeline's state, that state now — read with the catalog's own read-only entries, in the Region
// the step itself names (one rule: a step calls only the Region in its arguments) — and as the
// step leaves it. A read that fails says so in the plan; it never keeps the approval from asking.
func (r *run) approvalPlan(ctx workflow.Context, s *runbook.Step) []PlanStep {
	next := nextSteps(r.rb.Steps, s)
	plan := make([]PlanStep, 0, len(next))
	var reads []*planRead
	stepRead := make([]*planRead, len(next))
	byKey := map[string]*planRead{}
	for i, n := range next {
		ps := PlanStep{Step: n.path, What: what(n.s)}
		desired, read := r.planStep(n.s, &ps)
		plan = append(plan, ps)
		if read == nil {
			continue
		}
		plan[i].Desired = desired
		key := read.name + " " + formatArgs(read.args)
		if byKey[key] == nil {
			byKey[key] = read
			reads = append(reads, read)
		}
		stepRead[i] = byKey[key]
	}
	if len(reads) == 0 {
		return plan
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    20 * time.Second,
		ScheduleToCloseTimeout: 45 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 2},
		Summary:                "approval plan: read the state the next steps set",
	})
	for _, rd := range reads {
		rd.fut = workflow.ExecuteActivity(actx, rd.name, r.callArgs(rd.args))
	}
	for _, rd := range reads {
		rd.err = rd.fut.Get(ctx, &rd.res)
	}
	for i, rd := range stepRead {
		if rd == nil {
			continue
		}
		if rd.err != nil {
			plan[i].Current = "could not read: " + errorMessage(rd.err)
			continue
		}
		plan[i].Current = describeRead(rd.name, rd.res)
	}
	return plan
}

// planStep fills in what step s would do (ps.Summary) and, for a step that sets traffic or a
// pipeline's state, the desired state and the read that tells the current one.
func (r *run) planStep(s *runbook.Step, ps *PlanStep) (string, *planRead) {
	if s.If != "" {
		ok, err := runbook.EvalBool(s.If, r.scope)
		switch {
		case err != nil:
			ps.Summary = "runs if " + s.If
		case !ok:
			ps.Summary = "skipped: condition false (" + s.If + ")"
			return "", nil
		}
	}
	prefix := ps.Summary
	if prefix != "" {
		prefix += "; "
	}
	var with map[string]any
	switch s.Kind() {
	case runbook.KindAction, runbook.KindCheck:
		with = s.With
	case runbook.KindWaitUntil:
		ps.Summary = prefix + fmt.Sprintf("would wait up to %s until %s", catalog.ShortDuration(s.WaitUntil.Timeout.D()), s.WaitUntil.Check)
		return "", nil
	case runbook.KindRunbook:
		ps.Summary = prefix + "would run runbook " + s.Runbook
		return "", nil
	case runbook.KindWorkflow:
		ps.Summary = prefix + "would run workflow " + s.Workflow
		return "", nil
	case runbook.KindNotify:
		ps.Summary = prefix + "would post a message"
		return "", nil
	default:
		ps.Summary = prefix + "would run " + s.Kind()
		return "", nil
	}
	name := what(s)
	args, err := r.renderArgs(with)
	if err != nil {
		ps.Summary = prefix + "would run " + name + " (arguments known when it runs)"
		return "", nil
	}
	ps.Summary = prefix + "would run " + name + " with " + truncateText(formatArgs(args), 300)
	return r.desiredState(name, args)
}

// desiredState is the state a traffic or pipeline action leaves, and the catalog read of that
// state now, with the action's own Region, environment and ungraceful flag.
func (r *run) desiredState(name string, args map[string]any) (string, *planRead) {
	region, _ := args["region"].(string)
	env, _ := args["environment"].(string)
	if region == "" || env == "" {
		return "", nil
	}
	switch name {
	case "traffic.shift", "route53.set_weights":
		read := &planRead{name: "traffic.state", args: map[string]any{"environment": env, "region": region}}
		if u, _ := args["ungraceful"].(bool); u {
			read.args["ungraceful"] = true
		}
		if w, ok := args["weights"].(map[string]any); ok && len(w) > 0 {
			return "weights " + formatWeights(w), read
		}
		peer := r.scope.Peers[region]
		if admit, _ := args["admit"].(bool); admit {
			return region + " in (" + peer + " unchanged)", read
		}
		return region + " in, " + peer + " out", read
	case "osi.start_pipeline", "osi.stop_pipeline":
		read := &planRead{name: "osi.pipeline_status", args: map[string]any{"environment": env, "region": region}}
		if p, _ := args["pipeline"].(string); p != "" {
			read.args["pipeline"] = p
		}
		if name == "osi.start_pipeline" {
			return "pipeline in " + region + " ACTIVE", read
		}
		return "pipeline in " + region + " STOPPED", read
	}
	return "", nil
}

// describeRead renders a read's result as the current state: traffic by Region (and weights,
// with route53_weights), or a pipeline's status.
func describeRead(name string, res map[string]any) string {
	switch name {
	case "traffic.state":
		var parts []string
		if states, ok := res["states"].(map[string]any); ok {
			for _, k := range workflow.DeterministicKeys(states) {
				parts = append(parts, fmt.Sprintf("%s %v", k, states[k]))
			}
		}
		out := strings.Join(parts, ", ")
		if w, ok := res["weights"].(map[string]any); ok && len(w) > 0 {
			if out != "" {
				out += "; "
			}
			out += "weights " + formatWeights(w)
		}
		if lever, _ := res["lever"].(string); lever != "" {
			out += " (lever " + lever + ")"
		}
		if out == "" {
			out, _ = res["summary"].(string)
		}
		return out
	case "osi.pipeline_status":
		p, _ := res["pipeline"].(string)
		st, _ := res["status"].(string)
		if st == "" {
			st, _ = res["reason"].(string)
		}
		if p == "" {
			return "pipeline " + st
		}
		return "pipeline " + p + " " + st
	}
	return ""
}

func formatWeights(w map[string]any) string {
	parts := make([]string, 0, len(w))
	for _, k := range workflow.DeterministicKeys(w) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, w[k]))
	}
	return strings.Join(parts, " ")
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// plannedStep is a step with its path, in the order a run reaches it.
type plannedStep struct {
	path string
	s    *runbook.Step
}

// nextSteps returns the steps a run reaches after s, in document order, up to the next approval
// (which asks again) and at most maxPlanSteps; composite steps are listed through their children.
func nextSteps(steps []runbook.Step, s *runbook.Step) []plannedStep {
	var flat []plannedStep
	var walk func(prefix string, steps []runbook.Step)
	walk = func(prefix string, steps []runbook.Step) {
		for i := range steps {
			st := &steps[i]
			path := join(prefix, st.ID)
			if st.Parallel != nil || st.Steps != nil {
				walk(path, st.Parallel)
				walk(path, st.Steps)
				continue
			}
			flat = append(flat, plannedStep{path: path, s: st})
		}
	}
	walk("", steps)
	var out []plannedStep
	found := false
	for _, p := range flat {
		if !found {
			found = p.s == s
			continue
		}
		if p.s.Kind() == runbook.KindApproval || len(out) == maxPlanSteps {
			break
		}
		out = append(out, p)
	}
	return out
}
