package triggers

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Action is what the intake does with an alarm for one environment.
type Action string

// Actions.
const (
	// ActionStart starts the rule's runbook (the matcher's answer for auto and approve rules; the
	// intake turns it into attach or ignore when an operation runs or the cooldown holds).
	ActionStart Action = "start"
	// ActionAttach attaches the alarm to the DR operation already running on the environment.
	ActionAttach Action = "attach"
	// ActionNotify posts the alarm and the suggested runbook; nothing is started.
	ActionNotify Action = "notify"
	// ActionIgnore does nothing; Reason says why.
	ActionIgnore Action = "ignore"
)

// Decision is what happens to one alarm on one environment, and why.
type Decision struct {
	Action      Action         `json:"action"`
	Reason      string         `json:"reason"`
	Environment string         `json:"environment,omitempty"`
	Rule        string         `json:"rule,omitempty"`
	Runbook     string         `json:"runbook,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	Policy      string         `json:"policy,omitempty"`
	// Region is the alarm's Region as the rule reads it (the impaired one for failover rules).
	Region string `json:"region,omitempty"`
	Alarm  Alarm  `json:"alarm"`
	// WorkflowID and RunID name the run started or attached to.
	WorkflowID string `json:"workflow_id,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	// DecidedAt is when the intake decided.
	DecidedAt time.Time `json:"decided_at"`
}

// Trigger is the trigger recorded in the run's input and sent with the alarm signal.
func (d Decision) Trigger() workflows.Trigger {
	at := d.Alarm.At
	detail := fmt.Sprintf("%s is %s", d.Alarm.Name, d.Alarm.State)
	if d.Region != "" {
		detail += " in " + d.Region
	}
	if d.Rule != "" {
		detail += " (rule " + d.Rule + ")"
	}
	if d.Alarm.Reason != "" {
		detail += ": " + d.Alarm.Reason
	}
	return workflows.Trigger{Kind: "alarm", Alarm: d.Alarm.Name, Policy: d.Policy, Detail: detail, At: &at}
}

// RunInput is the input of the run the decision starts.
func (d Decision) RunInput() workflows.RunInput {
	return workflows.RunInput{
		Runbook: d.Runbook, Environment: d.Environment, Params: maps.Clone(d.Params), Mode: workflows.ModeExecute,
		RequestedBy: "alarm:" + d.Alarm.Name, Trigger: d.Trigger(),
	}
}

// Match decides, per environment, what an alarm state change calls for: the first rule of each
// environment whose alarm pattern and state match. It is pure: the intake adds what Temporal
// knows (a running operation, the cooldown). An alarm no rule names gives one ignore decision.
func (s *Set) Match(a Alarm) []Decision {
	var out []Decision
	for _, f := range s.Files {
		if d, ok := f.match(a); ok {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = append(out, Decision{Action: ActionIgnore, Alarm: a,
			Reason: fmt.Sprintf("no trigger rule names alarm %s", a.Name)})
	}
	return out
}

func (f *File) match(a Alarm) (Decision, bool) {
	var named []string
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.matches == nil || !r.matches(a) {
			continue
		}
		if r.State != a.State {
			named = append(named, r.Name+" ("+r.State+")")
			continue
		}
		return r.decide(f, a), true
	}
	if len(named) > 0 {
		return Decision{Action: ActionIgnore, Environment: f.Environment, Alarm: a,
			Reason: fmt.Sprintf("alarm %s is %s; the rules that name it act on other states: %s", a.Name, a.State, strings.Join(named, ", "))}, true
	}
	return Decision{}, false
}

func (r *Rule) decide(f *File, a Alarm) Decision {
	d := Decision{Environment: f.Environment, Rule: r.Name, Runbook: r.Runbook, Policy: r.Policy, Alarm: a}
	ignore := func(format string, args ...any) Decision {
		d.Action, d.Reason = ActionIgnore, fmt.Sprintf(format, args...)
		return d
	}
	if f.Env == nil {
		return ignore("environment %s is not loaded: rule %s cannot compute its params", f.Environment, r.Name)
	}
	region, err := r.region(f.Env, a)
	if err != nil && usesRegion(r.Params) {
		return ignore("rule %s: %v", r.Name, err)
	}
	d.Region = region
	peer := f.Env.Peer(region)
	if region != "" && peer == "" && usesRegion(r.Params) {
		return ignore("rule %s: alarm %s is in Region %s, which is not a Region of environment %s (%s, %s)",
			r.Name, a.Name, region, f.Environment, f.Env.Primary, f.Env.Secondary)
	}
	params, err := renderParams(r.Params, templateVars(a, f.Environment, region, peer))
	if err != nil {
		return ignore("rule %s: %v", r.Name, err)
	}
	if r.Policy == PolicyAuto {
		params[AutoApproveParam] = true
	}
	d.Params = params
	if r.Policy == PolicyNotify {
		d.Action = ActionNotify
		d.Reason = fmt.Sprintf("rule %s (notify): alarm %s is %s; suggested: %s", r.Name, a.Name, a.State, d.Suggestion())
		return d
	}
	d.Action = ActionStart
	d.Reason = fmt.Sprintf("rule %s (%s): alarm %s is %s", r.Name, r.Policy, a.Name, a.State)
	return d
}

