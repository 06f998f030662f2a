package runbook

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func testScope() Scope {
	env := &Environment{Schema: SchemaV1, Name: "lab", Primary: "us-east-1", Secondary: "us-west-2", Topic: "logs",
		Regions: map[string]RegionConfig{"us-east-1": {Pipeline: "logs-east"}, "us-west-2": {Pipeline: "logs-west"}},
		Traffic: &Traffic{TTL: 60}}
	return Scope{
		Params: map[string]any{"target_region": "us-west-2", "count": float64(3), "strict": true, "ratio": 0.25},
		Env:    EnvScope(env),
		Steps: map[string]map[string]any{
			"lag": {"status": "succeeded", "ok": true, "reason": "lag 0", "result": map[string]any{"lag": float64(0)}},
		},
		Run:   map[string]any{"id": "switchyard/lab", "mode": "execute", "requested_by": "alice", "trigger": map[string]any{"kind": "alarm"}},
		Peers: map[string]string{"us-east-1": "us-west-2", "us-west-2": "us-east-1"},
	}
}

func TestEval(t *testing.T) {
	s := testScope()
	tests := []struct {
		src     string
		want    any
		wantErr string
	}{
		{src: "params.count + 1", want: float64(4)},
		{src: "1 + 2", want: 3},
		{src: "params.target_region", want: "us-west-2"},
		{src: "${{ params.target_region }}", want: "us-west-2"},
		{src: "  ${{ peer(params.target_region) }}  ", want: "us-east-1"},
		{src: "peer(env.primary)", want: "us-west-2"},
		{src: "env.regions[params.target_region].pipeline", want: "logs-west"},
		{src: "env.traffic.ttl", want: float64(60)},
		{src: "steps.lag.ok && run.trigger.kind == 'alarm'", want: true},
		{src: "steps.lag.result.lag", want: float64(0)},
		{src: "steps.missing?.ok ?? false", want: false},
		{src: "params.missing", want: nil},
		{src: "{(params.target_region): 100, (peer(params.target_region)): 0}", want: map[string]any{"us-west-2": 100, "us-east-1": 0}},
		{src: "upper(run.requested_by)", want: "ALICE"},
		{src: "peer('eu-west-1')", want: ""},
		{src: "peer(params.count)", wantErr: "peer: want a Region name, got a number"},
		{src: "now()", wantErr: "unknown name now"},
		{src: "keys(env)", wantErr: "unknown name keys"},
		{src: "params.count +", wantErr: "unexpected token EOF (column 14)"},
		{src: "", wantErr: "empty expression"},
		{src: "${{ 1 }} + ${{ 2 }}", wantErr: "must be one expression"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := Eval(tt.src, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Eval(%q) = %v, %v; want error containing %q", tt.src, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval(%q): %v", tt.src, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Eval(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	s := testScope()
	tests := []struct {
		src     string
		want    bool
		wantErr string
	}{
		{src: "steps.lag.ok", want: true},
		{src: "${{ params.strict }}", want: true},
		{src: "true", want: true},
		{src: "params.count > 5", want: false},
		{src: "params.missing", wantErr: `expression "params.missing" gave null, want true or false`},
		{src: "params.target_region", wantErr: "gave a string, want true or false"},
		{src: "steps.nope.ok", wantErr: "gave null"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := EvalBool(tt.src, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("EvalBool(%q) = %v, %v; want error containing %q", tt.src, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("EvalBool(%q) = %v, %v; want %v", tt.src, got, err, tt.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	s := testScope()
	tests := []struct {
		name    string
		in      any
		want    any
		wantErr string
	}{
		{name: "plain string", in: "no expressions }}", want: "no expressions }}"},
		{name: "whole keeps type", in: "${{ params.count }}", want: float64(3)},
		{name: "whole with spaces", in: "  ${{ params.strict }} ", want: true},
		{name: "whole map", in: "${{ {'a': 1}['a'] }}", want: 1},
		{name: "interpolated", in: "move to ${{ params.target_region }} from ${{ peer(params.target_region) }}",
			want: "move to us-west-2 from us-east-1"},
		{name: "whole numbers print plainly", in: "n=${{ params.count }} r=${{ params.ratio }} big=${{ 1e6 }}",
			want: "n=3 r=0.25 big=1000000"},
		{name: "null prints empty", in: "[${{ params.missing }}]", want: "[]"},
		{name: "maps print as sorted JSON", in: "result: ${{ steps.lag }}",
			want: `result: {"ok":true,"reason":"lag 0","result":{"lag":0},"status":"succeeded"}`},
		{name: "braces inside strings", in: "${{ '}}' + '{' }}", want: "}}{"},
		{name: "nested", in: map[string]any{
			"weights": map[string]any{"us-east-1": "${{ params.count * 10 }}", "us-west-2": 0},
			"list":    []any{"${{ run.mode }}", 1, true, nil},
		}, want: map[string]any{
			"weights": map[string]any{"us-east-1": float64(30), "us-west-2": 0},
			"list":    []any{"execute", 1, true, nil},
		}},
		{name: "non-string scalars unchanged", in: 42, want: 42},
		{name: "unterminated", in: "a ${{ b", wantErr: `unterminated ${{ in "a ${{ b": close it with }}`},
		{name: "error names the key path", in: map[string]any{"outer": []any{"ok", "${{ peer(params.count) }}"}},
			wantErr: `outer: [1]: evaluate "peer(params.count)": peer: want a Region name, got a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.in, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Render = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Render = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestRenderDeterministic renders a map whose values fail in several places many times: the error
// must always name the same (first in sorted order) key, or a replay could fail differently.
func TestRenderDeterministic(t *testing.T) {
	s := testScope()
	in := map[string]any{}
	for _, k := range []string{"m", "c", "x", "a2", "q", "b", "z", "a1"} {
		in[k] = "${{ peer(params.count) }} " + k
	}
	in["a0"] = "fine ${{ run.mode }}"
	var first string
	for i := range 50 {
		_, err := Render(in, s)
		if err == nil {
			t.Fatal("want an error")
		}
		if i == 0 {
			first = err.Error()
			if !strings.HasPrefix(first, "a1: ") {
				t.Fatalf("first error should be for key a1, got %q", first)
			}
		} else if err.Error() != first {
			t.Fatalf("render %d failed differently: %q vs %q", i, err, first)
		}
	}
	// The input is not modified.
	if in["a0"] != "fine ${{ run.mode }}" {
		t.Errorf("input modified: %v", in["a0"])
	}
}

func TestSplitTemplate(t *testing.T) {
	tests := []struct {
		in     string
		pieces []piece
		whole  bool
	}{
		{"${{ a }}", []piece{{"a", true}}, true},
		{" ${{ a }}\n", []piece{{"a", true}}, true},
		{"x ${{ a }}", []piece{{"x ", false}, {"a", true}}, false},
		{"${{ a }}${{ b }}", []piece{{"a", true}, {"b", true}}, false},
		{`${{ {"k": {"n": 1}}["k"] }}`, []piece{{`{"k": {"n": 1}}["k"]`, true}}, true},
		{`${{ "a\"}}" }} tail`, []piece{{`"a\"}}"`, true}, {" tail", false}}, false},
	}
	for _, tt := range tests {
		got, whole, err := splitTemplate(tt.in)
		if err != nil || whole != tt.whole || !reflect.DeepEqual(got, tt.pieces) {
			t.Errorf("splitTemplate(%q) = %#v, %v, %v; want %#v, %v", tt.in, got, whole, err, tt.pieces, tt.whole)
		}
	}
}

// TestDisabledBuiltinsRejected checks both layers: validation names the builtin and why, and
// evaluation refuses it even if a runbook skipped validation.
func TestDisabledBuiltinsRejected(t *testing.T) {
	for _, b := range disabledBuiltins {
		t.Run(b.name, func(t *testing.T) {
			src := "schema: switchyard/v1\nname: x\nsteps:\n  - id: a\n    notify:\n      message: \"${{ " + b.name + "(env) }}\"\n"
			_, err := Parse("x.yaml", []byte(src), testCatalog())
			want := "x.yaml:6:16: " + b.name + "() is not available in runbook expressions: " + b.why
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Parse: got %v, want %q", err, want)
			}
			if _, err := Eval(b.name+"('2024-01-01')", testScope()); err == nil || !strings.Contains(err.Error(), "unknown name "+b.name) {
				t.Errorf("Eval: got %v, want unknown name %s", err, b.name)
			}
		})
	}
}

func TestEnvScope(t *testing.T) {
	got := EnvScope(&Environment{Name: "lab", Primary: "us-east-1", Zonal: &Zonal{Zones: []string{"a", "b"}}})
	want := map[string]any{"schema": "", "name": "lab", "primary": "us-east-1", "secondary": "", "topic": "",
		"index_pattern": "", "timestamp_field": "", "regions": nil, "zonal": map[string]any{"endpoint": "", "region": "", "zones": []any{"a", "b"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EnvScope = %#v\nwant %#v", got, want)
	}
	if got := EnvScope(nil); len(got) != 0 {
		t.Errorf("EnvScope(nil) = %v, want empty", got)
	}
	// Every top-level key is one that validation accepts as env.X.
	for k := range EnvScope(&Environment{Traffic: &Traffic{}, Zonal: &Zonal{}, Slack: &Slack{}, Description: "d", IndexTemplate: "t", IDField: "i", Approvers: []string{"a"}}) {
		if !slices.Contains(envFields, k) {
			t.Errorf("EnvScope key %q is not in envFields", k)
		}
	}
}

func TestExpressionMapsAreJSONReady(t *testing.T) {
	s := Scope{Params: map[string]any{"zone": "b"}, Env: map[string]any{"zonal": map[string]any{"zones": []any{"a", "b", "c"}}}}
	v, err := Eval("fromPairs(map(env.zonal.zones, {[#, # == params.zone ? 0 : 1]}))", s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1, "b": 0, "c": 1}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("not JSON-ready: %v", err)
	}
}

func TestNonFiniteResultsAreErrors(t *testing.T) {
	for _, src := range []string{"1 / 0", "0.0 / 0.0", "{'a': [1, 1 / 0]}"} {
		if _, err := Eval(src, Scope{}); err == nil || !strings.Contains(err.Error(), "division by zero?") {
			t.Errorf("Eval(%q) error = %v, want a non-finite error", src, err)
		}
	}
	if v, err := Eval("1 / 4", Scope{}); err != nil || v != 0.25 {
		t.Errorf("Eval(1 / 4) = %v, %v", v, err)
	}
}
