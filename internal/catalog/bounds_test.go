package catalog

import (
	"reflect"
	"testing"
	"time"
)

type boundedArgs struct {
	Duration string           `json:"duration" catalog:"duration,required,bounds"`
	Wait     bool             `json:"wait,omitempty"`
	Timeout  string           `json:"timeout,omitempty" catalog:"duration,bounds" default:"20m" bounds_if:"wait"`
	Window   string           `json:"window,omitempty" catalog:"duration,dns_window" default:"60s"`
	Weights  map[string]int64 `json:"weights,omitempty" catalog:"weights,not_all_zero"`
}

func TestFieldsOfReadsBoundsAndDefaults(t *testing.T) {
	spec := Spec{Args: FieldsOf(reflect.TypeFor[boundedArgs]())}
	want := []Bound{{Arg: "duration"}, {Arg: "timeout", Default: "20m", If: "wait"}}
	if got := spec.Bounds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Bounds() = %+v, want %+v", got, want)
	}
	if w, _ := spec.Arg("window"); !w.DNSWindow || w.Default != "60s" || w.Bounds {
		t.Errorf("window = %+v, want a DNS window with default 60s and no bound", w)
	}
	if w, _ := spec.Arg("weights"); !w.NotAllZero || w.Type != TypeWeights {
		t.Errorf("weights = %+v", w)
	}
}

func TestRunBound(t *testing.T) {
	bounds := []Bound{{Arg: "duration"}, {Arg: "timeout", Default: "20m", If: "wait"}}
	tests := []struct {
		name string
		args map[string]any
		want time.Duration
		from string
	}{
		{"a soak's duration", map[string]any{"duration": "5m"}, 5 * time.Minute, "duration"},
		{"the wait's default timeout applies only with wait", map[string]any{"duration": "1m", "wait": true}, 20 * time.Minute, "timeout (default)"},
		{"without wait the timeout bounds nothing", map[string]any{"duration": "1m", "timeout": "1h"}, time.Minute, "duration"},
		{"the longest bound wins", map[string]any{"duration": "30m", "wait": true, "timeout": "10m"}, 30 * time.Minute, "duration"},
		{"nanoseconds from JSON", map[string]any{"duration": float64(90 * time.Second)}, 90 * time.Second, "duration"},
		{"an expression is unknown, not defaulted", map[string]any{"wait": true, "timeout": "${{ params.t }}"}, 0, ""},
		{"a required bound left out bounds nothing", map[string]any{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := RunBound(bounds, tt.args)
			if got != tt.want || from != tt.from {
				t.Errorf("RunBound = %s from %q, want %s from %q", got, from, tt.want, tt.from)
			}
		})
	}
}

func TestBoundProblem(t *testing.T) {
	if p := BoundProblem(2*time.Minute, 5*time.Minute, "duration 5m"); p == "" {
		t.Error("a 2m timeout cannot cover a 5m soak")
	}
	if p := BoundProblem(5*time.Minute, 5*time.Minute, "duration 5m"); p == "" {
		t.Error("a 5m timeout cannot cover a 5m soak's last read")
	}
	if p := BoundProblem(MinTimeout(5*time.Minute), 5*time.Minute, "duration 5m"); p != "" {
		t.Errorf("MinTimeout covers the bound, got %q", p)
	}
	if p := BoundProblem(0, time.Hour, "duration 1h"); p != "" {
		t.Errorf("no explicit timeout: nothing to refuse (the interpreter derives one), got %q", p)
	}
}

func TestAllZeroWeights(t *testing.T) {
	if !AllWeightsZero(map[string]int64{"us-east-1": 0, "us-west-2": 0}) {
		t.Error("0/0 is all zero")
	}
	if AllWeightsZero(map[string]int64{"us-east-1": 0, "us-west-2": 1}) || AllWeightsZero(nil) {
		t.Error("0/1 and nothing are not all zero")
	}
	for _, v := range []any{
		map[string]any{"us-east-1": 0, "us-west-2": 0},
		map[string]any{"us-east-1": float64(0), "us-west-2": int64(0)},
	} {
		if !LiteralWeightsAllZero(v) {
			t.Errorf("%v is all zero", v)
		}
	}
	for _, v := range []any{
		map[string]any{"us-east-1": 0},                                 // may leave the other record's weight
		map[string]any{"us-east-1": 0, "us-west-2": float64(100)},      // one Region takes the writes
		map[string]any{"us-east-1": 0, "us-west-2": "${{ params.w }}"}, // unknown until the run
		"${{ {(params.target): 0} }}",
	} {
		if LiteralWeightsAllZero(v) {
			t.Errorf("%v must not be refused", v)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", time.Hour: "1h", 90 * time.Second: "1m30s", 10 * time.Second: "10s", 2*time.Hour + time.Second: "2h0m1s",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
