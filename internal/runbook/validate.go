package runbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// idRE is the shape of step ids and param names: they appear in expressions (steps.shift_traffic,
// params.target_region), workflow ids and step paths, so they must be plain identifiers.
var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// kindKeys are the YAML keys that give a step its kind, in the order messages list them.
var kindKeys = []string{KindAction, KindCheck, KindWaitUntil, KindApproval, KindParallel, KindSequence, KindRunbook, KindNotify, KindWorkflow}

// branch is one parallel branch on the path from the runbook to a step.
type branch struct {
	parent *Step
	index  int
}

// stepInfo is what reference checks need to know about a declared step.
type stepInfo struct {
	step *Step
	anc  []branch // the parallel branches the step is inside, outermost first
	in   []*Step  // the parallel and steps groups the step is inside
	comp bool     // declared in a compensate list
}

// refCtx is what an expression may reference: the step it belongs to (nil for runbook-level
// fields) and the ids of the steps finished before it runs.
type refCtx struct {
	cur     *stepInfo
	visible map[string]bool
}

// checker validates one decoded runbook; every problem goes to errs.
type checker struct {
	file string
	name string // the name the runbook must declare ("" skips the check)
	cat  *catalog.Catalog
	rb   *Runbook
	pos  posTable
	errs *ErrorList

	params map[string]*Param
	steps  map[string]*stepInfo
}

func (c *checker) add(pos Pos, format string, args ...any) { c.errs.add(pos, format, args...) }

func (c *checker) checkRunbook() {
	rb := c.rb
	if c.pos.has(rb, "schema") && rb.Schema != SchemaV1 {
		c.add(c.pos.val(rb, "schema"), "schema must be %q, got %q", SchemaV1, rb.Schema)
	}
	if c.pos.has(rb, "name") {
		switch {
		case rb.Name == "":
			c.add(c.pos.val(rb, "name"), "name must not be empty")
		case c.name != "" && rb.Name != c.name:
			c.add(c.pos.val(rb, "name"), "name %q must equal the file name %q: runbooks are referred to by file name", rb.Name, c.name)
		}
	}
	switch rb.Lock {
	case LockEnvironment, LockNone:
	default:
		c.add(c.pos.val(rb, "lock"), "lock must be %q or %q, got %q", LockEnvironment, LockNone, rb.Lock)
	}
	c.checkParams()
	if c.pos.has(rb, "steps") && len(rb.Steps) == 0 {
		c.add(c.pos.val(rb, "steps"), "runbook has no steps")
	}

	c.steps = map[string]*stepInfo{}
	c.collect(rb.Steps, nil, nil, false)

	if rb.TargetRegion != "" {
		pos := c.pos.val(rb, "target_region")
		if catalog.LooksLikeRegion(strings.TrimSpace(rb.TargetRegion)) {
			c.add(pos, "target_region is an expression, and a bare %[1]s is not one: write \"'%[1]s'\" for a fixed Region, or ${{ params.target_region }}", strings.TrimSpace(rb.TargetRegion))
		} else {
			c.checkBare(rb.TargetRegion, pos, refCtx{visible: map[string]bool{}}, false)
		}
	}
	c.walkSeq(rb.Steps, map[string]bool{}, nil, nil, false)
}

