package runbook

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// Integer arithmetic that does not fit in 64 bits is an error naming the operator's column, not
// a wrapped number (expr's own int arithmetic wraps: 9223372036854775807 + 1 is negative).
func TestIntegerOverflowIsAnError(t *testing.T) {
	s := testScope()
	s.Params["big"] = float64(4e18)
	tests := []struct{ src, want string }{
		// Constants: found when the program is compiled, so at validation too.
		{"9223372036854775807 + 1", "integer overflow: 9223372036854775807 + 1 does not fit in a 64-bit integer (column 21)"},
		{"1 - 9223372036854775807 - 3", "integer overflow: -9223372036854775806 - 3 does not fit in a 64-bit integer (column 25)"},
		{"3037000500 * 3037000500", "integer overflow: 3037000500 * 3037000500 does not fit in a 64-bit integer (column 12)"},
		// Run-time values: int(4e18) fits, four times it does not.
		{"int(params.big) * 4", "integer overflow: 4000000000000000000 * 4 does not fit in a 64-bit integer (column 17)"},
		{"int(params.big) + int(params.big) + int(params.big)", "integer overflow: 8000000000000000000 + 4000000000000000000"},
		{"-(int(params.big) * 2 - 1 - 9223372036854775807 - 1 - 9223372036854775807)", "integer overflow"},
		{"duration('2562047h') * 2", "integer overflow"},
		{"len('abc') * 9223372036854775807", "integer overflow: 3 * 9223372036854775807"},
		{"int(params.big * 1e10)", "integer overflow: int(4e+28) does not fit in a 64-bit integer (column 1)"},
		{"int(9.3e18)", "integer overflow: int(9.3e+18) does not fit in a 64-bit integer"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := Eval(tt.src, s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Eval(%q) = %v, %v; want an error containing %q", tt.src, got, err, tt.want)
			}
		})
	}
}

// Every result that does not overflow is the one expr gives without the check.
func TestCheckedArithmeticKeepsResults(t *testing.T) {
	s := testScope()
	for _, src := range []string{
		"1 + 2", "10 - 3 - 2", "-5", "-(2 * 3)", "- -4", "9223372036854775807 - 1 + 1", "-9223372036854775807 - 1",
		"-4611686018427387904 * 2", "3037000499 * 3037000499", "params.count + 1", "params.count * 2 - 0.5", "-params.ratio",
		"1.5 + 2", "2 * 3.5", "'a' + 'b'", "'x' + string(1 + 1)", "duration('1h') + duration('30m')",
		"duration('1h') - duration('2h')", "duration('1m') * 3", "len('abc') * 2 - len([1])",
		"map([1, 2, 3], # * 2 + 1)", "sum(map([1, 2], -#))", "int(params.count) - 4", "params.count - params.count",
		"1 + 2 == 3 && -1 < 0", "steps.lag.result.lag - 1", "int(params.ratio * 10)", "int(-2.9)", "int('42')", "int(7)",
		"int(9.2e18)",
	} {
		t.Run(src, func(t *testing.T) {
			got, err := Eval(src, s)
			if err != nil {
				t.Fatalf("Eval(%q): %v", src, err)
			}
			prog, err := expr.Compile(src, compileOptions(s, false)...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := expr.Run(prog, s.vars())
			if err != nil {
				t.Fatal(err)
			}
			if want = plain(want); !reflect.DeepEqual(got, want) {
				t.Fatalf("Eval(%q) = %#v (%T); expr alone gives %#v (%T)", src, got, got, want, want)
			}
		})
	}
}

func TestCheckedInt(t *testing.T) {
	for _, tt := range []struct {
		op   string
		x, y int64
		ok   bool
	}{
		{"+", math.MaxInt64, 0, true}, {"+", math.MaxInt64, 1, false}, {"+", math.MinInt64, -1, false}, {"+", math.MinInt64, math.MaxInt64, true},
		{"-", math.MinInt64, 1, false}, {"-", 0, math.MinInt64, false}, {"-", -1, math.MaxInt64, true}, {"-", math.MaxInt64, -1, false},
		{"*", math.MinInt64, 1, true}, {"*", math.MinInt64, -1, false}, {"*", -1, math.MinInt64, false}, {"*", 1 << 62, 2, false},
		{"*", -(1 << 62), 2, true}, {"*", 1 << 31, 1 << 31, true}, {"*", 1 << 32, 1 << 31, false}, {"*", -(1 << 32), 1 << 31, true}, {"*", 1 << 32, 1 << 32, false},
		{"*", -3, 3074457345618258602, true}, {"*", 3, -3074457345618258603, false}, {"*", 0, math.MinInt64, true},
	} {
		v, err := checkedInt(tt.op, tt.x, tt.y)
		if (err == nil) != tt.ok {
			t.Errorf("%d %s %d: %v, %v; want ok=%v", tt.x, tt.op, tt.y, v, err, tt.ok)
			continue
		}
		if tt.ok {
			var want int64
			switch tt.op {
			case "+":
				want = tt.x + tt.y
			case "-":
				want = tt.x - tt.y
			case "*":
				want = tt.x * tt.y
			}
			if v != want {
				t.Errorf("%d %s %d = %d, want %d", tt.x, tt.op, tt.y, v, want)
			}
		}
	}
}

// A constant overflow is a validation error at the field's file:line:col.
func TestIntegerOverflowAtValidation(t *testing.T) {
	src := "schema: switchyard/v1\nname: t\nsteps:\n  - id: a\n    action: route53.get_weights\n    if: ${{ 4611686018427387904 * 2 > 0 }}\n"
	_, err := Parse("t.yaml", []byte(src), testCatalog())
	want := "t.yaml:6:9: invalid expression \"4611686018427387904 * 2 > 0\": integer overflow: 4611686018427387904 * 2 does not fit in a 64-bit integer (column 21)"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse: %v\nwant: %s", err, want)
	}
}
