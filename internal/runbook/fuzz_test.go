package runbook_test

// Fuzz targets for what reaches the loader and the expression language from people: runbook and
// environment files (edited by hand, often during an incident) and the ${{ }} expressions in
// them. The seed corpora in testdata/fuzz are the shipped runbooks, the broken corpus and every
// expression the shipped runbooks use; plain `go test` runs them, `go test -fuzz` explores from
// them.
//
// The package is runbook_test so that the real catalog (activities) can be used: with it the
// shipped runbooks validate cleanly, so mutations explore every check instead of stopping at
// "unknown action".

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-dr/switchyard/activities"
	"github.com/switchyard-dr/switchyard/internal/catalog"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// fuzzPath is the path fuzzed sources are reported under. Its base name matches no runbook, so
// every input also gets the name check's message; the loader keeps checking after it.
const fuzzPath = "runbooks/fuzz.yaml"

var fuzzLine = regexp.MustCompile(`^runbooks/fuzz\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S`)

var realCatalog = sync.OnceValue(func() *catalog.Catalog {
	return activities.NewCatalogRegistry(activities.Options{}).Catalog()
})

// checkLoaderError asserts the loader's contract for a failed load: an ErrorList whose every
// problem is one line of the form path:line:col: message, positioned inside the file.
func checkLoaderError(t *testing.T, src []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var list runbook.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want a runbook.ErrorList: %v", err, err)
	}
	if len(list) == 0 {
		t.Fatal("a non-nil error holds no problems")
	}
	lines := strings.Split(string(src), "\n")
	for _, e := range list {
		if e == nil {
			t.Fatal("nil problem in the list")
		}
		if e.Pos.File != fuzzPath {
			t.Errorf("problem names file %q, want %q: %v", e.Pos.File, fuzzPath, e)
		}
		if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
			t.Errorf("line %d outside the file's %d lines: %v", e.Pos.Line, len(lines), e)
		}
		if e.Pos.Col < 1 {
			t.Errorf("column %d: %v", e.Pos.Col, e)
		}
		if strings.TrimSpace(e.Msg) == "" {
			t.Errorf("empty message at %v", e.Pos)
		}
		if strings.ContainsAny(e.Msg, "\r\n") {
			t.Errorf("message spans lines (breaks one problem per line): %q", e.Error())
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !fuzzLine.MatchString(line) {
			t.Errorf("line not of the form path:line:col: message: %q", line)
		}
	}
}

// FuzzParse: Parse never panics, and a failed load reports every problem as path:line:col.
func FuzzParse(f *testing.F) {
	cat := realCatalog()
	f.Fuzz(func(t *testing.T, src []byte) {
		rb, err := runbook.Parse(fuzzPath, src, cat)
		checkLoaderError(t, src, err)
		if err == nil && rb == nil {
			t.Fatal("no runbook and no error")
		}
	})
}

// FuzzParseEnvironment: the same contract for environment files.
func FuzzParseEnvironment(f *testing.F) {
	f.Fuzz(func(t *testing.T, src []byte) {
		env, err := runbook.ParseEnvironment(fuzzPath, src)
		checkLoaderError(t, src, err)
		if err == nil && env == nil {
			t.Fatal("no environment and no error")
		}
	})
}

// fuzzScope is a fixed Scope shaped like a real run's: the lab environment, typed params, a
// finished step and the run's description.
var fuzzScope = sync.OnceValues(func() (runbook.Scope, error) {
	env, err := runbook.LoadEnvironmentFile("../../runbooks/environments/lab.yaml")
	if err != nil {
		return runbook.Scope{}, err
	}
	return runbook.Scope{
		Params: map[string]any{"target": "us-west-2", "source": "us-east-1", "count": float64(3), "strict": true,
			"ratio": 0.25, "regions": []any{"us-east-1", "us-west-2"}, "weights": map[string]any{"us-east-1": float64(0), "us-west-2": float64(100)}},
		Env: runbook.EnvScope(env),
		Steps: map[string]map[string]any{
			"preflight": {"status": "succeeded", "ok": true, "reason": "healthy", "error": nil,
				"result": map[string]any{"lag": float64(0), "healthy": true, "alarms": []any{"lab-us-east-1-pipeline-not-ingesting"}}},
			"shift": {"status": "failed", "ok": false, "reason": "", "error": "throttled", "result": nil},
		},
		Run: map[string]any{"id": "switchyard/lab", "mode": "execute", "runbook": "failover", "environment": "lab",
			"requested_by": "alice", "trigger": map[string]any{"kind": "alarm", "alarm": "lab-us-east-1-pipeline-not-ingesting"}},
		Peers: map[string]string{env.Primary: env.Secondary, env.Secondary: env.Primary},
	}, nil
})

