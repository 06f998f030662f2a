package deploy

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/workflows"
)

const composeFile = "docker-compose.yml"

type composeService struct {
	Image       string         `yaml:"image"`
	Build       map[string]any `yaml:"build"`
	Command     any            `yaml:"command"`
	Entrypoint  any            `yaml:"entrypoint"`
	Environment []string       `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

type composeFileModel struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readCompose(t *testing.T) composeFileModel {
	t.Helper()
	var c composeFileModel
	if err := yaml.Unmarshal([]byte(readRepoFile(t, composeFile)), &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c
}

// commandText joins a command or entrypoint given as a string or a list.
func commandText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, p := range v {
			s, _ := p.(string)
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	return ""
}

var (
	imageTagRe  = regexp.MustCompile(`^[a-z0-9./-]+:\$\{[A-Z_]+:-([A-Za-z0-9._-]+)\}$`)
	interpVarRe = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`)
	saLoopRe    = regexp.MustCompile(`for sa in ([A-Za-z ]+); do`)
)

// TestComposeServices: the services the issue asks for are there, wired in a startable order,
// with pinned images, health checks on everything that keeps running, and the worker and intake
// built from the repository's Dockerfile.
func TestComposeServices(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "worker", "starter"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("%s has no service %s", composeFile, name)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil {
			m := imageTagRe.FindStringSubmatch(s.Image)
			if m == nil || m[1] == "latest" {
				t.Errorf("service %s: image %q: want repository:${VERSION_VARIABLE:-pinned-tag}", name, s.Image)
			}
		}
		oneShot := s.Restart == "no"
		if !oneShot && (s.Healthcheck == nil || len(s.Healthcheck.Test) < 2) {
			t.Errorf("service %s keeps running but has no health check", name)
		}
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
				continue
			}
			switch d.Condition {
			case "service_healthy":
				if target.Healthcheck == nil {
					t.Errorf("service %s waits for %s to be healthy, but %s has no health check", name, dep, dep)
				}
			case "service_completed_successfully":
				if target.Restart != "no" {
					t.Errorf("service %s waits for %s to complete, but %s restarts", name, dep, dep)
				}
			default:
				t.Errorf("service %s: depends_on %s with condition %q; want service_healthy or service_completed_successfully", name, dep, d.Condition)
			}
		}
	}
	if order := startOrder(t, c); len(order) != len(c.Services) {
		t.Errorf("depends_on has a cycle: only %v can start", order)
	}

	// The worker and the intake run the image's binaries, and their probes are in the image.
	_, stages := parseDockerfile(t)
	var binaries []string
	for _, b := range goBuilds(t, buildStage(t, stages)) {
		binaries = append(binaries, "/usr/local/bin/"+path.Base(b.output))
	}
	for name, bin := range map[string]string{"worker": "/usr/local/bin/worker", "starter": "/usr/local/bin/starter"} {
		s := c.Services[name]
		if s.Build["context"] != "." || s.Build["dockerfile"] != "Dockerfile" {
			t.Errorf("service %s: build = %v, want context . and the repository's Dockerfile", name, s.Build)
		}
		if !slices.Contains(binaries, bin) || !strings.HasPrefix(commandText(s.Command), bin) {
			t.Errorf("service %s runs %q; want %s, which the Dockerfile builds (%v)", name, commandText(s.Command), bin, binaries)
		}
		if s.Healthcheck != nil && s.Healthcheck.Test[0] == "CMD" && !slices.Contains(binaries, s.Healthcheck.Test[1]) {
			t.Errorf("service %s: health check runs %s, which the image does not have (distroless: no shell)", name, s.Healthcheck.Test[1])
		}
		for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "SLACK_BOT_TOKEN", "AWS_ACCESS_KEY_ID"} {
			if !slices.ContainsFunc(s.Environment, func(e string) bool { return e == v || strings.HasPrefix(e, v+"=") }) {
				t.Errorf("service %s does not pass %s", name, v)
			}
		}
	}
	if !strings.Contains(commandText(c.Services["starter"].Command), "serve") {
		t.Errorf("starter service runs %q, want starter serve", commandText(c.Services["starter"].Command))
	}
}

// startOrder returns the services in an order that satisfies depends_on (Kahn's algorithm).
func startOrder(t *testing.T, c composeFileModel) []string {
	t.Helper()
	started := map[string]bool{}
	var order []string
	for progress := true; progress; {
		progress = false
		names := make([]string, 0, len(c.Services))
		for n := range c.Services {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if started[n] {
				continue
			}
			ready := true
			for dep := range c.Services[n].DependsOn {
				ready = ready && started[dep]
			}
			if ready {
				started[n], progress = true, true
				order = append(order, n)
			}
		}
	}
	return order
}

// TestComposeRegistersSearchAttributes: the setup service creates exactly the custom search
// attributes the workflows set, as Keyword.
func TestComposeRegistersSearchAttributes(t *testing.T) {
	c := readCompose(t)
	script := commandText(c.Services["temporal-setup"].Command)
	m := saLoopRe.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("temporal-setup does not loop over the search attributes (`for sa in ...; do`):\n%s", script)
	}
	got := strings.Fields(m[1])
	want := workflows.SearchAttributeNames()
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("temporal-setup creates search attributes %v; the workflows set %v", got, want)
	}
	if !strings.Contains(script, "search-attribute create") || !strings.Contains(script, "--type Keyword") {
		t.Errorf("temporal-setup does not create them as Keyword:\n%s", script)
	}
}

// TestComposeVariablesDocumented: every variable the compose file interpolates is described in
// docs/configuration.md.
func TestComposeVariablesDocumented(t *testing.T) {
	doc := readRepoFile(t, configDoc)
	vars := map[string]bool{}
	for _, m := range interpVarRe.FindAllStringSubmatch(readRepoFile(t, composeFile), -1) {
		vars[m[1]] = true
	}
	if len(vars) < 5 {
		t.Fatalf("found only %v interpolated in %s", vars, composeFile)
	}
	for _, v := range sortedSet(vars) {
		if !strings.Contains(doc, "`"+v+"`") {
			t.Errorf("%s interpolates %s, which %s does not describe", composeFile, v, configDoc)
		}
	}
}

// TestComposeConfig runs `docker-compose config -q` (Debian's docker-compose, as CI does) when
// it is installed: the compose schema, interpolation and anchors as Compose itself reads them.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (apt-get install docker-compose); CI runs it")
	}
	cmd := exec.Command(bin, "-f", composeFile, "config", "-q")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, out)
	}
	// The check must be able to fail: a service with an unknown key is rejected.
	broken := filepath.Join(t.TempDir(), "broken.yml")
	if err := os.WriteFile(broken, []byte("services:\n  x:\n    image: busybox:1\n    no_such_key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-f", broken, "config", "-q").CombinedOutput(); err == nil {
		t.Fatalf("docker-compose config -q accepted an invalid file:\n%s", out)
	}
}
