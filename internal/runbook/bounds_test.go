package runbook

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// boundsCatalog has the entries whose arguments bound a step's run time or a write window, shaped
// like the worker's.
func boundsCatalog() *catalog.Catalog {
	env := catalog.Field{Name: "environment", Type: catalog.TypeString, Required: true}
	region := catalog.Field{Name: "region", Type: catalog.TypeRegion, Required: true}
	return catalog.New(
		catalog.Spec{Name: "cloudwatch.soak", Kind: catalog.KindCheck, ReadOnly: true, Args: []catalog.Field{env, region,
			{Name: "duration", Type: catalog.TypeDuration, Required: true, Bounds: true},
			{Name: "interval", Type: catalog.TypeDuration}}},
		catalog.Spec{Name: "opensearch.ingesting", Kind: catalog.KindCheck, ReadOnly: true, Args: []catalog.Field{env, region,
			{Name: "window", Type: catalog.TypeDuration, Default: "60s", Bounds: true, DNSWindow: true}}},
		catalog.Spec{Name: "route53.set_weights", Kind: catalog.KindAction, Args: []catalog.Field{env, region,
			{Name: "weights", Type: catalog.TypeWeights, Required: true, NotAllZero: true},
			{Name: "wait", Type: catalog.TypeBool},
			{Name: "timeout", Type: catalog.TypeDuration, Default: "5m", Bounds: true, BoundsIf: "wait"}}},
	)
}

const boundedRunbook = `schema: switchyard/v1
name: shift
params:
  - name: target
    type: region
    default: us-west-2
  - name: soak
    type: duration
    default: 5m
  - name: verify_window
    type: duration
    default: 60s
steps:
  - id: shift
    action: route53.set_weights
    with: {environment: lab, region: us-west-2, weights: {us-west-2: 100, us-east-1: 0}, wait: true}
  - id: soak_10
    check: cloudwatch.soak
    with: {environment: lab, region: us-west-2, duration: "${{ params.soak }}"}
  - id: verify_writes
    check: opensearch.ingesting
    with: {environment: lab, region: us-west-2, window: "${{ params.verify_window }}"}
`

