package archtest

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/switchyard-dr/switchyard"

// graph is the non-test import graph of a package and everything it imports, as `go list -deps`
// reports it for a build of that package (tests of the package are not part of it).
type graph struct {
	root    string
	imports map[string][]string
}

func loadGraph(t *testing.T, pkg string) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the import-graph tests need the go command on PATH: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pkg)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	g := graph{root: pkg, imports: map[string][]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		g.imports[fields[0]] = fields[1:]
	}
	if _, ok := g.imports[pkg]; !ok {
		t.Fatalf("go list -deps %s did not list the package itself; got %d packages", pkg, len(g.imports))
	}
	return g
}

// chain returns the shortest import chain from the root to a package matching forbidden, or nil
// when the graph has none. A package matches when its path equals forbidden or is below it.
func (g graph) chain(forbidden string) []string {
	matches := func(p string) bool { return p == forbidden || strings.HasPrefix(p, forbidden+"/") }
	prev := map[string]string{g.root: ""}
	queue := []string{g.root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if matches(p) {
			var path []string
			for q := p; q != ""; q = prev[q] {
				path = append(path, q)
			}
			slices.Reverse(path)
			return path
		}
		for _, next := range g.imports[p] {
			if _, seen := prev[next]; !seen {
				prev[next] = p
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// requireNone fails for each forbidden package the root's graph contains, naming the chain.
func requireNone(t *testing.T, g graph, why string, forbidden ...string) {
	t.Helper()
	for _, f := range forbidden {
		if c := g.chain(f); c != nil {
			t.Errorf("%s imports %s (%s), through:\n  %s", g.root, f, why, strings.Join(c, "\n  -> "))
		}
	}
}

// TestActivitiesDoNotImportWorkflows: the activities talk to the interpreter only through
// internal/wire. An arrow from activities to workflows would compile the interpreter's internals
// into every activity and let a change in one ripple into the other.
func TestActivitiesDoNotImportWorkflows(t *testing.T) {
	g := loadGraph(t, module+"/activities")
	requireNone(t, g, "what crosses the boundary belongs in internal/wire", module+"/workflows")
}

// TestActivitiesTestsImportWorkflowsInOneFile: the activities' own tests use the interpreter only
// through activities/interpreter_test.go, whose end-to-end tests run the real interpreter over the
// real activities; every other test of the package speaks internal/wire, like the package.
func TestActivitiesTestsImportWorkflowsInOneFile(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}\n{{join .TestGoFiles \"\\n\"}}\n{{join .XTestGoFiles \"\\n\"}}", module+"/activities").Output()
	if err != nil {
		t.Fatalf("go list activities: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir, files := lines[0], lines[1:]
	var importing []string
	for _, name := range files {
		if name == "" {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == module+"/workflows" {
				importing = append(importing, name)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("go list found only %d test files in activities: %v", len(files), files)
	}
	if !slices.Equal(importing, []string{"interpreter_test.go"}) {
		t.Errorf("test files of activities importing workflows: %v, want only interpreter_test.go (use internal/wire, or its runRunbook helper)", importing)
	}
}

// TestWorkflowsDoNotImportActivities: the deterministic interpreter must not link the code that
// performs I/O; it schedules activities by their names in internal/wire.
func TestWorkflowsDoNotImportActivities(t *testing.T) {
	g := loadGraph(t, module+"/workflows")
	requireNone(t, g, "workflows schedule activities by name (internal/wire), never call them", module+"/activities")
}

// TestWireIsALeaf: internal/wire holds shapes and names only; importing either side, or the
// Temporal SDK, would bring back the cycle it exists to break.
func TestWireIsALeaf(t *testing.T) {
	g := loadGraph(t, module+"/internal/wire")
	requireNone(t, g, "wire is the leaf both sides import", module+"/workflows", module+"/activities", "go.temporal.io")
}

// TestWorkerLinksNoDevServerOrLab: the production worker connects to a Temporal cluster and real
// AWS; the embedded dev server (internal/devserver, go.temporal.io/server) and the AWS twin
// (internal/lab) are for `starter dev` and tests. Linking them would put a database server and a
// fake AWS into the binary that runs failovers.
func TestWorkerLinksNoDevServerOrLab(t *testing.T) {
	g := loadGraph(t, module+"/worker")
	requireNone(t, g, "the production worker must not link development-only code",
		module+"/internal/devserver", "go.temporal.io/server", module+"/internal/lab")
}

// TestChainNamesTheImports checks the checker on a small graph: the chain it reports is the
// shortest one, and a package below a forbidden path matches while a sibling with a common
// prefix does not.
func TestChainNamesTheImports(t *testing.T) {
	g := graph{root: "a", imports: map[string][]string{
		"a":         {"b", "c"},
		"b":         {"x/labs", "d"},
		"c":         {"x/lab/awstwin"},
		"d":         {"x/lab"},
		"x/labs":    nil,
		"x/lab":     nil,
		"x/lab/aws": nil,
	}}
	if got, want := g.chain("x/lab"), []string{"a", "c", "x/lab/awstwin"}; !slices.Equal(got, want) {
		t.Errorf("chain(x/lab) = %v, want %v", got, want)
	}
	if got := g.chain("x/la"); got != nil {
		t.Errorf("chain(x/la) = %v, want none: x/labs and x/lab are not below x/la", got)
	}
	if got := g.chain("e"); got != nil {
		t.Errorf("chain(e) = %v, want none", got)
	}
}