// Suggestion is the CLI command that would run the decision's runbook.
func (d Decision) Suggestion() string {
	var b strings.Builder
	fmt.Fprintf(&b, "starter run %s --env %s", d.Runbook, d.Environment)
	for _, k := range sortedKeys(d.Params) {
		fmt.Fprintf(&b, " --param %s=%v", k, d.Params[k])
	}
	return b.String()
}

// region reads the alarm's Region the way the rule says.
func (r *Rule) region(env *runbook.Environment, a Alarm) (string, error) {
	switch {
	case r.RegionFrom == RegionFromEnvironment:
		for _, name := range slices.Sorted(maps.Keys(env.Regions)) {
			if slices.Contains(env.Regions[name].Alarms, a.Name) {
				return name, nil
			}
		}
		return "", fmt.Errorf("alarm %s is in no Region's alarms list of environment %s", a.Name, env.Name)
	case strings.HasPrefix(r.RegionFrom, regionFromDimension):
		dim := strings.TrimPrefix(r.RegionFrom, regionFromDimension)
		if v := a.Dimensions[dim]; v != "" {
			return v, nil
		}
		return "", fmt.Errorf("alarm %s has no dimension %s to read its Region from", a.Name, dim)
	default:
		if a.Region != "" {
			return a.Region, nil
		}
		return "", fmt.Errorf("alarm %s has no ARN or event Region to read its Region from", a.Name)
	}
}

// placeholderRe finds ${name} placeholders; ${{ ... }} is a runbook expression and left alone.
var placeholderRe = regexp.MustCompile(`\$\{([^{}]*)\}`)

var templateNames = []string{"region", "peer", "alarm", "alarm_arn", "account", "state", "environment"}

const dimensionPrefix = "dimension."

// checkTemplates reports placeholders that are not known names, in v and anything nested in it.
func checkTemplates(v any) []error {
	var errs []error
	walkStrings(v, func(s string) {
		for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
			name := strings.TrimSpace(m[1])
			if slices.Contains(templateNames, name) || (strings.HasPrefix(name, dimensionPrefix) && len(name) > len(dimensionPrefix)) {
				continue
			}
			errs = append(errs, fmt.Errorf("unknown placeholder %s: want one of ${%s} or ${dimension.<Name>}", m[0], strings.Join(templateNames, "}, ${")))
		}
	})
	return errs
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	}
}

func usesRegion(params map[string]any) bool {
	used := false
	for _, v := range params {
		walkStrings(v, func(s string) {
			for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
				if n := strings.TrimSpace(m[1]); n == "region" || n == "peer" {
					used = true
				}
			}
		})
	}
	return used
}

// templateVars are the values placeholders take for an alarm.
func templateVars(a Alarm, env, region, peer string) map[string]string {
	vars := map[string]string{
		"region": region, "peer": peer, "alarm": a.Name, "alarm_arn": a.ARN, "account": a.Account,
		"state": a.State, "environment": env,
	}
	for k, v := range a.Dimensions {
		vars[dimensionPrefix+k] = v
	}
	return vars
}

// renderParams substitutes placeholders in every string of params; a placeholder with no value
// is an error, since a runbook started with an empty target is worse than none.
func renderParams(params map[string]any, vars map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(params)+1)
	var errs []error
	for _, k := range sortedKeys(params) {
		v, err := render(params[k], vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("param %s: %w", k, err))
			continue
		}
		out[k] = v
	}
	return out, errors.Join(errs...)
}

func render(v any, vars map[string]string) (any, error) {
	switch t := v.(type) {
	case string:
		var missing []string
		s := placeholderRe.ReplaceAllStringFunc(t, func(m string) string {
			name := strings.TrimSpace(m[2 : len(m)-1])
			val, ok := vars[name]
			if !ok || val == "" {
				missing = append(missing, m)
			}
			return val
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s has no value for this alarm", strings.Join(missing, ", "))
		}
		return s, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := render(e, vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			r, err := render(e, vars)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}
