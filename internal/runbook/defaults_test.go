package runbook

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// decodeNormalized decodes and normalizes src without validating it.
func decodeNormalized(t *testing.T, path string, src []byte, cat *catalog.Catalog) (*Runbook, posTable) {
	t.Helper()
	var errs ErrorList
	root := parseDoc(path, src, &errs)
	if root == nil {
		t.Fatalf("parse %s: %v", path, errs.Err())
	}
	rb := &Runbook{}
	d := &decoder{file: path, errs: &errs, pos: posTable{}}
	d.decodeStruct(root, reflect.ValueOf(rb).Elem(), "runbook", rb)
	normalize(rb, d.pos, cat)
	return rb, d.pos
}

// Defaults are filled in once, by the loader's normalize step: the runbook the interpreter gets
// holds every value, and validation changes nothing of it.
func TestNormalizeFillsDefaultsAndValidationOnlyReads(t *testing.T) {
	const src = `schema: switchyard/v1
name: t
steps:
  - id: ok
    check: msk.replication_lag
    with: {region: us-east-1}
  - id: wait
    wait_until:
      check: msk.replication_lag
      with: {region: us-east-1}
      timeout: 5m
  - id: approve
    approval:
      message: go?
      timeout: 10m
`
	rb, _ := decodeNormalized(t, "t.yaml", []byte(src), testCatalog())
	if rb.Lock != DefaultLock {
		t.Errorf("lock = %q, want %q", rb.Lock, DefaultLock)
	}
	for _, s := range rb.Steps {
		if s.OnFailure != DefaultOnFailure {
			t.Errorf("step %s: on_failure = %q, want %q", s.ID, s.OnFailure, DefaultOnFailure)
		}
	}
	if got := rb.Steps[1].WaitUntil.Interval.D(); got != DefaultWaitInterval {
		t.Errorf("wait interval = %s, want %s", got, DefaultWaitInterval)
	}
	if a := rb.Steps[2].Approval; a.Quorum != 1 || a.OnTimeout != TimeoutAbort || !a.SelfApprovalAllowed() {
		t.Errorf("approval = %+v (self approval %v), want quorum 1, on_timeout abort, self approval allowed", a, a.SelfApprovalAllowed())
	}
	if !rb.Steps[0].ReadOnly || !rb.Steps[1].ReadOnly || rb.Steps[2].ReadOnly {
		t.Errorf("read-only = %v %v %v, want true true false", rb.Steps[0].ReadOnly, rb.Steps[1].ReadOnly, rb.Steps[2].ReadOnly)
	}

	// The validator only reads: a normalized runbook is the same after every check, for the
	// good corpus and for one with problems.
	for _, path := range []string{"testdata/good/regional_failover.yaml", "testdata/good/verify.yaml", "testdata/broken/quorum.yaml"} {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cat := testCatalog()
		before, _ := decodeNormalized(t, path, src, cat)
		checked, pos := decodeNormalized(t, path, src, cat)
		var errs ErrorList
		c := &checker{file: path, name: baseName(path), cat: cat, rb: checked, pos: pos, errs: &errs}
		c.checkRunbook()
		if !reflect.DeepEqual(before, checked) {
			t.Errorf("%s: validation changed the runbook", path)
		}
	}
}

// A quorum written as 0 is reported where it is written, not replaced by the default.
func TestWrittenZeroQuorumIsReportedNotDefaulted(t *testing.T) {
	_, err := Parse("t.yaml", []byte(`schema: switchyard/v1
name: t
steps:
  - id: approve
    approval:
      message: go
      timeout: 10m
      quorum: 0
`), testCatalog())
	want := `t.yaml:8:15: step "approve": approval.quorum must be at least 1, got 0`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestCallTimeout(t *testing.T) {
	soak := catalog.Bound{Arg: "duration", Default: "1m"}
	cases := []struct {
		name string
		step Step
		args map[string]any
		want time.Duration
	}{
		{"own timeout", Step{Timeout: Duration(30 * time.Second), Bounds: []catalog.Bound{soak}}, map[string]any{"duration": "1h"}, 30 * time.Second},
		{"the default", Step{}, nil, DefaultStepTimeout},
		{"raised to cover the bound", Step{Bounds: []catalog.Bound{soak}}, map[string]any{"duration": "5m"}, catalog.MinTimeout(5 * time.Minute)},
	}
	for _, tc := range cases {
		if got := tc.step.CallTimeout(tc.args); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
