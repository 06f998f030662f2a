package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// commandFlags reads the flag definitions of the main package in dir and returns, per command
// (the flag set's name without its "starter " prefix), the flag names it defines. Flags whose
// command cannot be told are returned under "" so callers can still check them globally.
//
// It resolves the patterns the mains use: a function that creates its flag set with a literal
// name (newFlags("run", ...), labFlags("lab fault", ...), flag.NewFlagSet("worker", ...)); a helper
// that receives the name as a parameter (oneID(ctx, "cancel", ...)), resolved at its call sites;
// a helper whose name is computed (decide), resolved through the run functions of the commands()
// map that call it; and register methods of option structs, embedded or not, called on the
// options variable (o.register(fs)) or on one of its fields (o.clientOptions.register(fs)).
func commandFlags(t *testing.T, dir string) map[string]map[string]bool {
	t.Helper()
	src := parseMain(t, dir)
	out := map[string]map[string]bool{}
	add := func(cmd string, flags []string) {
		if out[cmd] == nil {
			out[cmd] = map[string]bool{}
		}
		for _, f := range flags {
			out[cmd][f] = true
		}
	}
	for _, fn := range src.funcs {
		if fn.Recv != nil && fn.Name.Name == "register" {
			continue // counted where it is called
		}
		flags := src.flagsOf(fn)
		if len(flags) == 0 {
			continue
		}
		name, param, ok := src.flagSetName(fn)
		switch {
		case ok:
			add(strings.TrimPrefix(name, "starter "), flags)
		case param >= 0:
			resolved := false
			for _, call := range src.callsTo(fn.Name.Name) {
				if param < len(call.Args) {
					if lit, ok := stringLit(call.Args[param]); ok {
						add(lit, flags)
						resolved = true
					}
				}
			}
			if !resolved {
				add("", flags)
			}
		default:
			callers := src.commandsCalling(fn.Name.Name)
			if len(callers) == 0 {
				add("", flags)
			}
			for _, c := range callers {
				add(c, flags)
			}
		}
	}
	return out
}

type mainSource struct {
	files []*ast.File
	funcs []*ast.FuncDecl
	// embeds lists the embedded field types of each struct type.
	embeds map[string][]string
	// fields maps "Type.field" to the field's type, embedded fields under their type's name.
	fields map[string]string
	// methods maps "Type.method" to its declaration.
	methods map[string]*ast.FuncDecl
	// commands maps the keys of the commands() map literal to the name of their run function.
	commands map[string]string
}

func parseMain(t *testing.T, dir string) *mainSource {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	s := &mainSource{embeds: map[string][]string{}, fields: map[string]string{}, methods: map[string]*ast.FuncDecl{}, commands: map[string]string{}}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		s.files = append(s.files, f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				s.funcs = append(s.funcs, d)
				if d.Recv != nil && len(d.Recv.List) == 1 {
					s.methods[typeName(d.Recv.List[0].Type)+"."+d.Name.Name] = d
				}
				if d.Name.Name == "commands" && d.Recv == nil {
					s.readCommands(d)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						if len(fld.Names) == 0 {
							s.embeds[ts.Name.Name] = append(s.embeds[ts.Name.Name], typeName(fld.Type))
							s.fields[ts.Name.Name+"."+typeName(fld.Type)] = typeName(fld.Type)
						}
						for _, n := range fld.Names {
							s.fields[ts.Name.Name+"."+n.Name] = typeName(fld.Type)
						}
					}
				}
			}
		}
	}
	return s
}

// readCommands reads `map[string]command{"run": {"summary", runRun}, ...}`.
func (s *mainSource) readCommands(fn *ast.FuncDecl) {
	ast.Inspect(fn, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		key, ok := stringLit(kv.Key)
		if !ok {
			return true
		}
		if cl, ok := kv.Value.(*ast.CompositeLit); ok && len(cl.Elts) == 2 {
			if id, ok := cl.Elts[1].(*ast.Ident); ok {
				s.commands[key] = id.Name
			}
		}
		return true
	})
}

var flagMethods = map[string]int{
	// method: index of the flag name argument
	"String": 0, "Bool": 0, "Int": 0, "Int64": 0, "Uint": 0, "Uint64": 0, "Float64": 0, "Duration": 0, "Func": 0, "BoolFunc": 0,
	"StringVar": 1, "BoolVar": 1, "IntVar": 1, "Int64Var": 1, "UintVar": 1, "Uint64Var": 1, "Float64Var": 1, "DurationVar": 1, "TextVar": 1, "Var": 1,
}

// flagSets returns the identifiers of fn that hold a *flag.FlagSet: those assigned from a
// constructor call and parameters of that type.
func flagSets(fn *ast.FuncDecl) map[string]bool {
	sets := map[string]bool{}
	for _, p := range fn.Type.Params.List {
		if typeName(p.Type) == "flag.FlagSet" {
			for _, n := range p.Names {
				sets[n.Name] = true
			}
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		if call, ok := as.Rhs[0].(*ast.CallExpr); ok && isFlagSetConstructor(call) {
			if id, ok := as.Lhs[0].(*ast.Ident); ok {
				sets[id.Name] = true
			}
		}
		return true
	})
	return sets
}

func isFlagSetConstructor(call *ast.CallExpr) bool {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name == "newFlags" || f.Name == "labFlags"
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && x.Name == "flag" && f.Sel.Name == "NewFlagSet"
	}
	return false
}

