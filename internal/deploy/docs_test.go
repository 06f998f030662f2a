package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
)

const configDoc = "docs/configuration.md"

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

// section returns the text under the first heading whose title satisfies match, up to the next
// heading of the same or a higher level.
func section(doc string, match func(title string) bool) (string, bool) {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		level, title := heading(l)
		if level == 0 || !match(title) {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if lv, _ := heading(lines[j]); lv > 0 && lv <= level {
				end = j
				break
			}
		}
		return strings.Join(lines[i+1:end], "\n"), true
	}
	return "", false
}

func heading(line string) (int, string) {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || len(line) <= n || line[n] != ' ' {
		return 0, ""
	}
	return n, strings.TrimSpace(line[n+1:])
}

// tableKeys returns the first cells of a section's table rows that are a single code span, e.g.
// "`--env`" or "`index_pattern`", without the backticks.
var tableKeyRe = regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")

func tableKeys(sec string) []string {
	var keys []string
	for _, m := range tableKeyRe.FindAllStringSubmatch(sec, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// TestConfigurationDocumentsEveryFlag: each flag of each starter command and of the worker is in
// that command's section of docs/configuration.md, and each flag listed there exists.
func TestConfigurationDocumentsEveryFlag(t *testing.T) {
	doc := readRepoFile(t, configDoc)
	all := map[string]map[string]bool{}
	for cmd, flags := range commandFlags(t, filepath.Join(repoRoot, "starter")) {
		all["starter "+cmd] = flags
	}
	for cmd, flags := range commandFlags(t, filepath.Join(repoRoot, "worker")) {
		all[cmd] = flags
	}
	if len(all) < 10 {
		t.Fatalf("found flags for only %d commands: %v", len(all), all)
	}
	commands := make([]string, 0, len(all))
	for c := range all {
		commands = append(commands, c)
	}
	sort.Strings(commands)
	for _, cmd := range commands {
		flags := all[cmd]
		if strings.TrimSpace(cmd) == "starter" {
			t.Errorf("flags %v have no command: teach commandFlags the new pattern", sortedSet(flags))
			continue
		}
		sec, ok := section(doc, func(title string) bool { return title == "`"+cmd+"`" })
		if !ok {
			t.Errorf("%s: no section titled `%s` in %s", cmd, cmd, configDoc)
			continue
		}
		for _, f := range sortedSet(flags) {
			if !strings.Contains(sec, "`--"+f+"`") {
				t.Errorf("%s: flag --%s is not documented in its section of %s", cmd, f, configDoc)
			}
		}
		for _, k := range tableKeys(sec) {
			if name, ok := strings.CutPrefix(k, "--"); ok && !flags[name] {
				t.Errorf("%s: %s documents --%s, which the command does not define", cmd, configDoc, name)
			}
		}
	}
}

var envVarRe = regexp.MustCompile(`\b(?:SWITCHYARD|SLACK|TEMPORAL)_[A-Z][A-Z0-9_]*`)

// codeEnvVars returns the SWITCHYARD_*, SLACK_* and TEMPORAL_* names in the string literals of
// the module's non-test Go files: every variable the code reads is named in one (a getenv call,
// an envOr default, a constant or a list), and so is every variable a message tells people to set.
func codeEnvVars(t *testing.T) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "docs":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := stringLit(asExpr(n)); ok {
				for _, v := range envVarRe.FindAllString(s, -1) {
					rel, _ := filepath.Rel(repoRoot, path)
					found[v] = append(found[v], rel)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func asExpr(n ast.Node) ast.Expr {
	if e, ok := n.(ast.Expr); ok {
		return e
	}
	return nil
}

// TestConfigurationDocumentsEveryEnvironmentVariable: each variable the code names is in
// docs/configuration.md.
func TestConfigurationDocumentsEveryEnvironmentVariable(t *testing.T) {
	doc := readRepoFile(t, configDoc)
	vars := codeEnvVars(t)
	for _, want := range []string{"TEMPORAL_ADDRESS", "SLACK_BOT_TOKEN", "SWITCHYARD_RUNBOOKS", "SWITCHYARD_ALARM_QUEUES"} {
		if _, ok := vars[want]; !ok {
			t.Fatalf("the scan of the code did not find %s; it finds %v", want, vars)
		}
	}
	names := make([]string, 0, len(vars))
	for v := range vars {
		names = append(names, v)
	}
	sort.Strings(names)
	for _, v := range names {
		if !strings.Contains(doc, "`"+v) {
			t.Errorf("%s (named in %v) is not documented in %s", v, vars[v], configDoc)
		}
	}
}

// TestConfigurationDocumentsEveryYAMLField: each yaml field of the runbook, environment and
// trigger rule models is listed under its type's heading, and each field listed there exists.
func TestConfigurationDocumentsEveryYAMLField(t *testing.T) {
	doc, ok := section(readRepoFile(t, configDoc), func(h string) bool { return h == "YAML files" })
	if !ok {
		t.Fatalf("%s has no section \"YAML files\"", configDoc)
	}
	types := map[reflect.Type]string{}
	for _, root := range []any{runbook.Runbook{}, runbook.Environment{}, triggers.File{}} {
		collectStructs(reflect.TypeOf(root), types)
	}
	types[reflect.TypeOf(triggers.File{})] = "Rules file"
	if len(types) < 14 {
		t.Fatalf("found only %d YAML types: %v", len(types), types)
	}
	for typ, title := range types {
		sec, ok := section(doc, func(h string) bool { return h == title })
		if !ok {
			t.Errorf("%s: no heading %q under \"YAML files\" in %s", typ, title, configDoc)
			continue
		}
		fields := yamlFields(typ)
		listed := map[string]bool{}
		for _, k := range tableKeys(sec) {
			listed[k] = true
			if !fields[k] {
				t.Errorf("%s: %s lists field %q, which %s does not have", title, configDoc, k, typ)
			}
		}
		for _, f := range sortedSet(fields) {
			if !listed[f] {
				t.Errorf("%s: field %q of %s is not listed under %q in %s", title, f, typ, title, configDoc)
			}
		}
	}
}

// collectStructs finds t and every struct type reachable through its yaml fields, titled by
// their Go names.
func collectStructs(t reflect.Type, out map[reflect.Type]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
		return
	}
	if _, seen := out[t]; seen {
		return
	}
	out[t] = t.Name()
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			collectStructs(f.Type, out)
		}
	}
}

func yamlFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out[name] = true
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, ok := f.Tag.Lookup("yaml")
	if !ok {
		return strings.ToLower(f.Name) // yaml.v3's default key
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	return name
}
