package runbook

import (
	"reflect"
	"strings"
	"testing"
)

// A workflow step is checked like a check's arguments, at file:line:col: the workflow must be
// known, its arguments declared and typed, the required ones given.
func TestParseWorkflowStep(t *testing.T) {
	const head = "schema: switchyard/v1\nname: t\nparams:\n  - {name: target, type: region, required: true}\n  - {name: n, type: string}\nsteps:\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{name: "good", src: head + "  - id: b\n    workflow: backfill-verification\n    with: {source: us-west-2, target: '${{ params.target }}', lookback: 1h, interval: 5s}\n"},
		{name: "unknown workflow", src: head + "  - id: b\n    workflow: backfill-verify\n    with: {source: us-west-2, target: us-east-1}\n",
			want: []string{`t.yaml:8:15: step "b": unknown workflow "backfill-verify": a workflow step names one of [backfill-verification]`}},
		{name: "unknown, mistyped and missing arguments",
			src: head + "  - id: b\n    workflow: backfill-verification\n    with: {source: us-west-2, lookbak: 1h, tolerance: '${{ params.n }}'}\n",
			want: []string{
				`t.yaml:9:5: step "b": missing required argument "target" (region) of workflow backfill-verification`,
				`t.yaml:9:31: step "b": workflow backfill-verification has no argument "lookbak" (did you mean "lookback"?)`,
				`t.yaml:9:55: step "b": argument "tolerance": params.n is a string param, but the argument wants int`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := Parse("t.yaml", []byte(tt.src), testCatalog())
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err == nil && (rb.Steps[0].Kind() != KindWorkflow || !rb.Steps[0].ReadOnly) {
				t.Errorf("a workflow step is of kind workflow and read-only: kind %q, read-only %v", rb.Steps[0].Kind(), rb.Steps[0].ReadOnly)
			}
		})
	}
}

func TestPlanArgsLeaveOutPollArgs(t *testing.T) {
	w, ok := LookupChildWorkflow(WorkflowBackfillVerification)
	if !ok {
		t.Fatal("backfill-verification is not listed")
	}
	got := w.PlanArgs(map[string]any{"source": "a", "interval": "5s", "timeout": "1h", "lookback": "1h"})
	if want := map[string]any{"source": "a", "lookback": "1h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