// checkParams checks declarations; it fills c.params with the first param of each name.
func (c *checker) checkParams() {
	c.params = map[string]*Param{}
	for i := range c.rb.Params {
		p := &c.rb.Params[i]
		label := fmt.Sprintf("param %q", p.Name)
		if c.pos.has(p, "name") {
			if !idRE.MatchString(p.Name) {
				c.add(c.pos.val(p, "name"), "param name %q must match %s (lower case, digits, _)", p.Name, idRE)
			}
			if first, dup := c.params[p.Name]; dup {
				c.add(p.Pos, "duplicate param %q (first declared at %s)", p.Name, short(first.Pos))
			} else {
				c.params[p.Name] = p
			}
		}
		ct, typeOK := paramCatalogType(p.Type)
		if c.pos.has(p, "type") && !typeOK {
			c.add(c.pos.val(p, "type"), "%s: type %q is not one of %s%s", label, p.Type, strings.Join(paramTypes, ", "),
				didYouMean(string(p.Type), paramTypes))
		}
		hasDefault := c.pos.has(p, "default") && p.Default != nil
		if p.Required && hasDefault {
			c.add(c.pos.key(p, "default"), "%s is required, so its default would never be used: drop required or the default", label)
		}
		if hasDefault && typeOK {
			if err := catalog.CheckLiteral(ct, p.Default); err != nil {
				c.add(c.pos.val(p, "default"), "%s: default: %v", label, err)
			}
		}
		if len(p.Enum) > 0 {
			if p.Type != TypeString && p.Type != TypeRegion {
				c.add(c.pos.key(p, "enum"), "%s: enum is only allowed for string and region params", label)
			} else {
				for j, v := range p.Enum {
					if p.Type == TypeRegion && !catalog.LooksLikeRegion(v) {
						c.add(c.pos.val(p, fmt.Sprintf("enum[%d]", j)), "%s: enum value %q is not an AWS Region name (like us-east-1)", label, v)
					}
				}
				if s, ok := p.Default.(string); ok && hasDefault && !slices.Contains(p.Enum, s) {
					c.add(c.pos.val(p, "default"), "%s: default %q is not one of the enum values (%s)", label, s, strings.Join(p.Enum, ", "))
				}
			}
		}
	}
}

// paramTypes lists the param types, for messages.
var paramTypes = []string{string(TypeString), string(TypeRegion), string(TypeDuration), string(TypeInt), string(TypeBool)}

// paramCatalogType maps a param type onto the catalog type with the same literal rules.
func paramCatalogType(t ParamType) (catalog.Type, bool) {
	switch t {
	case TypeString:
		return catalog.TypeString, true
	case TypeRegion:
		return catalog.TypeRegion, true
	case TypeDuration:
		return catalog.TypeDuration, true
	case TypeInt:
		return catalog.TypeInt, true
	case TypeBool:
		return catalog.TypeBool, true
	}
	return "", false
}

// paramFits reports whether a param of type p can be passed whole to an argument of type a. Params
// of type string may hold anything string-shaped, so they are accepted wherever a string-shaped
// value is; the run-time check still applies.
func paramFits(p ParamType, a catalog.Type) bool {
	switch a {
	case catalog.TypeAny:
		return true
	case catalog.TypeString:
		return p == TypeString || p == TypeRegion || p == TypeDuration
	case catalog.TypeRegion:
		return p == TypeRegion || p == TypeString
	case catalog.TypeDuration:
		return p == TypeDuration || p == TypeString
	case catalog.TypeTime:
		return p == TypeString
	case catalog.TypeInt, catalog.TypeNumber:
		return p == TypeInt
	case catalog.TypeBool:
		return p == TypeBool
	}
	return false // list, map, weights: no param type holds one
}

// collect registers every step id, reporting bad and duplicate ids, so that references can be
// told apart: unknown, later, in a sibling branch, or a compensation.
func (c *checker) collect(steps []Step, anc []branch, in []*Step, comp bool) {
	for i := range steps {
		s := &steps[i]
		if c.pos.has(s, "id") {
			switch {
			case !idRE.MatchString(s.ID):
				c.add(c.pos.val(s, "id"), "step id %q must match %s (lower case, digits, _)", s.ID, idRE)
			case c.steps[s.ID] != nil:
				c.add(s.Pos, "duplicate step id %q (first declared at %s)", s.ID, short(c.steps[s.ID].step.Pos))
			default:
				c.steps[s.ID] = &stepInfo{step: s, anc: anc, in: in, comp: comp}
			}
		}
		inner := append(slices.Clip(in), s)
		for j := range s.Parallel {
			c.collect(s.Parallel[j:j+1], append(slices.Clip(anc), branch{s, j}), inner, comp)
		}
		c.collect(s.Steps, anc, inner, comp)
		c.collect(s.Compensate, anc, in, true)
	}
}

// walkSeq checks steps that run in order: each sees what came before it. anc and in locate the
// steps as in stepInfo.
func (c *checker) walkSeq(steps []Step, visible map[string]bool, anc []branch, in []*Step, comp bool) {
	vis := maps.Clone(visible)
	for i := range steps {
		s := &steps[i]
		c.walkStep(s, vis, anc, in, comp)
		markDone(vis, s)
	}
}