// A step's explicit timeout that cannot cover its entry's bound is refused at its position, with
// the param default the bound came from; a step without one is left to the interpreter, which
// gets the bounds from the loader.
func TestTimeoutThatCannotCoverTheBoundIsRefused(t *testing.T) {
	rb, err := Parse("shift.yaml", []byte(boundedRunbook), boundsCatalog())
	if err != nil {
		t.Fatalf("without timeouts the runbook is valid: %v", err)
	}
	steps := map[string]*Step{}
	forEachStep(rb.Steps, func(s *Step) { steps[s.ID] = s })
	if got, want := steps["soak_10"].Bounds, []catalog.Bound{{Arg: "duration"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("soak_10 bounds = %+v, want %+v", got, want)
	}
	if got, want := steps["shift"].Bounds, []catalog.Bound{{Arg: "timeout", Default: "5m", If: "wait"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("shift bounds = %+v, want %+v", got, want)
	}

	src := strings.Replace(boundedRunbook, "duration: \"${{ params.soak }}\"}\n", "duration: \"${{ params.soak }}\"}\n    timeout: 2m\n", 1)
	src = strings.Replace(src, "weights: {us-west-2: 100, us-east-1: 0}, wait: true}\n", "weights: {us-west-2: 100, us-east-1: 0}, wait: true}\n    timeout: 5m\n", 1)
	src = strings.Replace(src, "window: \"${{ params.verify_window }}\"}\n", "window: \"${{ params.verify_window }}\"}\n    timeout: 2m\n", 1)
	_, err = Parse("shift.yaml", []byte(src), boundsCatalog())
	want := []string{
		`shift.yaml:17:14: step "shift": timeout 5m cannot cover timeout 5m (the entry's default): the step needs at least 5m30s (5m + 30s for the last read); raise the timeout or leave it out to have it derived`,
		`shift.yaml:21:14: step "soak_10": timeout 2m cannot cover duration 5m (params.soak's default): the step needs at least 5m30s (5m + 30s for the last read); raise the timeout or leave it out to have it derived`,
	}
	if err == nil {
		t.Fatal("short timeouts must be refused")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

// Weights written literally as all 0 are refused at load: Route 53 would route to every Region.
func TestAllZeroLiteralWeightsAreRefused(t *testing.T) {
	src := strings.Replace(boundedRunbook, "{us-west-2: 100, us-east-1: 0}", "{us-west-2: 0, us-east-1: 0}", 1)
	_, err := Parse("shift.yaml", []byte(src), boundsCatalog())
	if err == nil || !strings.Contains(err.Error(), `shift.yaml:16:58: step "shift": argument "weights": every weight of the record group would be 0`) {
		t.Fatalf("want the all-zero weights refused at their position, got %v", err)
	}
}

// writeFolder makes a runbook folder with the shipped environments (lab: TTL 5 s, example: 60 s)
// and one runbook.
func writeFolder(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"lab", "example"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "runbooks", "environments", env+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "environments", env+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "shift.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A write window shorter than an environment's record TTL plus the margin is a warning at load
// (per environment, at the argument's position); it does not fail the load.
func TestLoadDirWarnsAboutWriteWindowsShorterThanTheTTL(t *testing.T) {
	dir := writeFolder(t, boundedRunbook)
	set, err := LoadDir(dir, boundsCatalog())
	if err != nil {
		t.Fatalf("warnings must not fail the load: %v", err)
	}
	path := filepath.Join(dir, "shift.yaml")
	want := []string{path + `:22:57: warning: step "verify_writes": window 1m (params.verify_window's default) of opensearch.ingesting is shorter than the 1m TTL of environment example's record ingest.example.com plus 20s: resolvers may keep sending writes to the old Region for up to the TTL after Route 53 is INSYNC, so the check can fail (or pass on writes that went elsewhere); make it at least 1m20s`}
	if got := strings.Split(set.Warnings.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", set.Warnings, strings.Join(want, "\n"))
	}

	set, err = LoadDir(writeFolder(t, strings.Replace(boundedRunbook, "default: 60s", "default: 2m", 1)), boundsCatalog())
	if err != nil || len(set.Warnings) != 0 {
		t.Errorf("a 2m window covers both TTLs: err %v, warnings %v", err, set.Warnings)
	}
}

// At a run's start the same checks use the run's values: a timeout the given soak outlasts is
// an error, a short window a warning for the run's environment only.
func TestCheckRunUsesTheRunsValues(t *testing.T) {
	src := strings.Replace(boundedRunbook, "duration: \"${{ params.soak }}\"}\n", "duration: \"${{ params.soak }}\"}\n    timeout: 10m\n", 1)
	dir := writeFolder(t, src)
	cat := boundsCatalog()
	set, err := LoadDir(dir, cat)
	if err != nil {
		t.Fatalf("a 10m timeout covers the 5m default: %v", err)
	}
	rb := set.Runbooks["shift"]
	params, err := rb.BindParams(map[string]any{"soak": "15m", "verify_window": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := set.CheckRun("shift", "lab", params, cat)
	path := filepath.Join(dir, "shift.yaml")
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 1 || !strings.HasPrefix(el[0].Error(), path+`:20:14: step "soak_10": timeout 10m cannot cover duration 15m (params.soak)`) {
		t.Errorf("want the 15m soak refused at the timeout's position, got %v", err)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0].Error(), path+`:23:57: warning: step "verify_writes": window 10s (params.verify_window) of opensearch.ingesting is shorter than the 5s TTL of environment lab's record`) {
		t.Errorf("want one warning for the lab's TTL, got %v", warnings)
	}

	params, _ = rb.BindParams(map[string]any{"soak": "1m"})
	if warnings, err := set.CheckRun("shift", "lab", params, cat); err != nil || len(warnings) != 0 {
		t.Errorf("a 1m soak and a 60s window fit the lab: %v %v", err, warnings)
	}
}

// A region param must name a Region of the environment; every problem is reported at once.
func TestBindParamsInChecksRegionsOfTheEnvironment(t *testing.T) {
	env := &Environment{Name: "lab", Regions: map[string]RegionConfig{"us-east-1": {}, "us-west-2": {}}}
	rb := &Runbook{Params: []Param{
		{Name: "target", Type: TypeRegion, Required: true},
		{Name: "source", Type: TypeRegion, Default: "us-east-1"},
		{Name: "n", Type: TypeInt},
	}}
	if _, err := rb.BindParamsIn(map[string]any{"target": "us-west-2"}, env); err != nil {
		t.Errorf("us-west-2 is a Region of lab: %v", err)
	}
	_, err := rb.BindParamsIn(map[string]any{"target": "us-east-9", "n": "x"}, env)
	want := []string{
		`param "n": want int, got string "x"`,
		`param "target": "us-east-9" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`,
	}
	if err == nil || !reflect.DeepEqual(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	_, err = rb.BindParamsIn(map[string]any{"target": "us-west-2", "source": "eu-west-1"}, env)
	if err == nil || err.Error() != `param "source": "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)` {
		t.Errorf("got %v", err)
	}
	if _, err := rb.BindParamsIn(map[string]any{"target": "us-east-9"}, nil); err != nil {
		t.Errorf("without the environment only the shape is checked: %v", err)
	}
}
