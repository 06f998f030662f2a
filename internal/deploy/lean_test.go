package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// devOnly are the packages a long-running production process must not link: the embedded
// Temporal server (with its SQLite and everything it serves) and the lab that twins AWS. They are
// for `starter dev`, `lab`, `demo` and `bench` on a laptop or in CI.
var devOnly = []string{
	"go.temporal.io/server/",
	"github.com/switchyard-dr/switchyard/internal/devserver",
	"github.com/switchyard-dr/switchyard/internal/lab",
}

// TestImageBinariesLinkNoDevServer: the worker and the starter the Dockerfile builds (the
// starter runs the intake, `starter serve`) link neither the embedded Temporal server nor the
// lab. It asks `go list -deps` with the build's own flags (its -tags) and environment, so the
// Dockerfile cannot drop the tag that keeps them out without failing here; and it compiles each
// with its tags (not in -short), since a build tag hides code from every other build and test.
func TestImageBinariesLinkNoDevServer(t *testing.T) {
	_, stages := parseDockerfile(t)
	st := buildStage(t, stages)
	checked := 0
	for _, b := range goBuilds(t, st) {
		if b.pkg != "./worker" && b.pkg != "./starter" {
			continue
		}
		args := []string{"list", "-deps"}
		for _, a := range b.args {
			if strings.HasPrefix(a, "-tags") {
				args = append(args, a)
			}
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Dir = repoRoot
		cmd.Env = os.Environ()
		for k, v := range st.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s %s: %v", strings.Join(args, " "), b.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range devOnly {
				if dep == bad || strings.HasPrefix(dep, strings.TrimSuffix(bad, "/")+"/") {
					t.Errorf("%s (built as the Dockerfile does: go build %s) links %s", b.pkg, strings.Join(b.args, " "), dep)
				}
			}
		}
		if !testing.Short() {
			build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "bin"))
			for _, a := range b.args {
				if strings.HasPrefix(a, "-tags") {
					build.Args = append(build.Args, a)
				}
			}
			build.Args = append(build.Args, b.pkg)
			build.Dir = repoRoot
			if msg, err := build.CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(build.Args, " "), err, msg)
			}
		}
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d of the Dockerfile's worker and starter builds, want 2", checked)
	}
}