func (c *checker) walkStep(s *Step, vis map[string]bool, anc []branch, in []*Step, comp bool) {
	c.checkStep(s, refCtx{cur: &stepInfo{step: s, anc: anc, in: in, comp: comp}, visible: vis})
	inner := append(slices.Clip(in), s)
	for j := range s.Parallel {
		// Branches start together: each sees what the parallel step saw, not its siblings.
		c.walkStep(&s.Parallel[j], vis, append(slices.Clip(anc), branch{s, j}), inner, comp)
	}
	c.walkSeq(s.Steps, vis, anc, inner, comp)
	if len(s.Compensate) > 0 {
		// A compensation runs after its step finished, so it sees the step and all it contains.
		cv := maps.Clone(vis)
		markDone(cv, s)
		c.walkSeq(s.Compensate, cv, anc, in, true)
	}
}

// markDone adds a finished step and the steps it contains (not its compensations) to vis.
func markDone(vis map[string]bool, s *Step) {
	if s.ID != "" {
		vis[s.ID] = true
	}
	for i := range s.Parallel {
		markDone(vis, &s.Parallel[i])
	}
	for i := range s.Steps {
		markDone(vis, &s.Steps[i])
	}
}

func stepLabel(s *Step) string {
	if s.ID == "" {
		return "step"
	}
	return fmt.Sprintf("step %q", s.ID)
}

