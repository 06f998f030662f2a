package runbook

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// Checks that depend on argument values which are often params: a step's timeout must cover the
// run-time bound of its entry (a soak's duration, a wait's timeout), and a window for writes
// steered by DNS should outlast the record's TTL. The loader makes them with the params' defaults
// (and every environment of the folder), each run's start with the values it was given.

// resolvedArg is an argument value as far as it can be known before the run: a literal, or the
// value of a param when the argument is exactly ${{ params.x }}.
type resolvedArg struct {
	val   any
	known bool
	param string // the param it came from, if any
}

// resolveArg resolves v against params (name -> value: the defaults at load, the bound values at
// run start).
func resolveArg(v any, params map[string]any) resolvedArg {
	s, ok := v.(string)
	if !ok || !strings.Contains(s, "${{") {
		return resolvedArg{val: v, known: !hasExpr(v)}
	}
	pieces, whole, err := splitTemplate(s)
	if err != nil || !whole {
		return resolvedArg{}
	}
	name, ok := paramRef(pieces[0].text)
	if !ok {
		return resolvedArg{}
	}
	pv, ok := params[name]
	if !ok || pv == nil {
		return resolvedArg{param: name}
	}
	return resolvedArg{val: pv, known: true, param: name}
}

// knownArgs is with as far as it is known. An unknown value stays in the map as an expression,
// which is neither a duration nor absent, so catalog.RunBound neither reads it nor takes the
// entry's default for it.
func knownArgs(with map[string]any, params map[string]any) (map[string]any, map[string]resolvedArg) {
	args := map[string]any{}
	res := map[string]resolvedArg{}
	for k, v := range with {
		r := resolveArg(v, params)
		res[k] = r
		if r.known {
			args[k] = r.val
		} else {
			args[k] = "${{ unknown }}" // neither a duration nor absent: RunBound skips it
		}
	}
	return args, res
}

// describeArg names where an argument's value came from, for messages: "duration 5m",
// "duration 5m (params.soak)", "timeout 5m (the default)".
func describeArg(name string, d time.Duration, res map[string]resolvedArg, source string) string {
	r, given := res[name]
	switch {
	case !given:
		return fmt.Sprintf("%s %s (the entry's default)", name, catalog.ShortDuration(d))
	case r.param != "":
		return fmt.Sprintf("%s %s (params.%s%s)", name, catalog.ShortDuration(d), r.param, source)
	}
	return fmt.Sprintf("%s %s", name, catalog.ShortDuration(d))
}

// paramDefaults maps each declared param to its default, the values the loader checks with.
func paramDefaults(params []Param) map[string]any {
	out := map[string]any{}
	for _, p := range params {
		if p.Default != nil {
			out[p.Name] = p.Default
		}
	}
	return out
}

// timeoutProblem says why the step's explicit timeout cannot cover its entry's run-time bound
// with these argument values, or "" when it can or cannot be known.
func timeoutProblem(s *Step, spec catalog.Spec, params map[string]any, source string) string {
	if s.Timeout <= 0 {
		return ""
	}
	args, res := knownArgs(s.With, params)
	bound, from := catalog.RunBound(spec.Bounds(), args)
	if bound <= 0 {
		return ""
	}
	name := strings.TrimSuffix(from, " (default)")
	return catalog.BoundProblem(s.Timeout.D(), bound, describeArg(name, bound, res, source))
}

// dnsWindowProblems lists the DNS-window arguments of a step (owner holds with) that are shorter
// than env's record TTL allows, with where each is written.
func dnsWindowProblems(owner any, with map[string]any, spec catalog.Spec, pos posTable, env *Environment, params map[string]any, source string) []*Error {
	if env == nil || env.Traffic == nil || env.Traffic.TTL <= 0 {
		return nil
	}
	ttl := time.Duration(env.Traffic.TTL) * time.Second
	need := catalog.MinDNSWindow(ttl)
	args, res := knownArgs(with, params)
	var out []*Error
	for _, f := range spec.Args {
		if !f.DNSWindow {
			continue
		}
		v, given := args[f.Name]
		if !given {
			v = f.Default
		}
		d, ok := catalog.DurationOf(v)
		if !ok || d >= need {
			continue
		}
		p := pos.val(owner, "with."+f.Name)
		if !given {
			p = pos.key(owner, "with") // left out: the entry's default applies
		}
		out = append(out, &Error{Pos: p, Warning: true, Msg: fmt.Sprintf(
			"%s of %s is shorter than the %s TTL of environment %s's record %s plus %s: resolvers may keep sending writes to the old Region for up to the TTL after Route 53 is INSYNC, so the check can fail (or pass on writes that went elsewhere); make it at least %s",
			describeArg(f.Name, d, res, source), spec.Name, catalog.ShortDuration(ttl), env.Name, env.Traffic.RecordName,
			catalog.ShortDuration(catalog.DNSMargin), catalog.ShortDuration(need))})
	}
	return out
}

// walkEntries calls fn for every action, check and wait_until step of steps, nested ones and
// compensations included, with the catalog entry it names; owner is what holds the arguments
// (the step, or its wait_until).
func walkEntries(steps []Step, cat *catalog.Catalog, fn func(s *Step, owner any, with map[string]any, spec catalog.Spec)) {
	if cat == nil {
		return
	}
	for i := range steps {
		s := &steps[i]
		switch {
		case s.Action != "" || s.Check != "":
			name := s.Action
			if name == "" {
				name = s.Check
			}
			if spec, ok := cat.Lookup(name); ok {
				fn(s, s, s.With, spec)
			}
		case s.WaitUntil != nil:
			if spec, ok := cat.Lookup(s.WaitUntil.Check); ok {
				fn(s, s.WaitUntil, s.WaitUntil.With, spec)
			}
		}
		walkEntries(s.Parallel, cat, fn)
		walkEntries(s.Steps, cat, fn)
		walkEntries(s.Compensate, cat, fn)
	}
}

// runProblems checks a runbook for one environment with params (defaults at load, the run's
// values at its start): explicit timeouts that cannot cover their bound are problems, DNS windows
// shorter than the environment's TTL allows are warnings.
func runProblems(rb *Runbook, pos posTable, cat *catalog.Catalog, env *Environment, params map[string]any, source string) (problems, warnings ErrorList) {
	walkEntries(rb.Steps, cat, func(s *Step, owner any, with map[string]any, spec catalog.Spec) {
		if owner == s {
			if msg := timeoutProblem(s, spec, params, source); msg != "" {
				problems.add(pos.val(s, "timeout"), "%s: %s", stepLabel(s), msg)
			}
		}
		for _, w := range dnsWindowProblems(owner, with, spec, pos, env, params, source) {
			w.Msg = stepLabel(s) + ": " + w.Msg
			warnings = append(warnings, w)
		}
	})
	problems.sort()
	warnings.sort()
	return problems, warnings
}

// CheckRun makes the value-dependent checks for one run of runbook name in environment envName
// with its bound params: an explicit step timeout that cannot cover its entry's bound (a soak
// longer than the step may run) is an error, each naming path:line:col, because the run would
// time out and retry until it fails; a DNS window shorter than the record's TTL allows is a
// warning. The worker calls it when a run starts, so runs started from the UI, Slack, alarms and
// schedules are checked with the values they were given.
func (s *Set) CheckRun(name, envName string, params map[string]any, cat *catalog.Catalog) (warnings ErrorList, err error) {
	rb, env := s.Runbooks[name], s.Environments[envName]
	if rb == nil {
		return nil, nil
	}
	problems, warnings := runProblems(rb, s.pos[name], cat, env, params, "")
	return warnings, problems.Err()
}
