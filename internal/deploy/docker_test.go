package deploy

import (
	"debug/elf"
	"go/build"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerStage is one FROM ... stage of the Dockerfile.
type dockerStage struct {
	from, name string
	env        map[string]string
	args       map[string]string
	runs       []string
	copies     []string
}

// goBuild is one `go build` command of the Dockerfile.
type goBuild struct {
	args   []string // the arguments after "go build", verbatim
	output string   // the -o value
	pkg    string   // the package built
}

// parseDockerfile reads the Dockerfile: its global ARGs and its stages, with continuation lines
// joined.
func parseDockerfile(t *testing.T) (args map[string]string, stages []*dockerStage) {
	t.Helper()
	src := strings.ReplaceAll(readRepoFile(t, "Dockerfile"), "\\\n", " ")
	args = map[string]string{}
	var cur *dockerStage
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			if cur == nil {
				args[k] = v
			} else {
				cur.args[k] = v
			}
		case "FROM":
			f := strings.Fields(rest)
			cur = &dockerStage{from: f[0], env: map[string]string{}, args: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				cur.name = f[2]
			}
			stages = append(stages, cur)
		case "ENV":
			for _, kv := range shellWords(t, rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q: use the KEY=VALUE form", rest)
				}
				cur.env[k] = v
			}
		case "RUN":
			cur.runs = append(cur.runs, rest)
		case "COPY":
			cur.copies = append(cur.copies, rest)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	return args, stages
}

// shellWords splits a command line the way sh would for the simple cases the Dockerfile uses:
// blanks separate words, double or single quotes group them.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// goBuilds returns the stage's `go build` commands.
func goBuilds(t *testing.T, st *dockerStage) []goBuild {
	t.Helper()
	var out []goBuild
	for _, run := range st.runs {
		for _, cmd := range strings.Split(run, "&&") {
			w := shellWords(t, strings.TrimSpace(cmd))
			if len(w) < 2 || w[0] != "go" || w[1] != "build" {
				continue
			}
			b := goBuild{args: w[2:]}
			for i := 0; i < len(b.args); i++ {
				a := b.args[i]
				switch {
				case a == "-o" && i+1 < len(b.args):
					b.output = b.args[i+1]
					i++
				case strings.HasPrefix(a, "-"):
				default:
					if b.pkg != "" {
						t.Fatalf("Dockerfile: %q builds several packages; keep one per go build", cmd)
					}
					b.pkg = a
				}
			}
			if b.output == "" || b.pkg == "" {
				t.Fatalf("Dockerfile: %q: want go build ... -o OUTPUT ./pkg", cmd)
			}
			out = append(out, b)
		}
	}
	return out
}

func buildStage(t *testing.T, stages []*dockerStage) *dockerStage {
	t.Helper()
	for _, st := range stages {
		if len(goBuilds(t, st)) > 0 {
			return st
		}
	}
	t.Fatal("no stage of the Dockerfile runs go build")
	return nil
}

var goDirectiveRe = regexp.MustCompile(`(?m)^go (\S+)$`)

// TestDockerfile: the image builds the worker and the starter (and the probe the compose health
// checks run) as static binaries with the Go version of go.mod, and ships them with the runbooks
// on a distroless base.
func TestDockerfile(t *testing.T) {
	args, stages := parseDockerfile(t)
	bst := buildStage(t, stages)
	final := stages[len(stages)-1]

	m := goDirectiveRe.FindStringSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if args["GO_VERSION"] != m[1] || bst.from != "golang:${GO_VERSION}" {
		t.Errorf("build stage FROM %s with GO_VERSION=%s; want golang:${GO_VERSION} with go.mod's %s", bst.from, args["GO_VERSION"], m[1])
	}
	if bst.env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV CGO_ENABLED=%q, want 0 (static binaries)", bst.env["CGO_ENABLED"])
	}
	var pkgs []string
	for _, b := range goBuilds(t, bst) {
		pkgs = append(pkgs, b.pkg)
		p, err := build.Default.ImportDir(filepath.Join(repoRoot, b.pkg), 0)
		if err != nil || p.Name != "main" {
			t.Errorf("Dockerfile builds %s, which is not a main package (%v)", b.pkg, err)
		}
		copied := false
		for _, c := range final.copies {
			if strings.Contains(c, "--from="+bst.name) && slices.Contains(strings.Fields(c), b.output) {
				copied = true
			}
		}
		if !copied {
			t.Errorf("the final stage does not copy %s (built from %s)", b.output, b.pkg)
		}
	}
	for _, want := range []string{"./worker", "./starter"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("the Dockerfile does not build %s (it builds %v)", want, pkgs)
		}
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want a distroless static image (CA certificates, no libc)", final.from)
	}
	runbooks := false
	for _, c := range final.copies {
		if f := strings.Fields(c); len(f) == 2 && strings.TrimSuffix(f[0], "/") == "runbooks" {
			runbooks = true
			if dir := strings.TrimSuffix(f[1], "/"); final.env["SWITCHYARD_RUNBOOKS"] != dir {
				t.Errorf("runbooks are copied to %s but SWITCHYARD_RUNBOOKS=%q", dir, final.env["SWITCHYARD_RUNBOOKS"])
			}
		}
	}
	if !runbooks {
		t.Error("the final stage does not copy runbooks/")
	}
}