func mustScope(t testing.TB) runbook.Scope {
	s, err := fuzzScope()
	if err != nil {
		t.Fatalf("load the lab environment: %v", err)
	}
	return s
}

// outcome renders a result for comparison; fmt prints map keys sorted, so equal values print
// equally whatever the maps' iteration order.
func outcome(v any, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%T %#v", v, v)
}

// FuzzEval: Eval never panics, gives the same result every time (expressions run in workflow
// code, where a replay must see what the first run saw), reports errors on one line, and
// EvalBool agrees with it.
func FuzzEval(f *testing.F) {
	s := mustScope(f)
	f.Fuzz(func(t *testing.T, src string) {
		v, err := runbook.Eval(src, s)
		again := outcome(runbook.Eval(src, s))
		if first := outcome(v, err); first != again {
			t.Fatalf("Eval(%q) is not deterministic:\n first %s\nsecond %s", src, first, again)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Eval(%q) error spans lines: %q", src, err)
		}
		b, berr := runbook.EvalBool(src, s)
		want, isBool := v.(bool)
		switch {
		case err == nil && isBool:
			if berr != nil || b != want {
				t.Fatalf("EvalBool(%q) = %v, %v; Eval gave %v", src, b, berr, v)
			}
		case berr == nil:
			t.Fatalf("EvalBool(%q) = %v with no error; Eval gave %s", src, b, outcome(v, err))
		}
	})
}

// FuzzRender: Render never panics, is deterministic, leaves its input unchanged and text without
// ${{ untouched, and keeps the shape of maps and lists.
func FuzzRender(f *testing.F) {
	s := mustScope(f)
	f.Fuzz(func(t *testing.T, str string) {
		in := map[string]any{"value": str, "list": []any{str, "before " + str, float64(1)}, "n": true}
		v, err := runbook.Render(in, s)
		if again := outcome(runbook.Render(in, s)); again != outcome(v, err) {
			t.Fatalf("Render(%q) is not deterministic:\n first %s\nsecond %s", str, outcome(v, err), again)
		}
		if in["value"] != str || in["list"].([]any)[0] != str {
			t.Fatalf("Render modified its input")
		}
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("Render(%q) error spans lines: %q", str, err)
			}
			if !strings.Contains(str, "${{") {
				t.Fatalf("Render(%q) failed on text with no ${{: %v", str, err)
			}
			return
		}
		out, ok := v.(map[string]any)
		if !ok || len(out) != len(in) || out["n"] != true {
			t.Fatalf("Render changed the map's shape: %#v", v)
		}
		list, ok := out["list"].([]any)
		if !ok || len(list) != 3 || list[2] != float64(1) {
			t.Fatalf("Render changed the list's shape: %#v", out["list"])
		}
		if !strings.Contains(str, "${{") && (!reflect.DeepEqual(out["value"], str) || list[1] != "before "+str) {
			t.Fatalf("Render changed text with no ${{: %#v", out)
		}
	})
}

// TestNullValuesAreDecoded is the regression test of FuzzParse's first finding: a YAML null
// where any value is allowed (a param's default, an argument in with:) made the loader panic (reflect: Set of the zero Value), so `switchyard validate`
// crashed instead of answering. A null default is no default; a null argument is reported
// against the argument's type, with its position.
func TestNullValuesAreDecoded(t *testing.T) {
	src := "schema: switchyard/v1\nname: fuzz\ndescription: nulls\nparams:\n  - name: target\n    type: string\n    default:\n" +
		"steps:\n  - id: say\n    action: core.echo\n    with: {message: null}\n"
	rb, err := runbook.Parse(fuzzPath, []byte(src), realCatalog())
	if rb == nil || len(rb.Params) != 1 || rb.Params[0].Default != nil {
		t.Fatalf("runbook not decoded: %+v", rb)
	}
	if msg, ok := rb.Steps[0].With["message"]; !ok || msg != nil {
		t.Fatalf("with.message = %#v, %v; want a present nil", msg, ok)
	}
	want := fuzzPath + `:11:21: step "say": argument "message": want string, got null`
	checkLoaderError(t, []byte(src), err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant a problem %q", err, want)
	}
}
