package runbook

// Integer overflow in expressions is an error, not a wrap.
//
// expr evaluates int arithmetic with Go's int, which wraps silently: `9223372036854775807 + 1` is
// -9223372036854775808, and a weight, a count or a timeout computed that way would be acted on as
// if it were right. Expressions are therefore compiled with a patch (checkedArith) that replaces
// every +, - and * and every unary minus by a call to a checked function of the same meaning: on
// two integers it computes the exact result or fails with "integer overflow"; on anything else
// (floats, strings, lists, durations of other shapes) it hands over to expr's own operator, so
// every other result is unchanged. Operations on two integer literals are folded by the patch
// itself, so a constant overflow is reported when the runbook is validated, at the field's
// file:line:col (and the operator's column in the expression); an overflow that depends on run
// time values fails the step that evaluates it, naming the expression and the column.
//
// The unpatched program is still compiled first (compile), so that type errors keep being
// reported, and in the same words, at validation.

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm/runtime"
)

// errIntegerOverflow begins the message of an integer operation whose result does not fit in 64 bits.
const errIntegerOverflow = "integer overflow"

// checked functions the patch calls; the names cannot collide with a scope variable (params,
// env, steps, run) or a builtin.
const (
	fnAdd = "__checked_add"
	fnSub = "__checked_sub"
	fnMul = "__checked_mul"
	fnNeg = "__checked_neg"
	fnInt = "__checked_int"
)

// checkedArith is the patch: see the file's note. err is the first constant overflow found.
type checkedArith struct {
	err *file.Error
}

func (c *checkedArith) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		fn := map[string]string{"+": fnAdd, "-": fnSub, "*": fnMul}[n.Operator]
		if fn == "" {
			return
		}
		l, lok := n.Left.(*ast.IntegerNode)
		r, rok := n.Right.(*ast.IntegerNode)
		if lok && rok {
			v, err := checkedInt(n.Operator, int64(l.Value), int64(r.Value))
			if err != nil {
				c.fail(n, err)
				return
			}
			ast.Patch(node, &ast.IntegerNode{Value: int(v)})
			return
		}
		ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{n.Left, n.Right}})
	case *ast.BuiltinNode:
		// int() of a float beyond 64 bits is Go's conversion, which gives an arbitrary number.
		if n.Name == "int" && len(n.Arguments) == 1 {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnInt}, Arguments: n.Arguments})
		}
	case *ast.UnaryNode:
		if n.Operator != "-" {
			return
		}
		if i, ok := n.Node.(*ast.IntegerNode); ok {
			v, err := checkedInt("-", 0, int64(i.Value))
			if err != nil {
				c.fail(n, err)
				return
			}
			ast.Patch(node, &ast.IntegerNode{Value: int(v)})
			return
		}
		ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnNeg}, Arguments: []ast.Node{n.Node}})
	}
}

func (c *checkedArith) fail(n ast.Node, err error) {
	if c.err == nil {
		c.err = &file.Error{Location: n.Location(), Message: err.Error()}
	}
}

// checkedOptions are the compile options of the patch and its functions.
func checkedOptions(patch *checkedArith) []expr.Option {
	return []expr.Option{
		expr.Patch(patch),
		expr.Function(fnAdd, func(args ...any) (any, error) { return checkedBinary("+", args[0], args[1]) }),
		expr.Function(fnSub, func(args ...any) (any, error) { return checkedBinary("-", args[0], args[1]) }),
		expr.Function(fnMul, func(args ...any) (any, error) { return checkedBinary("*", args[0], args[1]) }),
		expr.Function(fnNeg, func(args ...any) (any, error) { return checkedNeg(args[0]) }),
		expr.Function(fnInt, func(args ...any) (any, error) { return checkedIntConv(args[0]) }),
	}
}

// checkedBinary applies op to a and b: checked when both are integers (or both durations, or a
// duration times an integer), expr's own operator otherwise.
func checkedBinary(op string, a, b any) (any, error) {
	if x, ok := asInt64(a); ok {
		if y, ok := asInt64(b); ok {
			v, err := checkedInt(op, x, y)
			if err != nil {
				return nil, err
			}
			if _, ok := a.(int64); ok {
				return v, nil
			}
			return int(v), nil
		}
	}
	da, aDur := a.(time.Duration)
	db, bDur := b.(time.Duration)
	switch {
	case aDur && bDur && op != "*":
		v, err := checkedInt(op, int64(da), int64(db))
		return time.Duration(v), err
	case aDur && op == "*":
		if y, ok := asInt64(b); ok {
			v, err := checkedInt(op, int64(da), y)
			return time.Duration(v), err
		}
	case bDur && op == "*":
		if x, ok := asInt64(a); ok {
			v, err := checkedInt(op, x, int64(db))
			return time.Duration(v), err
		}
	}
	switch op {
	case "+":
		return runtime.Add(a, b), nil
	case "-":
		return runtime.Subtract(a, b), nil
	default:
		return runtime.Multiply(a, b), nil
	}
}

// checkedNeg negates v: checked for an integer or a duration, expr's own operator otherwise.
func checkedNeg(v any) (any, error) {
	if x, ok := asInt64(v); ok {
		n, err := checkedInt("-", 0, x)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(int64); ok {
			return n, nil
		}
		return int(n), nil
	}
	if d, ok := v.(time.Duration); ok {
		n, err := checkedInt("-", 0, int64(d))
		return time.Duration(n), err
	}
	return runtime.Negate(v), nil
}

// checkedIntConv is expr's int(), refusing a float outside the 64-bit range (and NaN) instead of
// converting it to an arbitrary integer.
func checkedIntConv(v any) (any, error) {
	f, ok := v.(float64)
	if f32, is32 := v.(float32); is32 {
		f, ok = float64(f32), true
	}
	if ok && (math.IsNaN(f) || f < -(1<<63) || f >= 1<<63) {
		return nil, fmt.Errorf("%s: int(%v) does not fit in a 64-bit integer", errIntegerOverflow, f)
	}
	return builtin.Int(v), nil
}

// asInt64 returns v when it is an int or an int64 (the integers expressions hold: literals,
// len(), int()); other types, named ones such as time.Duration included, are not integers here.
func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

// checkedInt computes x op y exactly or reports the overflow.
func checkedInt(op string, x, y int64) (int64, error) {
	var v int64
	ok := true
	switch op {
	case "+":
		v = x + y
		ok = (y >= 0) == (v >= x)
	case "-":
		v = x - y
		ok = (y >= 0) == (v <= x)
	case "*":
		hi, lo := bits.Mul64(uint64(abs64(x)), uint64(abs64(y)))
		neg := (x < 0) != (y < 0)
		switch {
		case x == 0 || y == 0:
			v = 0
		case x == math.MinInt64 || y == math.MinInt64:
			// |MinInt64| is not an int64: only a product with 1 fits.
			ok = x == 1 || y == 1
			v = x * y
		case hi != 0 || lo > math.MaxInt64+uint64(boolInt(neg)):
			ok = false
		case neg:
			v = -int64(lo-1) - 1
		default:
			v = int64(lo)
		}
	default:
		return 0, fmt.Errorf("unknown operator %s", op)
	}
	if !ok {
		if op == "-" && x == 0 {
			return 0, fmt.Errorf("%s: -(%d) does not fit in a 64-bit integer", errIntegerOverflow, y)
		}
		return 0, fmt.Errorf("%s: %d %s %d does not fit in a 64-bit integer", errIntegerOverflow, x, op, y)
	}
	return v, nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
