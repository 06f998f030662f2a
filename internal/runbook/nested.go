package runbook

import (
	"slices"
	"strings"
)

// forEachStep calls fn for every step, nested and compensating ones included, in file order.
func forEachStep(steps []Step, fn func(*Step)) {
	for i := range steps {
		s := &steps[i]
		fn(s)
		forEachStep(s.Parallel, fn)
		forEachStep(s.Steps, fn)
		forEachStep(s.Compensate, fn)
	}
}

// edge is a nested runbook step: runbook from runs runbook to.
type edge struct {
	to  string
	pos Pos
}

// checkNested checks `runbook:` steps against the other runbooks of a folder: the runbook exists,
// with: gives only its declared params, every required one, with fitting types; and no runbook
// nests itself, directly or through others (the child workflows would recurse without end).
func checkNested(runbooks map[string]*parsed, errs *ErrorList) {
	names := sortedKeys(runbooks)
	edges := map[string][]edge{}
	for _, name := range names {
		p := runbooks[name]
		params := map[string]*Param{}
		for i := range p.rb.Params {
			if params[p.rb.Params[i].Name] == nil {
				params[p.rb.Params[i].Name] = &p.rb.Params[i]
			}
		}
		forEachStep(p.rb.Steps, func(s *Step) {
			if s.Runbook == "" {
				return
			}
			pos := p.pos.val(s, "runbook")
			child, ok := runbooks[s.Runbook]
			if !ok {
				errs.add(pos, "%s: no runbook %q in this folder%s", stepLabel(s), s.Runbook, didYouMean(s.Runbook, names))
				return
			}
			if !slices.ContainsFunc(edges[name], func(e edge) bool { return e.to == s.Runbook }) {
				edges[name] = append(edges[name], edge{to: s.Runbook, pos: pos})
			}
			checkNestedParams(p, s, child.rb, params, errs)
		})
	}
	reportCycles(names, edges, errs)
}

func checkNestedParams(p *parsed, s *Step, child *Runbook, params map[string]*Param, errs *ErrorList) {
	label := stepLabel(s)
	declared := map[string]*Param{}
	var names []string
	for i := range child.Params {
		cp := &child.Params[i]
		if declared[cp.Name] == nil {
			declared[cp.Name] = cp
			names = append(names, cp.Name)
		}
	}
	for _, k := range sortedKeys(s.With) {
		cp := declared[k]
		if cp == nil {
			errs.add(p.pos.key(s, "with."+k), "%s: runbook %q has no param %q%s", label, child.Name, k, hint(k, names, "params"))
			continue
		}
		ct, ok := paramCatalogType(cp.Type)
		if !ok {
			continue // the child's own file reports the bad type
		}
		pos := p.pos.val(s, "with."+k)
		for _, prob := range valueProblems(ct, s.With[k], params) {
			errs.add(pos, "%s: param %q of runbook %q: %s", label, k, child.Name, prob)
		}
		if v, isStr := s.With[k].(string); isStr && len(cp.Enum) > 0 && !strings.Contains(v, "${{") && !slices.Contains(cp.Enum, v) {
			errs.add(pos, "%s: param %q of runbook %q: %q is not one of %s", label, k, child.Name, v, strings.Join(cp.Enum, ", "))
		}
	}
	for i := range child.Params {
		cp := &child.Params[i]
		if _, given := s.With[cp.Name]; cp.Required && !given && declared[cp.Name] == cp {
			pos := p.pos.key(s, "with")
			if !p.pos.has(s, "with") {
				pos = s.Pos
			}
			errs.add(pos, "%s: missing required param %q (%s) of runbook %q", label, cp.Name, cp.Type, child.Name)
		}
	}
}

// reportCycles reports each cycle of nested runbooks once, as a -> b -> a starting from its
// alphabetically first runbook, at that runbook's step that enters the cycle.
func reportCycles(names []string, edges map[string][]edge, errs *ErrorList) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var stack []string
	var visit func(string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		for _, e := range edges[n] {
			switch state[e.to] {
			case unvisited:
				visit(e.to)
			case active:
				i := slices.Index(stack, e.to)
				cycle := slices.Clone(stack[i:])
				// Rotate so the cycle starts at its smallest name: the same cycle found from
				// another start is then recognized and reported once.
				m := slices.Index(cycle, slices.Min(cycle))
				cycle = append(slices.Clone(cycle[m:]), cycle[:m]...)
				key := strings.Join(cycle, " -> ")
				if reported[key] {
					continue
				}
				reported[key] = true
				next := e.to
				if len(cycle) > 1 {
					next = cycle[1]
				}
				var pos Pos
				for _, ce := range edges[cycle[0]] {
					if ce.to == next {
						pos = ce.pos
					}
				}
				errs.add(pos, "runbook cycle: %s -> %s: a runbook may not nest itself, directly or through others", key, cycle[0])
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range names {
		if state[n] == unvisited {
			visit(n)
		}
	}
}
