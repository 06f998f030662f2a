package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The documents whose code names are checked: the README and everything under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(repoRoot, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// goDecls maps each package name of the module to the names its non-test files declare at top
// level ("Prepare", "Set") and to its methods and struct fields ("Set.CheckRun", "Set.Runbooks").
// Packages that share a name (every main) are merged: a name is accepted when any declares it.
// byDir holds the same per package directory ("internal/runbook").
func goDecls(t *testing.T) (byName, byDir map[string]map[string]bool) {
	t.Helper()
	out := map[string]map[string]bool{}
	byDir = map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := out[f.Name.Name]
		if names == nil {
			names = map[string]bool{}
			out[f.Name.Name] = names
		}
		dir, _ := filepath.Rel(repoRoot, filepath.Dir(p))
		dirNames := byDir[filepath.ToSlash(dir)]
		if dirNames == nil {
			dirNames = map[string]bool{}
			byDir[filepath.ToSlash(dir)] = dirNames
		}
		add := func(name string) { names[name], dirNames[name] = true, true }
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					add(decl.Name.Name)
				} else if len(decl.Recv.List) == 1 {
					add(recvName(decl.Recv.List[0].Type) + "." + decl.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						add(spec.Name.Name)
						if st, ok := spec.Type.(*ast.StructType); ok {
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									add(spec.Name.Name + "." + n.Name)
								}
								if len(fld.Names) == 0 {
									add(spec.Name.Name + "." + recvName(fld.Type))
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							add(n.Name)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, byDir
}

// recvName is the type name of a receiver or embedded field: T, *T, T[K], pkg.T (as T).
func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.IndexListExpr:
		return recvName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

var (
	fenceRe    = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	codeSpanRe = regexp.MustCompile("`([^`\n]+)`")
	mdLinkRe   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// goNameRe is a qualified Go name: pkg.Name, pkg.camelCase or pkg.Type.Member, optionally
	// called (args). An unexported name must have an upper-case letter and no underscore, so that
	// catalog names (msk.replicator_lag, backfill.verify) are not taken for Go names.
	goNameRe = regexp.MustCompile(`^([a-z][a-z0-9]*)\.([A-Z][A-Za-z0-9_]*|[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?(?:\(.*\))?$`)
	// dirNameRe is a Go name qualified by its package's directory: internal/awsclients.Factory.
	dirNameRe = regexp.MustCompile(`^([A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)+)\.([A-Z][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?(?:\(.*\))?$`)
	// pathRe is a repository path: no spaces, placeholders (<name>) or variables.
	pathRe = regexp.MustCompile(`^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-*]*)+$`)
)

// TestDocsCodeNamesExist: every code name the README and docs/ mention still exists, so a
// newcomer following them lands on real code. The rule, chosen to be sound (nothing it flags
// can exist) and not flaky (it reads files only):
//
//   - A code span `pkg.Name` or `pkg.Type.Member` (a call's arguments ignored) whose pkg is the
//     name of one of this module's packages must be declared there, in non-test code: a
//     top-level function, type, variable or constant, or a method or struct field of Type.
//     Unexported names count when they are camelCase (`activities.dnsVerdict`); an all
//     lower-case or snake_case one is a catalog name (`backfill.verify`) and is not checked, nor
//     are names of other modules' packages (client.Options).
//   - The same for a name qualified by its package's directory, `internal/awsclients.Factory`.
//   - A code span that is a slash-separated path whose first element is a top-level entry of
//     the repository (`internal/runbook`, `workflows/names.go`, `runbooks/triggers/*.yaml`)
//     must exist (a pattern must match a file); a trailing `:line` or `#anchor` is ignored, and
//     so are the directories .gitignore names from the root (test outputs, not code).
//   - A relative Markdown link target must exist, relative to the document.
//
// Fenced code blocks (shell sessions, YAML examples) are not read.
func TestDocsCodeNamesExist(t *testing.T) {
	decls, dirDecls := goDecls(t)
	ignored := map[string]bool{}
	for _, line := range strings.Split(readRepoFile(t, ".gitignore"), "\n") {
		if strings.HasPrefix(line, "/") && strings.HasSuffix(line, "/") {
			ignored[strings.Trim(line, "/")] = true
		}
	}
	top := map[string]bool{}
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		top[e.Name()] = true
	}
	checked := 0
	for _, doc := range docFiles(t) {
		text := fenceRe.ReplaceAllString(readRepoFile(t, doc), "")
		var problems []string
		for _, m := range codeSpanRe.FindAllStringSubmatch(text, -1) {
			span := strings.TrimSpace(m[1])
			if g := goNameRe.FindStringSubmatch(span); g != nil {
				names, ours := decls[g[1]]
				if !ours {
					continue
				}
				checked++
				name := g[2]
				if g[3] != "" {
					name += "." + g[3]
				}
				if !names[name] {
					problems = append(problems, "`"+span+"`: package "+g[1]+" declares no "+name)
				}
				continue
			}
			if g := dirNameRe.FindStringSubmatch(span); g != nil && dirDecls[g[1]] != nil {
				checked++
				name := g[2]
				if g[3] != "" {
					name += "." + g[3]
				}
				if !dirDecls[g[1]][name] {
					problems = append(problems, "`"+span+"`: package "+g[1]+" declares no "+name)
				}
				continue
			}
			if p, ok := repoPath(span, top); ok && !ignored[p] {
				checked++
				if !pathExists(filepath.Join(repoRoot, p)) {
					problems = append(problems, "`"+span+"`: no such file or directory in the repository")
				}
			}
		}
		for _, m := range mdLinkRe.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			checked++
			if !pathExists(filepath.Join(repoRoot, filepath.Dir(doc), target)) {
				problems = append(problems, "link ("+m[1]+"): no such file or directory")
			}
		}
		sort.Strings(problems)
		for _, p := range problems {
			t.Errorf("%s: %s", doc, p)
		}
	}
	t.Logf("checked %d code names and links", checked)
	if checked < 50 {
		t.Errorf("checked only %d code names and links; the extraction is likely broken", checked)
	}
}

// repoPath returns span as a repository path when it looks like one: slash-separated, no spaces
// or placeholders, its first element a top-level entry of the repository.
func repoPath(span string, top map[string]bool) (string, bool) {
	span = strings.TrimPrefix(span, "./")
	span, _, _ = strings.Cut(span, "#")
	if i := strings.LastIndex(span, ":"); i > 0 {
		span = span[:i] // path:line
	}
	span = strings.TrimSuffix(span, "/")
	if !pathRe.MatchString(span) {
		return "", false
	}
	first, _, _ := strings.Cut(span, "/")
	if !top[first] {
		return "", false
	}
	return span, true
}

func pathExists(p string) bool {
	if strings.Contains(p, "*") {
		m, _ := filepath.Glob(p)
		return len(m) > 0
	}
	_, err := os.Stat(p)
	return err == nil
}

// TestDocsCodeNamesRule checks the rule itself on names that exist and names that do not, so
// the test cannot pass by checking nothing.
func TestDocsCodeNamesRule(t *testing.T) {
	decls, byDir := goDecls(t)
	if !byDir["internal/runbook"]["Prepare"] {
		t.Error("byDir: internal/runbook does not declare Prepare")
	}
	for _, tt := range []struct {
		pkg, name string
		want      bool
	}{
		{"runbook", "Prepare", true},
		{"runbook", "Set.CheckRun", true},
		{"runbook", "Set.Runbooks", true},
		{"runbook", "NoSuchFunc", false},
		{"workflows", "Register", true},
	} {
		if got := decls[tt.pkg][tt.name]; got != tt.want {
			t.Errorf("%s.%s declared = %v, want %v", tt.pkg, tt.name, got, tt.want)
		}
	}
	top := map[string]bool{"internal": true, "runbooks": true}
	for span, want := range map[string]bool{
		"internal/runbook":                  true,
		"runbooks/triggers/*.yaml":          true,
		"internal/runbook/load.go:42":       true,
		"runbooks/environments/<name>.yaml": false, // a placeholder, not a path
		"switchyard/lab":                    false, // a workflow id: not a top-level entry
		"starter serve":                     false,
	} {
		if _, got := repoPath(span, top); got != want {
			t.Errorf("repoPath(%q) = %v, want %v", span, got, want)
		}
	}
	for span, want := range map[string]bool{
		"backfill.Ready(observations, policy)": true,
		"activities.dnsVerdict":                true,
		"runbook.Traffic.LeverOf":              true,
		"msk.replicator_lag":                   false, // catalog names
		"backfill.verify":                      false,
		"core.assert":                          false,
	} {
		if got := goNameRe.MatchString(span); got != want {
			t.Errorf("goNameRe.MatchString(%q) = %v, want %v", span, got, want)
		}
	}
}
