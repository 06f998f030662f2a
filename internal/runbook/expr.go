package runbook

// The expression language is expr-lang/expr (github.com/expr-lang/expr), not CEL:
//   - it is small and pure Go (no cgo, no protobuf runtime), and already in the module graph;
//   - it has a separate, typed compile step (expr.Compile with expr.Env), so the loader can reject
//     syntax errors, unknown names and obvious type errors when a runbook is validated, long before
//     a step runs during an incident;
//   - its syntax (a.b, ==, &&, ?:, ??, string functions) reads like the GitHub Actions ${{ }}
//     expressions runbook authors already know.
//
// Expressions run inside Temporal workflow code, where every evaluation must give the same result
// on replay. They are deterministic here because:
//   - the variables are only the values in Scope, which the workflow builds from its input and
//     from recorded step results; nothing reads the clock, the process environment, files or
//     randomness;
//   - the builtins that could are disabled (disabledBuiltins): now() reads the clock; date() and
//     timezone() read the host's time zone database (date() also resolves zone abbreviations
//     against the host's local zone); keys(), values() and toPairs() list a map in Go's random
//     iteration order. No other builtin iterates a map: the predicate builtins (all, filter, map,
//     ...) only take arrays, and string() and toJSON() print maps with sorted keys;
//   - Render visits map keys in sorted order, so even its first error is the same on every replay;
//   - peer() is a pure lookup in Scope.Peers.
//
// A program is compiled on every evaluation instead of being cached: compiling takes microseconds,
// and a cache would be shared mutable state in workflow code for no measurable gain.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Scope is what an expression can see: `params`, `env`, `steps` and `run`, plus peer().
type Scope struct {
	// Params are the run's bound params (BindParams).
	Params map[string]any
	// Env is the environment as EnvScope returns it, keyed by JSON field names.
	Env map[string]any
	// Steps maps the id of each finished step to {status, ok, reason, error, result}.
	Steps map[string]map[string]any
	// Run describes the run: id, mode, runbook, environment, requested_by, trigger.
	Run map[string]any
	// Peers maps each Region of the environment to the other one, for peer(region); peer of any
	// other value is "".
	Peers map[string]string
}

// disabledBuiltins are the expr builtins that would make an expression's result depend on when or
// where it runs; see the package note above.
var disabledBuiltins = []struct{ name, why string }{
	{"now", "it reads the clock"},
	{"date", "it depends on the host's time zone data"},
	{"timezone", "it depends on the host's time zone data"},
	{"keys", "it lists a map in random order"},
	{"values", "it lists a map in random order"},
	{"toPairs", "it lists a map in random order"},
}

// Known keys of the scope, for validation messages and checks.
var (
	runKeys      = []string{"environment", "id", "mode", "requested_by", "runbook", "trigger"}
	stepViewKeys = []string{"error", "ok", "reason", "result", "status"}
)

func (s Scope) vars() map[string]any {
	return map[string]any{"params": s.Params, "env": s.Env, "steps": s.Steps, "run": s.Run}
}

// compile compiles src against the scope's variables, peer() and the allowed builtins, with
// integer overflow checked (overflow.go). The plain program is compiled first, for its type
// checks; the checked one is what runs.
func compile(src string, s Scope, asBool bool) (*vm.Program, error) {
	opts := compileOptions(s, asBool)
	if _, err := expr.Compile(src, opts...); err != nil {
		return nil, err
	}
	patch := &checkedArith{}
	prog, err := expr.Compile(src, append(opts, checkedOptions(patch)...)...)
	if patch.err != nil {
		// A constant overflow: reported at validation with the operator's column.
		return nil, patch.err.Bind(file.NewSource(src))
	}
	return prog, err
}

// compileOptions are the options every expression compiles with.
func compileOptions(s Scope, asBool bool) []expr.Option {
	peers := s.Peers
	opts := []expr.Option{
		expr.Env(s.vars()),
		expr.Function("peer", func(args ...any) (any, error) {
			r, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("peer: want a Region name, got %s", typeName(args[0]))
			}
			// Like Environment.Peer, a Region outside the pair has no peer: "", which a check
			// can test for (peer(params.target) != '').
			return peers[r], nil
		}, new(func(string) string)),
	}
	for _, b := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(b.name))
	}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return opts
}

// exprMessage flattens an expr error to one line: expr's own format adds a multi-line snippet
// that would break the one-problem-per-line output.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Snippet == "" && fe.Line == 0 {
			return fe.Message
		}
		return fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)
	}
	return err.Error()
}

// Eval evaluates a bare expression (a ${{ }} wrapper around the whole source is accepted too) and
// returns its typed result.
func Eval(src string, s Scope) (any, error) {
	inner, err := bareExpr(src)
	if err != nil {
		return nil, err
	}
	return eval(inner, s)
}

func eval(src string, s Scope) (any, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	prog, err := compile(src, s, false)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %s", src, exprMessage(err))
	}
	v, err := expr.Run(prog, s.vars())
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %s", src, exprMessage(err))
	}
	v = plain(v)
	if bad := nonFinite(v); bad != "" {
		// JSON has no NaN or infinity: such a value could not reach an activity or a result.
		return nil, fmt.Errorf("evaluate %q: the result is %s (division by zero?)", src, bad)
	}
	return v, nil
}