// TestDockerfileBinariesAreStatic runs the Dockerfile's `go build` commands as written, with the
// build stage's environment, and checks that the results need no dynamic loader or shared
// library: the distroless static base has no libc.
func TestDockerfileBinariesAreStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker and the starter")
	}
	if os.Getenv("CGO_ENABLED") != "0" {
		// With cgo on, the static build shares nothing with this test run's build cache and would
		// compile the Temporal server a second time (minutes). CI exports CGO_ENABLED=0.
		t.Skip("set CGO_ENABLED=0 to build the Dockerfile's static binaries with the test's own build cache (CI does)")
	}
	_, stages := parseDockerfile(t)
	build := buildStage(t, stages)
	dir := t.TempDir()
	for _, b := range goBuilds(t, build) {
		out := filepath.Join(dir, path.Base(b.output))
		args := slices.Clone(b.args)
		for i := range args {
			if i > 0 && args[i-1] == "-o" {
				args[i] = out
			}
		}
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = repoRoot
		cmd.Env = os.Environ()
		for k, v := range build.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", strings.Join(b.args, " "), err, msg)
		}
		f, err := elf.Open(out)
		if err != nil {
			t.Fatalf("%s: %v", b.pkg, err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: has a PT_INTERP program header (a dynamic loader)", b.pkg)
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			t.Errorf("%s: %v", b.pkg, err)
		}
		if len(libs) > 0 {
			t.Errorf("%s: needs shared libraries %v", b.pkg, libs)
		}
		_ = f.Close()
	}
}

// dockerignoreExcludes reports whether a .dockerignore pattern keeps rel out of the build
// context (the subset of Docker's rules the file uses: globs per path, ** for any folders, a
// match on a folder excluding everything in it).
func dockerignoreExcludes(pattern, rel string) bool {
	pattern = strings.TrimPrefix(strings.TrimSuffix(pattern, "/"), "/")
	parts := strings.Split(rel, "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		if ok, _ := path.Match(pattern, prefix); ok {
			return true
		}
		if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
			for j := 0; j < i; j++ {
				if ok, _ := path.Match(rest, strings.Join(parts[j:i], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

// TestDockerignoreKeepsBuildInputs: the build context keeps what the Dockerfile needs and drops
// the repository's history and stray test binaries.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf(".dockerignore: exception %q: extend dockerignoreExcludes first", l)
			}
			patterns = append(patterns, l)
		}
	}
	excluded := func(rel string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return dockerignoreExcludes(p, rel) })
	}
	for _, keep := range []string{"go.mod", "go.sum", "worker/main.go", "starter/main.go", "internal/deploy/healthcheck/main.go",
		"activities/register.go", "workflows/names.go", "runbooks/failover.yaml", "runbooks/environments/lab.yaml"} {
		if excluded(keep) {
			t.Errorf(".dockerignore excludes %s, which the build needs", keep)
		}
	}
	for _, drop := range []string{".git/config", "opensearchtwin.test", "internal/lab/x.test", "docs/configuration.md"} {
		if !excluded(drop) {
			t.Errorf(".dockerignore lets %s into the build context", drop)
		}
	}
}