// checkStep checks one step's own fields (children are walked by the caller).
func (c *checker) checkStep(s *Step, ctx refCtx) {
	label := stepLabel(s)
	var kinds []string
	for _, k := range kindKeys {
		if c.pos.written(s, k) {
			kinds = append(kinds, k)
		}
	}
	kind := ""
	switch len(kinds) {
	case 0:
		if c.pos.written(s, unknownKey) {
			break // most likely a misspelt kind ("acton"), already reported
		}
		c.add(s.Pos, "%s has no kind: give it one of %s", label, strings.Join(kindKeys, ", "))
	case 1:
		kind = kinds[0]
	default:
		c.add(s.Pos, "%s has several kinds (%s): a step does exactly one thing, so split it into %d steps", label, strings.Join(kinds, ", "), len(kinds))
	}

	if c.pos.has(s, "with") && kind != "" && kind != KindAction && kind != KindCheck && kind != KindRunbook && kind != KindWorkflow {
		msg := fmt.Sprintf("%s: with: is not used by a %s step", label, kind)
		if kind == KindWaitUntil {
			msg += "; put the arguments under wait_until.with"
		}
		c.add(c.pos.key(s, "with"), "%s", msg)
	}
	switch s.OnFailure {
	case OnFailureAbort, OnFailureContinue, OnFailureRollback, OnFailurePause:
	default:
		c.add(c.pos.val(s, "on_failure"), "%s: on_failure must be abort, continue, rollback or pause, got %q%s", label, s.OnFailure,
			didYouMean(string(s.OnFailure), []string{"abort", "continue", "rollback", "pause"}))
	}
	if s.Skippable != nil && !*s.Skippable && s.OnFailure == OnFailureContinue {
		c.add(c.pos.val(s, "skippable"), "%s: skippable: false with on_failure: continue is a contradiction: the run already goes on past its failure; make the step stop the run (abort, rollback or pause) or drop skippable", label)
	}
	if s.Local != nil && kind != KindAction && kind != KindCheck && kind != KindWaitUntil {
		c.add(c.pos.key(s, "local"), "%s: local: applies to action, check and wait_until steps only", label)
	}
	switch s.Milestone {
	case "", MilestoneTrafficShifted, MilestoneTrafficVerified, MilestoneBackfillVerified, MilestoneReprotected:
	default:
		c.add(c.pos.val(s, "milestone"), "%s: milestone must be traffic_shifted, traffic_verified, backfill_verified or reprotected, got %q%s", label, s.Milestone,
			didYouMean(string(s.Milestone), []string{"traffic_shifted", "traffic_verified", "backfill_verified", "reprotected"}))
	}
	if r := s.Retry; r != nil {
		if c.pos.has(r, "attempts") && r.Attempts < 1 {
			c.add(c.pos.val(r, "attempts"), "%s: retry.attempts must be at least 1 (the first try counts), got %d", label, r.Attempts)
		}
		if r.Backoff > 0 && r.MaxBackoff > 0 && r.MaxBackoff < r.Backoff {
			c.add(c.pos.val(r, "max_backoff"), "%s: retry.max_backoff %s is shorter than retry.backoff %s", label, catalog.ShortDuration(r.MaxBackoff.D()), catalog.ShortDuration(r.Backoff.D()))
		}
	}
	if ctx.cur.comp && c.pos.has(s, "compensate") {
		c.add(c.pos.key(s, "compensate"), "%s: a compensation step cannot have its own compensate", label)
	}
	if c.pos.has(s, "if") {
		c.checkBare(s.If, c.pos.val(s, "if"), ctx, true)
	}

	if kind != "" && !c.pos.has(s, kind) {
		kind = "" // its value did not decode; the decoder said why
	}
	switch kind {
	case KindAction, KindCheck:
		name := s.Action
		if kind == KindCheck {
			name = s.Check
		}
		pos := c.pos.val(s, kind)
		if spec, ok := c.lookup(label, kind, name, pos); ok {
			c.checkArgs(s, s.With, spec, label, ctx)
			// Checked with the params' defaults here; each run's start checks its own values.
			if msg := timeoutProblem(s, spec, paramDefaults(c.rb.Params), "'s default"); msg != "" {
				c.add(c.pos.val(s, "timeout"), "%s: %s", label, msg)
			}
		} else {
			c.checkTemplates(s, "with", s.With, ctx)
		}
	case KindWaitUntil:
		c.checkWait(s, label, ctx)
	case KindApproval:
		c.checkApproval(s, label, ctx)
	case KindParallel:
		if len(s.Parallel) == 0 {
			c.add(c.pos.val(s, "parallel"), "%s: parallel needs at least one branch", label)
		}
	case KindSequence:
		if len(s.Steps) == 0 {
			c.add(c.pos.val(s, "steps"), "%s: steps needs at least one step", label)
		}
	case KindRunbook:
		if s.Runbook == "" {
			c.add(c.pos.val(s, "runbook"), "%s: runbook must name a runbook", label)
		}
		// Params of nested runbooks are checked by LoadDir, which sees the other files.
		c.checkTemplates(s, "with", s.With, ctx)
	case KindWorkflow:
		c.checkChildWorkflow(s, label, ctx)
	case KindNotify:
		n := s.Notify
		if c.pos.has(n, "message") && strings.TrimSpace(n.Message) == "" {
			c.add(c.pos.val(n, "message"), "%s: notify.message must not be empty", label)
		}
		c.checkTemplate(n.Message, c.pos.val(n, "message"), ctx)
	}
}

