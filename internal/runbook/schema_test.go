package runbook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const schemaFile = "../../" + SchemaPath

// TestJSONSchemaFile fails when docs/runbook.schema.json is stale. Regenerate it with
// `go generate ./internal/runbook` (or go test ./internal/runbook -run TestJSONSchemaFile -update).
func TestJSONSchemaFile(t *testing.T) {
	got := JSONSchema()
	if !json.Valid(got) {
		t.Fatal("JSONSchema is not valid JSON")
	}
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("read %s (regenerate with go generate ./internal/runbook): %v", SchemaPath, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: regenerate it with go generate ./internal/runbook", SchemaPath)
	}
}

// TestRunbooksMatchSchema checks the repository's runbooks against the schema editors use.
func TestRunbooksMatchSchema(t *testing.T) {
	files, _ := filepath.Glob("../../runbooks/*.yaml")
	if len(files) == 0 {
		t.Skip("no runbooks in runbooks/ yet")
	}
	schema := loadSchema(t)
	for _, f := range files {
		if problems := validateFile(t, schema, f); len(problems) > 0 {
			t.Errorf("%s does not match %s:\n%s", f, SchemaPath, strings.Join(problems, "\n"))
		}
	}
}

// TestSchemaAgreesWithLoader runs the structural check on files the loader accepts and on files
// it rejects for structural reasons, so the schema neither rejects good runbooks nor misses the
// mistakes an editor should underline.
func TestSchemaAgreesWithLoader(t *testing.T) {
	schema := loadSchema(t)
	for _, f := range []string{"testdata/good/regional_failover.yaml", "testdata/good/verify.yaml"} {
		if problems := validateFile(t, schema, f); len(problems) > 0 {
			t.Errorf("%s:\n%s", f, strings.Join(problems, "\n"))
		}
	}
	tests := map[string][]string{
		"testdata/broken/unknown_field.yaml": {
			`/: unknown property "descripton"`,
			`/steps/0: matches 0 of the oneOf schemas, want exactly 1`,
			`/steps/0: unknown property "acton"`,
			`/steps/1/wait_until: unknown property "color"`,
		},
		"testdata/broken/two_kinds.yaml": {
			`/steps/0: matches 2 of the oneOf schemas, want exactly 1`,
			`/steps/1: matches 3 of the oneOf schemas, want exactly 1`,
		},
		"testdata/broken/schema_name.yaml": {
			`/lock: "exclusive" is not one of [environment none]`,
			`/schema: want "switchyard/v1"`,
			`/steps: want at least 1 items, got 0`,
		},
		"testdata/broken/bad_duration.yaml": {
			`/steps/0/retry/attempts: 0 is less than 1`,
			`/steps/0/timeout: "5 minutes" does not match ` + durationPattern,
			`/steps/1/wait_until/interval: want string, got integer`,
			`/steps/1/wait_until/timeout: "-5m" does not match ` + durationPattern,
		},
	}
	for f, want := range tests {
		got := validateFile(t, schema, f)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", f, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(JSONSchema(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// validateFile decodes a YAML file into JSON values and validates it against the schema.
func validateFile(t *testing.T, schema map[string]any, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(src, &y); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	v := &miniValidator{root: schema}
	v.validate(schema, doc, "")
	slices.Sort(v.problems)
	return v.problems
}

// miniValidator implements the part of JSON Schema 2020-12 that JSONSchema uses: $ref into
// $defs, type, properties, additionalProperties, required, enum, const, pattern, minimum,
// minItems, items and oneOf. It exists so the test needs no new dependency.
type miniValidator struct {
	root     map[string]any
	problems []string
}

func (v *miniValidator) fail(path, format string, args ...any) {
	if path == "" {
		path = "/"
	}
	v.problems = append(v.problems, path+": "+fmt.Sprintf(format, args...))
}

func (v *miniValidator) validate(s map[string]any, doc any, path string) {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		v.validate(v.root["$defs"].(map[string]any)[name].(map[string]any), doc, path)
	}
	if typ, ok := s["type"]; ok && !typeMatches(typ, doc) {
		v.fail(path, "want %v, got %s", typ, jsonType(doc))
		return
	}
	if c, ok := s["const"]; ok && c != doc {
		v.fail(path, "want %q", c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.Contains(e, doc) {
		v.fail(path, "%q is not one of %v", doc, e)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := doc.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			v.fail(path, "%q does not match %s", str, p)
		}
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isNum := doc.(float64); isNum && n < m {
			v.fail(path, "%v is less than %v", n, m)
		}
	}
	if arr, isArr := doc.([]any); isArr {
		if m, ok := s["minItems"].(float64); ok && float64(len(arr)) < m {
			v.fail(path, "want at least %v items, got %d", m, len(arr))
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, el := range arr {
				v.validate(items, el, fmt.Sprintf("%s/%d", path, i))
			}
		}
	}
	if obj, isObj := doc.(map[string]any); isObj {
		props, _ := s["properties"].(map[string]any)
		required, _ := s["required"].([]any)
		for _, r := range required {
			if _, ok := obj[r.(string)]; !ok {
				v.fail(path, "missing required property %q", r)
			}
		}
		for k, val := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				v.validate(ps, val, path+"/"+k)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					v.fail(path, "unknown property %q", k)
				}
			case map[string]any:
				v.validate(ap, val, path+"/"+k)
			}
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, alt := range one {
			sub := &miniValidator{root: v.root}
			sub.validate(alt.(map[string]any), doc, path)
			if len(sub.problems) == 0 {
				n++
			}
		}
		if n != 1 {
			v.fail(path, "matches %d of the oneOf schemas, want exactly 1", n)
		}
	}
}

func typeMatches(typ, doc any) bool {
	if list, ok := typ.([]any); ok {
		return slices.ContainsFunc(list, func(t any) bool { return typeMatches(t, doc) })
	}
	got := jsonType(doc)
	return got == typ || (typ == "number" && got == "integer")
}

func jsonType(doc any) string {
	switch d := doc.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if d == math.Trunc(d) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", doc)
}