// nonFinite names the first NaN or infinity in v, or returns "".
func nonFinite(v any) string {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) {
			return "NaN"
		}
		if math.IsInf(v, 0) {
			return "infinite"
		}
	case float32:
		return nonFinite(float64(v))
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if bad := nonFinite(v[k]); bad != "" {
				return bad
			}
		}
	case []any:
		for _, el := range v {
			if bad := nonFinite(el); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// plain turns the maps expr builds with non-string keys (fromPairs, group results) into
// map[string]any, recursively, so every value an expression yields can travel as JSON in
// activity arguments and results. Building a map from a map lets no iteration order escape.
func plain(v any) any {
	switch v := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, el := range v {
			out[stringify(k)] = plain(el)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, el := range v {
			out[k] = plain(el)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, el := range v {
			out[i] = plain(el)
		}
		return out
	}
	return v
}

// EvalBool evaluates a condition (if:, approval.auto_approve_if). A result that is not a bool,
// null included, is an error rather than false: a typo in a condition must not silently skip a
// step or grant an approval.
func EvalBool(src string, s Scope) (bool, error) {
	v, err := Eval(src, s)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q gave %s, want true or false", strings.TrimSpace(src), typeName(v))
	}
	return b, nil
}

// Render resolves ${{ }} expressions in v: in strings, and recursively in []any and
// map[string]any (keys visited in sorted order). A string that is exactly one ${{ }} (ignoring
// surrounding spaces) becomes the expression's typed value, so `count: ${{ params.n }}` stays a
// number; otherwise each expression's value is formatted into the string. Other values are
// returned unchanged; the input is never modified.
func Render(v any, s Scope) (any, error) {
	switch v := v.(type) {
	case string:
		return renderString(v, s)
	case []any:
		out := make([]any, len(v))
		for i, el := range v {
			r, err := Render(el, s)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) {
			r, err := Render(v[k], s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func renderString(str string, s Scope) (any, error) {
	if !strings.Contains(str, "${{") {
		return str, nil
	}
	pieces, whole, err := splitTemplate(str)
	if err != nil {
		return nil, err
	}
	if whole {
		return eval(pieces[0].text, s)
	}
	var b strings.Builder
	for _, p := range pieces {
		if !p.expr {
			b.WriteString(p.text)
			continue
		}
		v, err := eval(p.text, s)
		if err != nil {
			return nil, err
		}
		b.WriteString(stringify(v))
	}
	return b.String(), nil
}

// stringify formats a value interpolated into a string. Whole numbers print without a fraction
// (params arrive from JSON as float64, and "weight 100" must not read "weight 1e+02"); null prints
// as nothing; lists and maps print as JSON, whose map keys are sorted.
func stringify(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Duration:
		return v.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// typeName names a value's type as a runbook author sees it.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}

// EnvScope returns the environment as the JSON-style map expressions see as `env`: keys are the
// JSON field names (env.primary, env.regions["us-east-1"].pipeline), numbers are float64.
func EnvScope(e *Environment) map[string]any {
	out := map[string]any{}
	if e == nil {
		return out
	}
	// Marshalling a plain struct of strings, lists and maps cannot fail; if it ever did, an empty
	// map makes every env.X reference evaluate to null, which conditions report as an error.
	b, err := json.Marshal(e)
	if err != nil {
		return out
	}
	_ = json.Unmarshal(b, &out)
	return out
}

// piece is a literal or an expression part of a string with ${{ }}.
type piece struct {
	text string
	expr bool
}

// splitTemplate splits s into literal and ${{ expression }} pieces. whole reports that s, trimmed,
// is exactly one expression. The end of an expression is the first }} outside string literals and
// outside braces of map literals, so `${{ {"a": 1}["a"] }}` works.
func splitTemplate(s string) (pieces []piece, whole bool, err error) {
	rest := s
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				pieces = append(pieces, piece{text: rest})
			}
			break
		}
		if i > 0 {
			pieces = append(pieces, piece{text: rest[:i]})
		}
		body := rest[i+3:]
		end := exprEnd(body)
		if end < 0 {
			return nil, false, fmt.Errorf("unterminated ${{ in %q: close it with }}", s)
		}
		src := strings.TrimSpace(body[:end])
		if src == "" {
			return nil, false, fmt.Errorf("empty ${{ }} in %q", s)
		}
		pieces = append(pieces, piece{text: src, expr: true})
		rest = body[end+2:]
	}
	if countExprs(pieces) != 1 {
		return pieces, false, nil
	}
	var only piece
	for _, p := range pieces {
		if p.expr {
			only = p
		} else if strings.TrimSpace(p.text) != "" {
			return pieces, false, nil
		}
	}
	return []piece{only}, true, nil
}

func countExprs(ps []piece) int {
	n := 0
	for _, p := range ps {
		if p.expr {
			n++
		}
	}
	return n
}

// exprEnd returns the index of the }} closing an expression body, or -1.
func exprEnd(body string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 && i+1 < len(body) && body[i+1] == '}' {
				return i
			}
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// bareExpr returns the expression of a field that holds one (if:, target_region,
// auto_approve_if), removing an optional ${{ }} wrapper around the whole value.
func bareExpr(src string) (string, error) {
	t := strings.TrimSpace(src)
	if !strings.HasPrefix(t, "${{") {
		return src, nil
	}
	pieces, whole, err := splitTemplate(t)
	if err != nil {
		return "", err
	}
	if !whole {
		return "", fmt.Errorf("%q must be one expression: text around ${{ }} would make it a string", t)
	}
	return pieces[0].text, nil
}

// paramRef reports the param name when src is exactly params.NAME (or params["NAME"]).
func paramRef(src string) (string, bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return "", false
	}
	m, ok := tree.Node.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, okp := m.Property.(*ast.StringNode)
	if !ok || !okp || id.Value != "params" {
		return "", false
	}
	return prop.Value, true
}