// lookup finds a catalog entry of the given kind; what is "action" or "check". A nil catalog
// accepts every name.
func (c *checker) lookup(label, what, name string, pos Pos) (catalog.Spec, bool) {
	if name == "" {
		c.add(pos, "%s: %s must name a catalog %s", label, what, what)
		return catalog.Spec{}, false
	}
	if c.cat == nil {
		return catalog.Spec{}, false
	}
	spec, ok := c.cat.Lookup(name)
	if !ok {
		var same []string
		for _, sp := range c.cat.Specs() {
			if string(sp.Kind) == what {
				same = append(same, sp.Name)
			}
		}
		c.add(pos, "%s: unknown %s %q%s", label, what, name, didYouMean(name, same))
		return catalog.Spec{}, false
	}
	if string(spec.Kind) != what {
		fix := "check"
		if spec.Kind == catalog.KindAction {
			fix = "action"
		}
		c.add(pos, "%s: %q is %s %s, not %s %s: write `%s: %s`", label, name, article(string(spec.Kind)), spec.Kind, article(what), what, fix, name)
		return catalog.Spec{}, false
	}
	return spec, true
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// checkArgs checks a with: mapping against a catalog entry's arguments. owner holds the with
// field (a Step or a WaitUntil).
func (c *checker) checkArgs(owner any, with map[string]any, spec catalog.Spec, label string, ctx refCtx) {
	for _, k := range sortedKeys(with) {
		arg, ok := spec.Arg(k)
		if !ok {
			c.add(c.pos.key(owner, "with."+k), "%s: %s has no argument %q%s", label, spec.Name, k, hint(k, spec.ArgNames(), "arguments"))
			c.checkTemplate(with[k], c.pos.val(owner, "with."+k), ctx)
			continue
		}
		c.checkValue(arg.Type, with[k], c.pos.val(owner, "with."+k), fmt.Sprintf("%s: argument %q", label, k), ctx)
		if arg.NotAllZero && catalog.LiteralWeightsAllZero(with[k]) {
			c.add(c.pos.val(owner, "with."+k), "%s: argument %q: %s", label, k, catalog.AllZeroWeightsProblem)
		}
	}
	for _, a := range spec.Args {
		if _, given := with[a.Name]; a.Required && !given {
			pos := c.pos.key(owner, "with")
			if !c.pos.has(owner, "with") {
				pos = c.pos.key(owner, "")
			}
			c.add(pos, "%s: missing required argument %q (%s) of %s", label, a.Name, a.Type, spec.Name)
		}
	}
}

// checkValue checks one argument value against type t: its expressions compile and reference only
// what they may, and valueProblems finds no type mismatch.
func (c *checker) checkValue(t catalog.Type, v any, pos Pos, prefix string, ctx refCtx) {
	if !c.checkTemplate(v, pos, ctx) {
		return
	}
	for _, p := range valueProblems(t, v, c.params) {
		c.add(pos, "%s: %s", prefix, p)
	}
}

// valueProblems lists what is wrong with v as a value of type t. Literals are checked with
// catalog.CheckLiteral; a value that is exactly ${{ params.x }} must have a param type that can
// fit (params: the declared params of the runbook the value is written in); other expressions
// are type-checked at run time, so only the shape of lists and maps around them is checked.
func valueProblems(t catalog.Type, v any, params map[string]*Param) []string {
	if s, ok := v.(string); ok && strings.Contains(s, "${{") {
		pieces, whole, err := splitTemplate(s)
		switch {
		case err != nil:
			return nil // reported by the expression checks
		case !whole:
			if t != catalog.TypeString && t != catalog.TypeAny && t != catalog.TypeRegion && t != catalog.TypeDuration && t != catalog.TypeTime {
				return []string{fmt.Sprintf("want %s, but text around ${{ }} makes a string", t)}
			}
		default:
			if name, ok := paramRef(pieces[0].text); ok {
				if p := params[name]; p != nil && !paramFits(p.Type, t) {
					return []string{fmt.Sprintf("params.%s is %s %s param, but the argument wants %s", name, article(string(p.Type)), p.Type, t)}
				}
			}
		}
		return nil
	}
	if !hasExpr(v) {
		if err := catalog.CheckLiteral(t, v); err != nil {
			return []string{err.Error()}
		}
		return nil
	}
	// A list or map with expressions inside.
	var shapeOK bool
	switch t {
	case catalog.TypeAny:
		return nil
	case catalog.TypeList:
		_, shapeOK = v.([]any)
	case catalog.TypeMap:
		_, shapeOK = v.(map[string]any)
	case catalog.TypeWeights:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		var out []string
		for _, k := range sortedKeys(m) {
			if !hasExpr(m[k]) && catalog.CheckLiteral(catalog.TypeInt, m[k]) != nil {
				out = append(out, fmt.Sprintf("weight of %q must be an integer", k))
			}
		}
		return out
	}
	if err := catalog.CheckLiteral(t, v); err != nil && !shapeOK {
		return []string{err.Error()}
	}
	return nil
}

// hasExpr reports whether v holds a ${{ anywhere.
func hasExpr(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "${{")
	case []any:
		return slices.ContainsFunc(v, hasExpr)
	case map[string]any:
		for _, el := range v {
			if hasExpr(el) {
				return true
			}
		}
	}
	return false
}

// checkTemplates checks the expressions in every value of a with: mapping.
func (c *checker) checkTemplates(owner any, field string, with map[string]any, ctx refCtx) {
	for _, k := range sortedKeys(with) {
		c.checkTemplate(with[k], c.pos.val(owner, field+"."+k), ctx)
	}
}

