package runbook

import (
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// envFields are the top-level keys of `env`: the JSON names of Environment's fields.
var envFields = func() []string {
	var out []string
	t := reflect.TypeFor[Environment]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}()

// ref is one `root.name` (or `steps.name.sub`) found in an expression.
type ref struct {
	root, name, sub string
}

// refVisitor collects references and calls of disabled builtins.
type refVisitor struct {
	refs     []ref
	disabled []string
}

func (v *refVisitor) Visit(n *ast.Node) {
	switch n := (*n).(type) {
	case *ast.BuiltinNode:
		for _, b := range disabledBuiltins {
			if b.name == n.Name && !slices.Contains(v.disabled, n.Name) {
				v.disabled = append(v.disabled, n.Name)
			}
		}
	case *ast.MemberNode:
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return // params[x]: a computed key cannot be checked before run time
		}
		if id, ok := n.Node.(*ast.IdentifierNode); ok {
			v.refs = append(v.refs, ref{root: id.Value, name: prop.Value})
			return
		}
		if inner, ok := n.Node.(*ast.MemberNode); ok {
			id, okID := inner.Node.(*ast.IdentifierNode)
			name, okName := inner.Property.(*ast.StringNode)
			if okID && okName && id.Value == "steps" {
				v.refs = append(v.refs, ref{root: "steps", name: name.Value, sub: prop.Value})
			}
		}
	}
}

// checkExpr checks one expression: syntax, disabled builtins, what it references, then a full
// compile for type errors. It reports whether the expression is fine.
func (c *checker) checkExpr(src string, pos Pos, ctx refCtx, wantBool bool) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		c.add(pos, "invalid expression %q: %s", src, exprMessage(err))
		return false
	}
	v := &refVisitor{}
	ast.Walk(&tree.Node, v)
	n := len(*c.errs)
	for _, name := range v.disabled {
		for _, b := range disabledBuiltins {
			if b.name == name {
				c.add(pos, "%s() is not available in runbook expressions: %s, and an expression must give the same result when a workflow replays", name, b.why)
			}
		}
	}
	seen := map[ref]bool{}
	for _, r := range v.refs {
		if !seen[r] {
			seen[r] = true
			c.checkRef(r, pos, ctx)
		}
	}
	if len(*c.errs) > n {
		return false
	}
	if _, err := compile(src, Scope{}, wantBool); err != nil {
		c.add(pos, "invalid expression %q: %s", src, exprMessage(err))
		return false
	}
	return true
}

func (c *checker) checkRef(r ref, pos Pos, ctx refCtx) {
	switch r.root {
	case "params":
		if c.params[r.name] == nil {
			c.add(pos, "params.%s is not a declared param%s", r.name, hint(r.name, sortedKeys(c.params), "params"))
		}
	case "env":
		if !slices.Contains(envFields, r.name) {
			c.add(pos, "env.%s is not an environment field%s", r.name, hint(r.name, envFields, "fields"))
		}
	case "run":
		if !slices.Contains(runKeys, r.name) {
			c.add(pos, "run.%s is not a run field%s", r.name, hint(r.name, runKeys, "fields"))
		}
	case "steps":
		if r.sub != "" {
			if !slices.Contains(stepViewKeys, r.sub) {
				c.add(pos, "steps.%s.%s is not a step field%s", r.name, r.sub, hint(r.sub, stepViewKeys, "fields"))
			}
			return
		}
		c.checkStepRef(r.name, pos, ctx)
	}
}

// checkStepRef checks that steps.<id> names a step that has finished when the expression runs,
// and says why not otherwise.
func (c *checker) checkStepRef(id string, pos Pos, ctx refCtx) {
	if ctx.visible[id] {
		return
	}
	target := c.steps[id]
	switch {
	case target == nil:
		c.add(pos, "steps.%s is not a step of this runbook%s", id, didYouMean(id, sortedKeys(c.steps)))
	case ctx.cur == nil:
		c.add(pos, "steps.%s is not an earlier step (target_region is evaluated when the run starts)", id)
	case target.step == ctx.cur.step:
		c.add(pos, "steps.%s is not an earlier step (it is this step)", id)
	case slices.Contains(ctx.cur.in, target.step):
		c.add(pos, "steps.%s is not an earlier step (this step is inside it)", id)
	case target.comp && !ctx.cur.comp:
		c.add(pos, "steps.%s is not an earlier step (it only runs during rollback)", id)
	case siblings(ctx.cur, target):
		c.add(pos, "steps.%s is not an earlier step (it runs in a parallel branch beside this one)", id)
	default:
		c.add(pos, "steps.%s is not an earlier step", id)
	}
}

// siblings reports whether a and b are in different branches of one parallel step.
func siblings(a, b *stepInfo) bool {
	for _, x := range a.anc {
		for _, y := range b.anc {
			if x.parent == y.parent && x.index != y.index {
				return true
			}
		}
	}
	return false
}