// flagsOf returns the flags fn defines, directly or through register methods it calls.
func (s *mainSource) flagsOf(fn *ast.FuncDecl) []string {
	sets := flagSets(fn)
	vars := varTypes(fn)
	var flags []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		// o.set.register(fs): an option set held in a field of the options struct o.
		if inner, ok := sel.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "register" {
			if v, ok := inner.X.(*ast.Ident); ok {
				if m := s.method(s.fields[vars[v.Name]+"."+inner.Sel.Name], "register"); m != nil {
					flags = append(flags, s.flagsOf(m)...)
				}
			}
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		if idx, ok := flagMethods[sel.Sel.Name]; ok && sets[x.Name] && idx < len(call.Args) {
			if name, ok := stringLit(call.Args[idx]); ok {
				flags = append(flags, name)
			}
			return true
		}
		if sel.Sel.Name == "register" {
			if m := s.method(vars[x.Name], "register"); m != nil {
				flags = append(flags, s.flagsOf(m)...)
			}
		}
		return true
	})
	return flags
}

// method finds typ.name, looking through embedded types.
func (s *mainSource) method(typ, name string) *ast.FuncDecl {
	if typ == "" {
		return nil
	}
	if m, ok := s.methods[typ+"."+name]; ok {
		return m
	}
	for _, e := range s.embeds[typ] {
		if m := s.method(e, name); m != nil {
			return m
		}
	}
	return nil
}

// varTypes maps the variables fn declares with `var x T` to T.
func varTypes(fn *ast.FuncDecl) map[string]string {
	out := map[string]string{}
	if fn.Recv != nil && len(fn.Recv.List) == 1 {
		for _, n := range fn.Recv.List[0].Names {
			out[n.Name] = typeName(fn.Recv.List[0].Type)
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil {
			return true
		}
		for _, name := range vs.Names {
			out[name.Name] = typeName(vs.Type)
		}
		return true
	})
	return out
}

// flagSetName returns the literal name fn gives its flag set, or the index of the parameter
// that supplies it (-1 when neither).
func (s *mainSource) flagSetName(fn *ast.FuncDecl) (name string, param int, ok bool) {
	param = -1
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, isCall := n.(*ast.CallExpr)
		if !isCall || !isFlagSetConstructor(call) || len(call.Args) == 0 || ok {
			return true
		}
		if lit, isLit := stringLit(call.Args[0]); isLit {
			name, ok = lit, true
			return false
		}
		if id, isID := call.Args[0].(*ast.Ident); isID {
			i := 0
			for _, p := range fn.Type.Params.List {
				for _, pn := range p.Names {
					if pn.Name == id.Name {
						param = i
					}
					i++
				}
			}
		}
		return true
	})
	return name, param, ok
}

// callsTo returns every call of the function named name.
func (s *mainSource) callsTo(name string) []*ast.CallExpr {
	var calls []*ast.CallExpr
	for _, f := range s.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == name {
					calls = append(calls, call)
				}
			}
			return true
		})
	}
	return calls
}

// commandsCalling returns the commands whose run function calls the function named name.
func (s *mainSource) commandsCalling(name string) []string {
	var out []string
	for cmd, runName := range s.commands {
		for _, fn := range s.funcs {
			if fn.Recv != nil || fn.Name.Name != runName {
				continue
			}
			found := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == name {
						found = true
					}
				}
				return !found
			})
			if found {
				out = append(out, cmd)
			}
		}
	}
	sort.Strings(out)
	return out
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			return x.Name + "." + e.Sel.Name
		}
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// TestCommandFlagsReader checks the reader on the shapes it must resolve, so a regression in it
// cannot make the documentation test pass vacuously.
func TestCommandFlagsReader(t *testing.T) {
	starter := commandFlags(t, filepath.Join(repoRoot, "starter"))
	for cmd, flags := range map[string][]string{
		"run":              {"env", "param", "mode", "address", "json"}, // literal name + embedded connFlags.register
		"approve":          {"step", "as", "comment", "signal", "address"},
		"reject":           {"step", "as", "comment", "signal", "address"}, // computed name, via commands()
		"cancel":           {"address", "json"},                            // name passed to oneID
		"schedule trigger": {"address", "json"},
		"lab fault":        {"region", "zone", "fault-api"}, // faultFlags.register
		"bench failover":   {"latency", "runs"},
		"serve":            {"addr", "alarm-queue", "sns-topic", "address", "runbooks"}, // o.clientOptions.register
		"demo":             {"json", "runbooks"},                                        // option sets in fields of demoOptions
		"lab faults":       {"fault-api", "json"},                                       // var out outputOptions
	} {
		for _, f := range flags {
			if !starter[cmd][f] {
				t.Errorf("starter %s: flag --%s not found by the reader (found %v)", cmd, f, sortedSet(starter[cmd]))
			}
		}
	}
	if len(starter[""]) > 0 {
		t.Errorf("flags with no command: %v", sortedSet(starter[""]))
	}
	worker := commandFlags(t, filepath.Join(repoRoot, "worker"))
	if !worker["worker"]["runbooks"] || !worker["worker"]["log-format"] {
		t.Errorf("worker flags = %v, want runbooks and log-format among them", worker)
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