// checkTemplate checks the ${{ }} expressions in a value that may hold them; it reports whether
// they were all fine.
func (c *checker) checkTemplate(v any, pos Pos, ctx refCtx) bool {
	switch v := v.(type) {
	case string:
		if !strings.Contains(v, "${{") {
			return true
		}
		pieces, _, err := splitTemplate(v)
		if err != nil {
			c.add(pos, "%v", err)
			return false
		}
		ok := true
		for _, p := range pieces {
			if p.expr && !c.checkExpr(p.text, pos, ctx, false) {
				ok = false
			}
		}
		return ok
	case []any:
		ok := true
		for _, el := range v {
			ok = c.checkTemplate(el, pos, ctx) && ok
		}
		return ok
	case map[string]any:
		ok := true
		for _, k := range sortedKeys(v) {
			if strings.Contains(k, "${{") {
				// Render resolves values only: a key must be known before the map is built.
				c.add(pos, "key %q: map keys are not rendered; build the whole map in one expression, like ${{ {(params.region): 100} }}", k)
				ok = false
			}
			ok = c.checkTemplate(v[k], pos, ctx) && ok
		}
		return ok
	}
	return true
}

// checkBare checks a field holding one expression (if:, auto_approve_if, target_region).
func (c *checker) checkBare(src string, pos Pos, ctx refCtx, wantBool bool) {
	inner, err := bareExpr(src)
	if err != nil {
		c.add(pos, "%v", err)
		return
	}
	if strings.TrimSpace(inner) == "" {
		c.add(pos, "empty expression")
		return
	}
	c.checkExpr(inner, pos, ctx, wantBool)
}

func (c *checker) checkWait(s *Step, label string, ctx refCtx) {
	w := s.WaitUntil
	if c.pos.has(w, "check") {
		if spec, ok := c.lookup(label+": wait_until", KindCheck, w.Check, c.pos.val(w, "check")); ok {
			c.checkArgs(w, w.With, spec, label+": wait_until", ctx)
		} else {
			c.checkTemplates(w, "with", w.With, ctx)
		}
	} else {
		c.checkTemplates(w, "with", w.With, ctx)
	}
	if c.pos.has(w, "timeout") && w.Timeout <= 0 {
		c.add(c.pos.val(w, "timeout"), "%s: wait_until.timeout must be longer than 0s", label)
	}
	if w.Timeout > 0 && w.Interval > w.Timeout {
		c.add(c.pos.val(w, "interval"), "%s: wait_until.interval %s is longer than its timeout %s", label, catalog.ShortDuration(w.Interval.D()), catalog.ShortDuration(w.Timeout.D()))
	}
}

func (c *checker) checkApproval(s *Step, label string, ctx refCtx) {
	a := s.Approval
	if c.pos.has(a, "message") {
		if strings.TrimSpace(a.Message) == "" {
			c.add(c.pos.val(a, "message"), "%s: approval.message must not be empty", label)
		}
		c.checkTemplate(a.Message, c.pos.val(a, "message"), ctx)
	}
	if c.pos.has(a, "timeout") && a.Timeout <= 0 {
		c.add(c.pos.val(a, "timeout"), "%s: approval.timeout must be longer than 0s", label)
	}
	switch {
	case c.pos.has(a, "quorum") && a.Quorum < 1:
		c.add(c.pos.val(a, "quorum"), "%s: approval.quorum must be at least 1, got %d", label, a.Quorum)
	case len(a.Approvers) > 0 && a.Quorum > len(a.Approvers):
		c.add(c.pos.val(a, "quorum"), "%s: approval.quorum %d is more than the %d approvers listed, so it could never be reached", label, a.Quorum, len(a.Approvers))
	}
	switch a.OnTimeout {
	case TimeoutAbort, TimeoutProceed:
	default:
		c.add(c.pos.val(a, "on_timeout"), "%s: approval.on_timeout must be abort or proceed, got %q", label, a.OnTimeout)
	}
	if c.pos.has(a, "auto_approve_if") {
		c.checkBare(a.AutoApproveIf, c.pos.val(a, "auto_approve_if"), ctx, true)
	}
}
