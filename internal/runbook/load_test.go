package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

func TestLoadDirGood(t *testing.T) {
	set, err := LoadDir("testdata/good", testCatalog())
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if got := sortedKeys(set.Runbooks); !reflect.DeepEqual(got, []string{"regional_failover", "verify"}) {
		t.Errorf("runbooks = %v", got)
	}
	if got := sortedKeys(set.Environments); !reflect.DeepEqual(got, []string{"lab"}) {
		t.Errorf("environments = %v", got)
	}
	for key, path := range map[string]string{
		"runbook:regional_failover": "testdata/good/regional_failover.yaml",
		"runbook:verify":            "testdata/good/verify.yaml",
		"environment:lab":           "testdata/good/environments/lab.yaml",
	} {
		src, ok := set.Sources[key]
		text, _ := os.ReadFile(path)
		sum := sha256.Sum256(text)
		if !ok || src.Path != path || string(src.Text) != string(text) || src.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("Sources[%q] = %+v, want path %s and its sha256", key, src, path)
		}
	}

	rb := set.Runbooks["regional_failover"]
	steps := map[string]*Step{}
	forEachStep(rb.Steps, func(s *Step) { steps[s.ID] = s })

	// ReadOnly comes from the catalog and the step kinds.
	readOnly := map[string]bool{
		"preflight": true, "lag": true, "source_side": true, "alarms": true, "count_before": true,
		"approve": false, "stop_source": false, "restart_source": false, "drain": false, "shift": false,
		"shift_back": false, "caught_up": true, "verify": false, "done": false,
	}
	for id, want := range readOnly {
		if s := steps[id]; s == nil || s.ReadOnly != want {
			t.Errorf("step %s: ReadOnly = %v, want %v", id, s != nil && s.ReadOnly, want)
		}
	}
	// Defaults are filled in, so the interpreter need not know them.
	if rb.Lock != LockEnvironment || set.Runbooks["verify"].Lock != LockNone {
		t.Errorf("locks = %q, %q", rb.Lock, set.Runbooks["verify"].Lock)
	}
	if got := steps["caught_up"].WaitUntil.Interval; got.D() != 10*time.Second {
		t.Errorf("default wait interval = %s", got)
	}
	if got := set.Runbooks["verify"].Steps[1].WaitUntil.Interval; got.D() != 30*time.Second {
		t.Errorf("explicit wait interval = %s", got)
	}
	if a := steps["approve"].Approval; a.Quorum != 2 || a.OnTimeout != TimeoutAbort || a.Timeout.D() != 30*time.Minute {
		t.Errorf("approval = %+v", a)
	}
	if steps["drain"].OnFailure != OnFailureAbort || steps["shift"].OnFailure != OnFailureRollback {
		t.Errorf("on_failure = %q, %q", steps["drain"].OnFailure, steps["shift"].OnFailure)
	}
	// Positions point at each step's first key.
	if p := steps["shift"].Pos; p != (Pos{File: "testdata/good/regional_failover.yaml", Line: 74, Col: 5}) {
		t.Errorf("shift.Pos = %v", p)
	}
	if p := rb.Params[1].Pos; p.Line != 11 || p.Col != 5 {
		t.Errorf("params[1].Pos = %v", p)
	}
	// with: values are the plain values JSON would give.
	if got := steps["caught_up"].WaitUntil.With; !reflect.DeepEqual(got, map[string]any{"region": "${{ params.target_region }}", "max_lag": 0}) {
		t.Errorf("wait with = %#v", got)
	}
	if got := rb.Params[1].Default; got != 1000 {
		t.Errorf("default = %#v", got)
	}

	// The runbook survives the JSON round trip it makes through workflow history.
	b, err := json.Marshal(rb)
	if err != nil {
		t.Fatal(err)
	}
	var back Runbook
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Steps[4].Action != "route53.set_weights" || back.Steps[5].WaitUntil.Timeout.D() != 15*time.Minute || !back.Steps[0].ReadOnly {
		t.Errorf("round trip lost data: %s", b)
	}
}

func TestLoadDirKeepsInvalidFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok.yaml", "schema: switchyard/v1\nname: ok\nsteps:\n  - id: a\n    action: route53.get_weights\n")
	write("invalid.yaml", "schema: switchyard/v1\nname: invalid\nsteps:\n  - id: a\n    action: nope\n")
	write("broken.yaml", "steps: [\n")
	write("notes.txt", "not a runbook")
	set, err := LoadDir(dir, testCatalog())
	if set == nil {
		t.Fatalf("LoadDir returned no set: %v", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if !strings.HasPrefix(list[0].Error(), filepath.Join(dir, "broken.yaml")+":") || !strings.HasPrefix(list[1].Error(), filepath.Join(dir, "invalid.yaml")+":5:13: ") {
		t.Errorf("problems = %v", err)
	}
	// The valid and the invalid runbook are in the set; the unparsable one only has its source.
	if set.Runbooks["ok"] == nil || set.Runbooks["invalid"] == nil || set.Runbooks["broken"] != nil {
		t.Errorf("runbooks = %v", sortedKeys(set.Runbooks))
	}
	if _, ok := set.Sources["runbook:broken"]; !ok {
		t.Error("no source for the unparsable runbook")
	}

	if set, err := LoadDir(filepath.Join(dir, "missing"), testCatalog()); set != nil || err == nil {
		t.Errorf("missing dir: got %v, %v", set, err)
	}
}

// TestParse is the validator's table: small inline runbooks and their exact messages.
func TestParse(t *testing.T) {
	const head = "schema: switchyard/v1\nname: t\n"
	tests := []struct {
		name string
		src  string
		cat  *catalog.Catalog
		want []string // exact messages, path t.yaml
	}{
		{name: "minimal", src: head + "steps:\n  - id: a\n    action: route53.get_weights\n"},
		{name: "bool if and expression wrapper",
			src: head + "steps:\n  - id: a\n    action: route53.get_weights\n    if: false\n  - id: b\n    action: route53.get_weights\n    if: ${{ steps.a.ok }}\n"},
		{name: "missing schema, name and steps", src: "description: x\n", want: []string{
			`t.yaml:1:1: missing required field "schema" in runbook`,
			`t.yaml:1:1: missing required field "name" in runbook`,
			`t.yaml:1:1: missing required field "steps" in runbook`,
		}},
		{name: "not a mapping", src: "- a\n- b\n", want: []string{`t.yaml:1:1: runbook: want a mapping, got a list`}},
		{name: "nil catalog skips catalog checks", cat: nil,
			src:  head + "steps:\n  - id: a\n    action: anything.goes\n    with: {x: '${{ params.nope }}'}\n",
			want: []string{`t.yaml:6:15: params.nope is not a declared param`}},
		{name: "aliases resolve",
			src: head + "steps:\n  - id: a\n    check: msk.replication_lag\n    with: &w {region: us-east-1}\n  - id: b\n    check: msk.replication_lag\n    with: *w\n"},
		{name: "merge keys are refused",
			src: head + "steps:\n  - id: a\n    check: msk.replication_lag\n    with: &w {region: us-east-1}\n  - id: b\n    <<: {check: msk.replication_lag}\n    with: *w\n",
			want: []string{
				`t.yaml:7:5: step "b" has no kind: give it one of action, check, wait_until, approval, parallel, steps, runbook, notify, workflow`,
				`t.yaml:8:5: step: merge keys (<<) are not supported; write the fields out`,
			}},
		{name: "timestamps stay strings",
			src:  head + "steps:\n  - id: a\n    action: opensearch.doc_count\n    with: {region: us-east-1, since: 2024-01-01, index: 2024-01-01}\n",
			want: []string{`t.yaml:6:38: step "a": argument "since": "2024-01-01" is not an RFC 3339 time`}},
		{name: "compensation sees its step and earlier compensations",
			src: head + "steps:\n  - id: a\n    action: route53.get_weights\n    compensate:\n" +
				"      - id: c1\n        action: route53.get_weights\n        if: steps.a.ok\n" +
				"      - id: c2\n        action: route53.get_weights\n        if: steps.c1.ok && steps.a.ok\n"},
		{name: "main line may not use compensations",
			src: head + "steps:\n  - id: a\n    action: route53.get_weights\n    compensate:\n      - id: c1\n        action: route53.get_weights\n" +
				"  - id: b\n    action: route53.get_weights\n    if: steps.c1.ok\n",
			want: []string{`t.yaml:11:9: steps.c1 is not an earlier step (it only runs during rollback)`}},
		{name: "sequence inside a branch sees its earlier steps and what came before the parallel",
			src: head + "steps:\n  - id: first\n    action: route53.get_weights\n  - id: p\n    parallel:\n" +
				"      - id: seq\n        steps:\n          - id: s1\n            action: route53.get_weights\n            if: steps.first.ok\n" +
				"          - id: s2\n            action: route53.get_weights\n            if: steps.s1.ok\n" +
				"      - id: other\n        action: route53.get_weights\n  - id: after\n    action: route53.get_weights\n    if: steps.s2.ok && steps.other.ok && steps.p.ok\n"},
		{name: "with on a kind that takes none",
			src:  head + "steps:\n  - id: a\n    wait_until: {check: msk.replication_lag, timeout: 1m, with: {region: us-east-1}}\n    with: {region: us-east-1}\n",
			want: []string{`t.yaml:6:5: step "a": with: is not used by a wait_until step; put the arguments under wait_until.with`}},
		{name: "compensation without compensate of its own",
			src:  head + "steps:\n  - id: a\n    action: route53.get_weights\n    compensate:\n      - id: c\n        action: route53.get_weights\n        compensate:\n          - id: d\n            action: route53.get_weights\n",
			want: []string{`t.yaml:9:9: step "c": a compensation step cannot have its own compensate`}},
		{name: "weights with expressions inside",
			src: head + "params:\n  - {name: target, type: region, required: true}\nsteps:\n  - id: a\n    action: route53.set_weights\n" +
				"    with:\n      weights: {'${{ params.target }}': 1, us-east-1: '${{ 100 - 1 }}', us-west-2: x}\n",
			want: []string{
				`t.yaml:9:16: key "${{ params.target }}": map keys are not rendered; build the whole map in one expression, like ${{ {(params.region): 100} }}`,
			}},
		{name: "weights with expression values",
			src: head + "steps:\n  - id: a\n    action: route53.set_weights\n" +
				"    with:\n      weights: {us-east-1: '${{ 100 - 1 }}', us-west-2: x}\n",
			want: []string{`t.yaml:7:16: step "a": argument "weights": weight of "us-west-2" must be an integer`}},
		{name: "string param may fill a region argument",
			src:  head + "params:\n  - {name: r, type: string}\nsteps:\n  - id: a\n    check: msk.replication_lag\n    with: {region: '${{ params.r }}', max_lag: '${{ params.r }}'}\n",
			want: []string{`t.yaml:8:48: step "a": argument "max_lag": params.r is a string param, but the argument wants int`}},
		{name: "empty message and no interval default override",
			src:  head + "steps:\n  - id: a\n    notify: {message: ' '}\n",
			want: []string{`t.yaml:5:23: step "a": notify.message must not be empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := tt.cat
			if cat == nil && tt.name != "nil catalog skips catalog checks" {
				cat = testCatalog()
			}
			_, err := Parse("t.yaml", []byte(tt.src), cat)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseInlineName(t *testing.T) {
	// An inline source has no file name to match, and reports positions as <input>.
	_, err := Parse("", []byte("schema: switchyard/v1\nname: anything\nsteps:\n  - id: a\n    action: nope\n"), testCatalog())
	if err == nil || err.Error() != `<input>:5:13: step "a": unknown action "nope"` {
		t.Errorf("got %v", err)
	}
}

func TestParseEnvironmentGood(t *testing.T) {
	env, err := LoadEnvironmentFile("testdata/good/environments/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if env.Peer("us-east-1") != "us-west-2" || env.Regions["us-west-2"].OpenSearch.Kind != "managed" || env.Traffic.TTL != 60 {
		t.Errorf("environment = %+v", env)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"scanner error keeps the line", "a: 1\n  b: 2\n", "f.yaml:2:3: syntax error: mapping values are not allowed in this context"},
		{"parser error is one-based", "a: [1, 2\nb: 3\n", "f.yaml:2:1: syntax error: did not find expected ',' or ']'"},
		{"parser error names the block start", "a:\n  - x\n b: 2\n", "f.yaml:3:2: syntax error: did not find expected key"},
		{"no line means the first", "\ta: 1\n", "f.yaml:1:2: syntax error: found character that cannot start any token"},
		{"past the end moves up", "a: \"open\nb: 1\n", "f.yaml:2:1: syntax error: found unexpected end of stream"},
		{"unknown alias is searched", "a: 1\nb:\n  c: *nope\n", "f.yaml:3:6: syntax error: unknown anchor 'nope' referenced"},
		{"invalid UTF-8 is searched", "a: 1\nb: x\xffy\n", "f.yaml:2:5: syntax error: invalid leading UTF-8 octet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvironment("f.yaml", []byte(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"action", "approval", "check", "id", "if", "with"}
	for word, want := range map[string]string{"acton": "action", "aproval": "approval", "wiht": "with", "chekc": "check", "ix": "id", "zzz": "", "parallel": ""} {
		if got := suggest(word, candidates); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}
