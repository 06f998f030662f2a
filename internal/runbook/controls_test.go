package runbook

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// TestOnFailurePauseAndSkippable: on_failure: pause and skippable are part of the language; the
// loader fills in the catalog's argument types an operator's retry with changed with: values is
// checked against, and reports a contradiction (skippable: false on a step that continues) where
// it is written.
func TestOnFailurePauseAndSkippable(t *testing.T) {
	src := `schema: switchyard/v1
name: paused
steps:
  - id: stop
    action: osis.stop_pipeline
    with: {region: us-east-1, pipeline: p}
    on_failure: pause
    skippable: false
`
	rb, err := Parse("paused.yaml", []byte(src), testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	s := &rb.Steps[0]
	if s.OnFailure != OnFailurePause || s.CanSkip() {
		t.Errorf("on_failure %q, can skip %t; want pause and not skippable", s.OnFailure, s.CanSkip())
	}
	if s.ArgTypes["region"] != catalog.TypeRegion || s.ArgTypes["pipeline"] != catalog.TypeString {
		t.Errorf("arg types %v", s.ArgTypes)
	}
	if !s.PausesOnFailure(nil) {
		t.Error("on_failure: pause must pause")
	}

	bad := strings.Replace(src, "on_failure: pause", "on_failure: continue", 1)
	_, err = Parse("paused.yaml", []byte(bad), testCatalog())
	if err == nil || !strings.Contains(err.Error(), `paused.yaml:8:16: step "stop": skippable: false with on_failure: continue is a contradiction`) {
		t.Errorf("got %v", err)
	}
	_, err = Parse("paused.yaml", []byte(strings.Replace(src, "on_failure: pause", "on_failure: paws", 1)), testCatalog())
	if err == nil || !strings.Contains(err.Error(), `paused.yaml:7:17: step "stop": on_failure must be abort, continue, rollback or pause, got "paws"`) {
		t.Errorf("got %v", err)
	}
}

// TestEnvironmentOnFailurePause: an environment's on_failure: pause turns the failures that
// would stop a DR run (abort, rollback) into pauses, leaves continue alone, and any other value
// is refused at its position.
func TestEnvironmentOnFailurePause(t *testing.T) {
	src, err := os.ReadFile("testdata/good/environments/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvironment("lab.yaml", append(append([]byte{}, src...), "on_failure: pause\n"...))
	if err != nil {
		t.Fatal(err)
	}
	for policy, want := range map[FailurePolicy]bool{OnFailureAbort: true, OnFailureRollback: true, OnFailureContinue: false, OnFailurePause: true} {
		if got := (&Step{OnFailure: policy}).PausesOnFailure(env); got != want {
			t.Errorf("%s under on_failure: pause pauses = %t, want %t", policy, got, want)
		}
		if got := (&Step{OnFailure: policy}).PausesOnFailure(&Environment{}); got != (policy == OnFailurePause) {
			t.Errorf("%s without an environment default pauses = %t", policy, got)
		}
	}
	lines := strings.Count(string(src), "\n")
	_, err = ParseEnvironment("lab.yaml", append(append([]byte{}, src...), "on_failure: abort\n"...))
	want := "lab.yaml:" + strconv.Itoa(lines+1) + ":13: on_failure must be pause (or left out, so that each step's own on_failure applies), got \"abort\""
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
